import { execFileSync, spawn } from 'node:child_process'
import { chmod, cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { expectCleanFailure, runCli, snapshot, tempStore, type RunAs } from '../helpers/cli.js'
import { onCleanup, tempDir } from '../helpers/tmp.js'

/**
 * One bad store entry is that machine's problem only, through the built CLI: `ls` lists the
 * others (and does not hang on a FIFO), shows the bad one as an error row, commands on it give
 * one line naming the path (store unchanged), and `rm -f` removes it.
 */

const BAD: Record<string, (configPath: string, good: string) => Promise<void>> = {
  fifo: async (p) => void execFileSync('mkfifo', [p]),
  dir: (p) => mkdir(p),
  link: async (p, good) => {
    const outside = join(await tempDir('machine-outside-'), 'config.json')
    await writeFile(outside, good.replaceAll('"ok"', '"link"'))
    await symlink(outside, p)
  },
  huge: (p, good) => writeFile(p, good.replace('{', `{"Pad":"${'x'.repeat(1100 * 1024)}",`)),
  drivertext: (p, good) => writeFile(p, good.replace(/"Driver": \{[^}]*\}/, '"Driver": "str"').replaceAll('"ok"', '"drivertext"')),
  hostnull: (p, good) => writeFile(p, JSON.stringify({ ...JSON.parse(good), HostOptions: null, Name: 'hostnull' })),
  numurl: (p, good) => {
    const d = JSON.parse(good)
    d.Driver.URL = 2376
    d.Name = 'numurl'
    return writeFile(p, JSON.stringify(d))
  },
  badlabel: (p, good) => {
    const d = JSON.parse(good)
    d.HostOptions.EngineOptions.Labels = ['a=b', 7]
    d.Name = 'badlabel'
    return writeFile(p, JSON.stringify(d))
  },
}

async function storeWithBadEntries(): Promise<{ store: string; good: string }> {
  const store = await tempStore()
  const c = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'ok'], { store })
  expect(c.code, c.stderr).toBe(0)
  const good = await readFile(join(store, 'machines', 'ok', 'config.json'), 'utf8')
  for (const [name, make] of Object.entries(BAD)) {
    await mkdir(join(store, 'machines', name))
    await make(join(store, 'machines', name, 'config.json'), good)
  }
  return { store, good }
}

describe('bad store entries through the CLI', () => {
  it('ls lists every entry at once, the bad ones as error rows naming their config and the fix', async () => {
    const { store } = await storeWithBadEntries()
    const r = await runCli(['ls', '--format', '{{.Name}}|{{.State}}|{{.Error}}', '--timeout', '2'], { store, timeoutMs: 20_000 })
    expect(r.code, r.stderr).toBe(0)
    const rows = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.split('|')[0], l]))
    expect(Object.keys(rows).sort()).toEqual([...Object.keys(BAD), 'ok'].sort())
    expect(rows.ok).toMatch(/^ok\|Running\|/)
    const cfg = (n: string) => join(store, 'machines', n, 'config.json')
    expect(rows.fifo).toBe(`fifo|Error|Machine config ${cfg('fifo')} is a FIFO, not a file: put the real file in its place (this one was left untouched), or remove the machine with "machine rm -f fifo"`)
    expect(rows.dir).toContain(`Machine config ${cfg('dir')} is a directory, not a file`)
    expect(rows.link).toContain(`Machine config ${cfg('link')} is a symlink, not a file`)
    expect(rows.huge).toContain(`Machine config ${cfg('huge')} is too large`)
    expect(rows.drivertext).toContain(`Corrupt machine config ${cfg('drivertext')}: Driver is text, not an object`)
    expect(rows.hostnull).toContain(': HostOptions is null, not an object')
    expect(rows.numurl).toContain(': Driver.URL is a number, not text')
    expect(rows.badlabel).toContain(': HostOptions.EngineOptions.Labels[1] is a number, not text')
    // --json too, and -q lists only the usable machine.
    const j = await runCli(['ls', '--json', '--timeout', '2'], { store })
    const data = (JSON.parse(j.stdout) as { data: Array<{ Name: string; State: string }> }).data
    expect(data.filter((x) => x.State === 'Error').map((x) => x.Name).sort()).toEqual(Object.keys(BAD).sort())
    expect((await runCli(['ls', '-q'], { store })).stdout).toBe('ok\n')
  }, 60_000)

  it('commands on a bad entry give one line naming the path; the good machine still works; rm -f removes the bad ones', async () => {
    const { store } = await storeWithBadEntries()
    for (const cmd of [['env'], ['status'], ['inspect'], ['url']]) {
      for (const name of ['fifo', 'hostnull', 'badlabel']) {
        const f = await expectCleanFailure([...cmd, name], store)
        expect(f.code).toBe('corrupt-config')
        expect(f.line).toContain(join(store, 'machines', name, 'config.json'))
        expect(f.line).toMatch(new RegExp(`machine rm -f ${name}"$`))
      }
    }
    expect((await runCli(['env', 'ok', '--shell', 'bash'], { store })).code).toBe(0)
    for (const name of Object.keys(BAD)) {
      const r = await runCli(['rm', '-f', name], { store })
      expect(r.code, `${name}: ${r.stderr}`).toBe(0)
      expect(r.stdout).toContain(`Successfully removed ${name}`)
      // The warning names the problem, without the fix that no longer applies.
      expect(r.stderr).not.toContain('left untouched')
    }
    expect((await runCli(['ls', '-q'], { store })).stdout).toBe('ok\n')
  }, 60_000)

  it('a config.json whose Name is another machine: an error row, one line, and rm -f removes only that entry', async () => {
    const store = await tempStore()
    for (const name of ['ok', 'victim']) expect((await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', name], { store })).code).toBe(0)
    // "other" holds a copy of victim's config, Name and all: acting on it as "victim" would touch victim.
    await cp(join(store, 'machines', 'victim'), join(store, 'machines', 'other'), { recursive: true })
    const cfg = join(store, 'machines', 'other', 'config.json')
    const ls = await runCli(['ls', '--format', '{{.Name}}|{{.State}}|{{.Error}}', '--timeout', '2'], { store })
    expect(ls.code, ls.stderr).toBe(0)
    const mismatch = `Machine config ${cfg} names the machine "victim", not "other": set "Name" back to "other" in that file, or remove the entry with "machine rm -f other"`
    expect(ls.stdout.split('\n').filter((l) => l.startsWith('other|'))).toEqual([`other|Error|${mismatch}`])
    for (const cmd of [['env'], ['status'], ['inspect']]) {
      const f = await expectCleanFailure([...cmd, 'other'], store)
      expect(f).toMatchObject({ code: 'corrupt-config', line: `Error: ${mismatch}` })
    }
    const victim = await snapshot(join(store, 'machines', 'victim'))
    const rm = await runCli(['rm', '-f', 'other'], { store })
    expect(rm.code, rm.stderr).toBe(0)
    expect(rm.stdout).toContain('Successfully removed other')
    expect(await snapshot(join(store, 'machines', 'victim'))).toEqual(victim)
    expect((await runCli(['ls', '-q'], { store })).stdout).toBe('ok\nvictim\n')
    expect((await runCli(['env', 'victim', '--shell', 'bash'], { store })).code).toBe(0)
  }, 60_000)

  it('an unreadable config.json (EACCES) is that machine\'s error row and one line; rm -f removes it', async () => {
    const store = await tempStore()
    for (const name of ['ok', 'locked']) expect((await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', name], { store })).code).toBe(0)
    const cfg = join(store, 'machines', 'locked', 'config.json')
    // root reads any file whatever its mode: run the CLI as nobody then, owning the store.
    const as: RunAs | undefined = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined
    // A home of its own (oclif reads its data directory there).
    const home = await tempDir('machine-home-')
    if (as) execFileSync('chown', ['-R', `${as.uid}:${as.gid}`, store, home])
    const env = { HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home, XDG_CACHE_HOME: home }
    await chmod(cfg, 0o000)
    const unreadable = `Cannot read machine config ${cfg}: permission denied: make it readable by you (chmod u+r ${cfg}), or remove the machine with "machine rm -f locked"`
    const ls = await runCli(['ls', '--format', '{{.Name}}|{{.State}}|{{.Error}}', '--timeout', '2'], { store, as, env })
    expect(ls.code, ls.stderr).toBe(0)
    expect(ls.stdout.split('\n').filter((l) => l.startsWith('locked|'))).toEqual([`locked|Error|${unreadable}`])
    expect(ls.stdout).toMatch(/^ok\|Running\|/m)
    for (const cmd of [['env'], ['status'], ['inspect'], ['url']]) {
      const f = await expectCleanFailure([...cmd, 'locked'], store, { as, env })
      expect(f).toMatchObject({ code: 'config-unreadable', line: `Error: ${unreadable}` })
    }
    const rm = await runCli(['rm', '-f', 'locked'], { store, as, env })
    expect(rm.code, rm.stderr).toBe(0)
    expect((await runCli(['ls', '-q'], { store, as, env })).stdout).toBe('ok\n')
  }, 60_000)

  it('a create still running in another process is "being created", not interrupted; once its process is gone it is', async () => {
    const store = await tempStore()
    const c = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'busy'], { store })
    expect(c.code, c.stderr).toBe(0)
    // Stand in for a running create: a live process holding the machine's lock, named in the marker.
    const p = spawn('sleep', ['60'], { stdio: 'ignore' })
    onCleanup(() => void p.kill('SIGKILL'))
    await mkdir(join(store, '.locks'), { recursive: true })
    await writeFile(join(store, '.locks', 'busy.lock'), `${p.pid}\nabc\n`)
    await writeFile(join(store, 'machines', 'busy', '.creating'), `${p.pid}\n`)
    const ls = await runCli(['ls', '--format', '{{.Name}} {{.State}} {{.Error}}'], { store })
    expect(ls.stdout).toBe(`busy Starting being created (pid ${p.pid})\n`)
    const f = await expectCleanFailure(['env', 'busy'], store)
    expect(f.code).toBe('machine-creating')
    expect(f.line).toBe(`Error: Machine "busy" is being created (by pid ${p.pid}): wait for that create to finish, then run the command again`)
    p.kill('SIGKILL')
    await new Promise((r) => p.once('exit', r))
    const after = await runCli(['ls', '--format', '{{.Name}} {{.State}} {{.Error}}'], { store })
    expect(after.stdout).toBe('busy Error create was interrupted: remove it with "machine rm -f busy"\n')
    const s = await expectCleanFailure(['status', 'busy'], store)
    expect(s).toMatchObject({ code: 'create-interrupted', line: 'Error: The create of machine "busy" was interrupted: remove it with "machine rm -f busy"' })
    expect((await runCli(['rm', '-f', 'busy'], { store })).code).toBe(0)
    expect((await runCli(['ls', '-q'], { store })).stdout).toBe('')
  }, 60_000)
})
