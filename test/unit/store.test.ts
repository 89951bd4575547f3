import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../src/store/atomic.js'
import { FileJournal } from '../../src/store/journal.js'
import { lockMachine } from '../../src/store/lock.js'
import { resolveStorePath } from '../../src/store/paths.js'
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

  it('reports a missing machine and a machine without config.json clearly', async () => {
    const s = new Store(await tmp())
    expect(await errorLineAsync(() => s.load('ghost'))).toBe('Machine "ghost" does not exist: run "machine ls" to list machines, or "machine create" to add one')
    await s.reserve('half')
    expect(await errorLineAsync(() => s.load('half'))).toMatch(/has no config.json.*machine rm -f half/)
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
})
