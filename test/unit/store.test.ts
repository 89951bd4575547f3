import { execFileSync, spawnSync } from 'node:child_process'
import { chmod, readdir, readFile, rm, stat, symlink, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isSecretField } from '../../src/core/secrets.js'
import { writeFileAtomic } from '../../src/store/atomic.js'
import { markCreated, markCreating } from '../../src/store/creating.js'
import { FileJournal } from '../../src/store/journal.js'
import { lockMachine } from '../../src/store/lock.js'
import { resolveStorePath } from '../../src/store/paths.js'
import { openProblem } from '../../src/store/safe-read.js'
import { Store } from '../../src/store/store.js'
import { errorLineAsync } from '../helpers/errors.js'
import { tempDir } from '../helpers/tmp.js'

const tmp = () => tempDir('store-')

describe('store', () => {
  it('resolves --storage-path, then MACHINE_STORAGE_PATH, then ~/.docker/machine', () => {
    expect(resolveStorePath('/a', { MACHINE_STORAGE_PATH: '/b' })).toBe('/a')
    expect(resolveStorePath(undefined, { MACHINE_STORAGE_PATH: '/b' })).toBe('/b')
    expect(resolveStorePath(undefined, {})).toMatch(/\.docker\/machine$/)
  })

  it('writes atomically with the mode set, leaving no temp files', async () => {
    const dir = await tmp()
    const p = join(dir, 'sub', 'key.pem')
    await writeFileAtomic(p, 'one', 0o600)
    await writeFileAtomic(p, 'two', 0o600)
    expect(await readFile(p, 'utf8')).toBe('two')
    expect((await stat(p)).mode & 0o777).toBe(0o600)
    expect(await readdir(join(dir, 'sub'))).toEqual(['key.pem'])
  })

  it('reserves a name exactly once, even when two creates race', async () => {
    const s = new Store(await tmp())
    const results = await Promise.allSettled([s.reserve('a'), s.reserve('a'), s.reserve('a')])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    expect(await errorLineAsync(() => s.reserve('a'))).toMatch(/^Machine "a" already exists: choose another name/)
  })

  it('never saves secret driver fields (docker-machine imports included)', async () => {
    const s = new Store(await tmp())
    await s.reserve('aws1')
    const host = {
      ConfigVersion: 3,
      Driver: { MachineName: 'aws1', AccessKey: 'AKIAX', SecretKey: 'sekrit', Region: 'eu-west-1' },
      DriverName: 'amazonec2',
      HostOptions: {} as never,
      Name: 'aws1',
    }
    await s.save(host)
    const text = await readFile(s.configPath('aws1'), 'utf8')
    expect(text).not.toContain('sekrit')
    expect(text).not.toContain('AKIAX')
    expect(text).toContain('eu-west-1')
    expect((await stat(s.configPath('aws1'))).mode & 0o777).toBe(0o600)
  })

  it('drops on save exactly what inspect redacts: one rule, known names and other drivers\' spellings', async () => {
    const s = new Store(await tmp())
    await s.reserve('imp')
    // VSpherePassword, SSHPassword: only the pattern matches them; APISecretKey is exoscale's.
    const secrets = { VSpherePassword: 'vs-pw', SSHPassword: 'ssh-pw', APISecretKey: 'exo-secret', APIKey: 'exo-key', ClientSecretValue: 'az-sv', AccessToken: 'do-tok' }
    const kept = { MachineName: 'imp', SSHKeyPath: '/k/id_rsa', HostKey: 'ssh-ed25519 AAAA', TokenURL: 'https://auth', Region: 'ch-gva-2' }
    await s.save({ ConfigVersion: 3, Driver: { ...kept, ...secrets }, DriverName: 'exoscale', HostOptions: {} as never, Name: 'imp' })
    const saved = JSON.parse(await readFile(s.configPath('imp'), 'utf8'))
    expect(saved.Driver).toEqual(kept)
    for (const k of Object.keys(secrets)) expect(isSecretField(k), k).toBe(true)
    for (const k of Object.keys(kept)) expect(isSecretField(k), k).toBe(false)
  })

  it('reports a missing machine and a machine without config.json clearly', async () => {
    const s = new Store(await tmp())
    expect(await errorLineAsync(() => s.load('ghost'))).toBe('Machine "ghost" does not exist: run "machine ls" to list machines, or "machine create" to add one')
    await s.reserve('half')
    expect(await errorLineAsync(() => s.load('half'))).toBe(`The create of machine "half" was interrupted (no config.json in ${s.dir('half')}): remove it with "machine rm -f half"`)
  })

  it('lists machines in byte order, skipping dot directories, loading bad ones with their error', async () => {
    const s = new Store(await tmp())
    for (const n of ['b', 'a']) {
      await mkdir(s.dir(n), { recursive: true })
      await writeFile(s.configPath(n), JSON.stringify({ ConfigVersion: 3, DriverName: 'none', Driver: { URL: 'tcp://127.0.0.1:1' }, Name: n }))
    }
    await mkdir(join(s.path, 'machines', '.hidden'), { recursive: true })
    await mkdir(s.dir('c'), { recursive: true })
    await writeFile(s.configPath('c'), '{oops')
    expect(await s.names()).toEqual(['a', 'b', 'c'])
    const all = await s.loadAll()
    expect(all.map((e) => [e.name, !!e.host, e.error?.code])).toEqual([
      ['a', true, undefined],
      ['b', true, undefined],
      ['c', false, 'corrupt-config'],
    ])
  })

  it('locks a machine against a second command, and takes over a dead holder’s lock', async () => {
    const dir = await tmp()
    const l = await lockMachine(dir, 'm')
    expect(await errorLineAsync(() => lockMachine(dir, 'm'))).toMatch(/^Machine "m" is busy: another machine command \(pid \d+\)/)
    await l.release()
    const l2 = await lockMachine(dir, 'm')
    await l2.release()
    await writeFile(join(dir, '.locks', 'm.lock'), '999999')
    const l3 = await lockMachine(dir, 'm')
    await l3.release()
  })

  it('journals resources on disk before they exist, and forgets them', async () => {
    const dir = await tmp()
    const j = await FileJournal.open(dir)
    await j.record({ kind: 'instance', id: 'i-1' })
    await j.update('instance', 'i-1', { zone: 'a' })
    const again = await FileJournal.open(dir)
    expect(again.entries()).toEqual([{ kind: 'instance', id: 'i-1', data: { zone: 'a' } }])
    await again.forget('instance', 'i-1')
    expect((await FileJournal.open(dir)).entries()).toEqual([])
    expect(await readdir(dir)).toEqual([])
  })

  it('writes atomically, and the next write removes temp files of dead writers (not of live ones)', async () => {
    const dir = await tmp()
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout
    await writeFile(join(dir, `.config.json.${dead}.0badc0de.tmp`), 'half')
    await writeFile(join(dir, `.key.pem.${process.pid}.12345678.tmp`), 'mine, still being written')
    await writeFile(join(dir, 'notes.tmp'), 'not a temp file of ours')
    await writeFileAtomic(join(dir, 'config.json'), '{}')
    expect((await readdir(dir)).sort()).toEqual([`.key.pem.${process.pid}.12345678.tmp`, 'config.json', 'notes.tmp'])
  })
})

describe('store: one bad entry is that machine\'s error, never everyone\'s', () => {
  const good = (name: string) => JSON.stringify({ ConfigVersion: 3, DriverName: 'none', Driver: { URL: 'tcp://127.0.0.1:1' }, Name: name })

  async function storeWith(entries: Record<string, (configPath: string) => Promise<void>>): Promise<Store> {
    const s = new Store(await tmp())
    for (const [name, make] of Object.entries(entries)) {
      await mkdir(s.dir(name), { recursive: true })
      await make(s.configPath(name))
    }
    return s
  }

  it('lists a FIFO, a directory, a symlink, a huge file and wrong field types as error rows, without hanging', async () => {
    const outside = join(await tmp(), 'config.json')
    await writeFile(outside, good('link'))
    const s = await storeWith({
      ok: (p) => writeFile(p, good('ok')),
      fifo: async (p) => void execFileSync('mkfifo', [p]),
      dir: (p) => mkdir(p),
      link: (p) => symlink(outside, p),
      huge: (p) => writeFile(p, good('huge').replace('{', `{"Pad":"${'x'.repeat(1024 * 1024)}",`)),
      types: (p) => writeFile(p, JSON.stringify({ ConfigVersion: 3, DriverName: 'none', Driver: 'str', Name: 'types' })),
      nullopts: (p) => writeFile(p, JSON.stringify({ DriverName: 'none', HostOptions: null, Name: 'nullopts' })),
      numname: (p) => writeFile(p, JSON.stringify({ DriverName: 'none', Name: 5 })),
    })
    const started = Date.now()
    const all = await s.loadAll()
    expect(Date.now() - started).toBeLessThan(2_000)
    const byName = Object.fromEntries(all.map((e) => [e.name, e]))
    expect(byName.ok!.host?.Name).toBe('ok')
    const lineOf = (n: string) => byName[n]!.error?.line
    const cfg = (n: string) => s.configPath(n)
    expect(lineOf('fifo')).toBe(`Machine config ${cfg('fifo')} is a FIFO, not a file: put the real file in its place (this one was left untouched), or remove the machine with "machine rm -f fifo"`)
    expect(lineOf('dir')).toMatch(new RegExp(`^Machine config ${cfg('dir')} is a directory, not a file: `))
    expect(lineOf('link')).toMatch(new RegExp(`^Machine config ${cfg('link')} is a symlink, not a file: links are not followed out of the store`))
    expect(lineOf('huge')).toMatch(new RegExp(`^Machine config ${cfg('huge')} is too large \\(\\d+ bytes; at most 1048576 are read\\)`))
    expect(lineOf('types')).toBe(`Corrupt machine config ${cfg('types')}: Driver is text, not an object: fix or remove the file (it was left untouched), or remove the machine with "machine rm -f types"`)
    expect(lineOf('nullopts')).toMatch(/: HostOptions is null, not an object: /)
    expect(lineOf('numname')).toMatch(/: Name is a number, not text: /)
    for (const n of ['fifo', 'dir', 'link', 'huge', 'types', 'nullopts', 'numname']) expect(byName[n]!.error?.code, n).toBe('corrupt-config')
    // The same one line for a command on that machine.
    expect(await errorLineAsync(() => s.load('fifo'))).toBe(lineOf('fifo'))
  })

  it('an unreadable config is config-unreadable, naming the path and chmod', async () => {
    const e = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })
    expect(openProblem(e, '/s/machines/m/config.json', 'Machine config', 'remove the machine with "machine rm -f m"')).toEqual({
      code: 'config-unreadable',
      message: 'Cannot read machine config /s/machines/m/config.json: permission denied',
      hint: 'make it readable by you (chmod u+r /s/machines/m/config.json), or remove the machine with "machine rm -f m"',
    })
    if (process.getuid?.() === 0) return // root reads a mode-000 file: the mapping above is what a user meets
    const s = await storeWith({ m: async (p) => (await writeFile(p, good('m')), await chmod(p, 0)) })
    expect((await s.loadAll())[0]!.error?.code).toBe('config-unreadable')
  })

  it('a machine directory that is a symlink is not followed', async () => {
    const s = await storeWith({ real: (p) => writeFile(p, good('real')) })
    await symlink(s.dir('real'), join(s.path, 'machines', 'alias'))
    expect(await errorLineAsync(() => s.load('alias'))).toMatch(/^Machine "alias" does not exist/)
  })

  it('a corrupt or odd journal is an error naming it, not a hang or a raw SyntaxError', async () => {
    const dir = await tmp()
    await writeFile(join(dir, 'journal.json'), '{"resources": [')
    expect(await errorLineAsync(() => FileJournal.open(dir))).toMatch(new RegExp(`^Corrupt resource journal ${join(dir, 'journal.json')}: .*machine rm -f`))
    await writeFile(join(dir, 'journal.json'), '{"resources": [{"kind": 1}]}')
    expect(await errorLineAsync(() => FileJournal.open(dir))).toMatch(/"resources" is not a list of \{kind, id\} entries/)
    await rm(join(dir, 'journal.json'))
    execFileSync('mkfifo', [join(dir, 'journal.json')])
    expect(await errorLineAsync(() => FileJournal.open(dir))).toMatch(/^Resource journal .* is a FIFO, not a file/)
  })
})

describe('store: unfinished creates', () => {
  async function halfMade(name: string): Promise<Store> {
    const s = new Store(await tmp())
    const dir = await s.reserve(name)
    await markCreating(dir)
    await s.save({ ConfigVersion: 3, Driver: { URL: 'tcp://127.0.0.1:1', MachineName: name }, DriverName: 'none', HostOptions: {} as never, Name: name })
    return s
  }

  it('a create that died before its last step is interrupted: for commands, for ls, and rm can still load it', async () => {
    const s = await halfMade('half')
    expect(await errorLineAsync(() => s.load('half'))).toBe('The create of machine "half" was interrupted: remove it with "machine rm -f half"')
    const [entry] = await s.loadAll()
    expect(entry!.error?.code).toBe('create-interrupted')
    expect(entry!.host).toBeUndefined()
    expect(entry!.known?.DriverName).toBe('none')
    expect((await s.load('half', { incomplete: true })).Name).toBe('half')
    await markCreated(s.dir('half'))
    expect((await s.load('half')).Name).toBe('half')
  })

  it('a create still running (its lock held by the pid in the marker) is "being created", not interrupted', async () => {
    const s = await halfMade('busy')
    const lock = await lockMachine(s.path, 'busy')
    try {
      expect(await errorLineAsync(() => s.load('busy'))).toBe(`Machine "busy" is being created (by pid ${process.pid}): wait for that create to finish, then run the command again`)
      // A marker of another (dead) pid under a live lock holder: that create is gone.
      await writeFile(join(s.dir('busy'), '.creating'), '999999999\n')
      expect((await s.loadAll())[0]!.error?.code).toBe('create-interrupted')
    } finally {
      await lock.release()
    }
    await writeFile(join(s.dir('busy'), '.creating'), `${process.pid}\n`)
    expect((await s.loadAll())[0]!.error?.code).toBe('create-interrupted') // no lock: interrupted
  })
})

