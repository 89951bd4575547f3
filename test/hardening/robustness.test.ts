import { spawn, spawnSync, type SpawnOptions } from 'node:child_process'
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryProblem, parseDiskSize } from '../../drivers/qemu/settings.js'
import { cryptoError, fsError } from '../../src/core/fs-errors.js'
import { BIN, expectCleanFailure, ROOT, runCli, snapshot, tempStore } from '../helpers/cli.js'
import { freePort, startSshd, type Sshd } from '../helpers/sshd.js'
import { onCleanup, tempDir } from '../helpers/tmp.js'

/** Run a program to the end, collecting its output (runCli cannot change uid or go through unshare). */
function spawnOutput(cmd: string, args: string[], o: SpawnOptions): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { ...o, stdio: 'pipe' })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('error', rej)
    p.on('close', (code) => res({ code, stdout, stderr }))
  })
}

/**
 * Robustness through the built CLI: every network wait is bounded and names what did not
 * answer; Ctrl-C in the generic driver's port wait exits 130 at once; ls checks its flags and
 * filters before probing; file-system and crypto errors are one line with the path and the
 * fix; --json works before the command and on unknown commands; inspect redacts secrets.
 */

/** A 127.0.0.1 server that accepts connections and treats them with `onConn`; counts them. */
async function tcpServer(onConn: (s: Socket) => void = () => undefined): Promise<{ port: number; connections: () => number }> {
  let n = 0
  const sockets = new Set<Socket>()
  const srv: Server = createServer((s) => {
    n++
    sockets.add(s)
    s.on('error', () => undefined)
    onConn(s)
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  onCleanup(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        srv.close(() => r())
      }),
    'file',
  )
  return { port: (srv.address() as AddressInfo).port, connections: () => n }
}

const createNone = async (store: string, name: string, port: number): Promise<void> => {
  const r = await runCli(['create', '-d', 'none', '--url', `tcp://127.0.0.1:${port}`, name], { store })
  expect(r.code, r.stderr).toBe(0)
}

describe('engine probes are bounded and say what did not answer', () => {
  let store: string
  let silent: Awaited<ReturnType<typeof tcpServer>>
  let notTls: Awaited<ReturnType<typeof tcpServer>>
  beforeAll(async () => {
    store = await tempStore()
    silent = await tcpServer()
    notTls = await tcpServer((s) => s.end('SSH-2.0-OpenSSH_9.2 not a docker engine\r\n'))
    await createNone(store, 'quiet', silent.port)
    await createNone(store, 'wrong', notTls.port)
  })

  it('version NAME on an engine that accepts TCP and never answers fails within its bound, naming the machine and address', async () => {
    const env = { MACHINE_ENGINE_TIMEOUT_MS: '1500' }
    const f = await expectCleanFailure(['version', 'quiet'], store, { env, stdoutEmpty: true })
    expect(f.code).toBe('engine-timeout')
    expect(f.line).toMatch(
      new RegExp(`^Error: Docker engine of machine "quiet" at 127\\.0\\.0\\.1:${silent.port} accepted the connection but did not complete the TLS handshake within 1\\.5 s: check that this port is the Docker engine`),
    )
    expect(f.ms).toBeLessThan(8000)
  })

  it('version NAME on a port that answers with bytes that are not TLS says so', async () => {
    const f = await expectCleanFailure(['version', 'wrong'], store, { stdoutEmpty: true })
    expect(f.code).toBe('engine-tls')
    expect(f.line).toMatch(new RegExp(`^Error: Docker engine of machine "wrong" at 127\\.0\\.0\\.1:${notTls.port} (did not answer with TLS|closed the connection during the TLS handshake)`))
  })

  it('version NAME on a closed port and on a missing machine names the machine', async () => {
    const closed = await freePort()
    await createNone(store, 'down', closed)
    const f = await expectCleanFailure(['version', 'down'], store, { stdoutEmpty: true })
    expect(f.code).toBe('engine-unreachable')
    expect(f.line).toBe(`Error: Docker engine of machine "down" at 127.0.0.1:${closed} refused the connection (ECONNREFUSED): check that "down" is running ("machine status down")`)
    const g = await expectCleanFailure(['version', 'ghost'], store, { stdoutEmpty: true })
    expect(g.line).toContain('"ghost"')
  })

  it('ls over a silent engine ends within --timeout, that row Timeout or naming the wait', async () => {
    const r = await runCli(['ls', '--timeout', '2', '--filter', 'name=^quiet$'], { store })
    expect(r.code, r.stderr).toBe(0)
    expect(r.ms).toBeLessThan(8000)
    expect(r.stdout).toMatch(/^quiet\s+(none\s+Timeout|-\s+none\s+Running\s+\S+\s+Unknown\s+Docker engine at 127\.0\.0\.1:\d+ accepted the connection but did not complete the TLS handshake)/m)
  })
})

describe('ls checks its flags, and filters before probing', () => {
  let store: string
  let a: Awaited<ReturnType<typeof tcpServer>>
  let b: Awaited<ReturnType<typeof tcpServer>>
  beforeAll(async () => {
    store = await tempStore()
    // Engines that close at once: each probe is one counted connection.
    a = await tcpServer((s) => s.destroy())
    b = await tcpServer((s) => s.destroy())
    await createNone(store, 'alpha', a.port)
    await createNone(store, 'beta', b.port)
  })

  for (const fast of [true, false]) {
    const env = fast ? {} : { MACHINE_NO_FAST_PATH: '1' }
    const path = fast ? 'fast path' : 'oclif path'
    for (const t of ['-1', '0', '3601', '99999999999']) {
      it(`--timeout ${t} is one line with the allowed range (${path})`, async () => {
        const f = await expectCleanFailure(['ls', `--timeout=${t}`], store, { env, stdoutEmpty: true })
        expect(f.code).toBe('invalid-timeout')
        expect(f.line).toBe(`Error: --timeout ${t} is out of range: give whole seconds from 1 to 3600`)
      })
    }
    it(`--filter state=bogus names the valid states; an unknown key names the keys (${path})`, async () => {
      const s = await expectCleanFailure(['ls', '--filter', 'state=bogus'], store, { env, stdoutEmpty: true })
      expect(s.code).toBe('invalid-filter')
      expect(s.line).toBe('Error: Unsupported state "bogus" in --filter state=bogus: use one of Running, Paused, Saved, Stopped, Stopping, Starting, Error, Timeout')
      const k = await expectCleanFailure(['ls', '--filter', 'colour=red'], store, { env, stdoutEmpty: true })
      expect(k.line).toBe("Error: Unsupported filter key 'colour': use driver, state, name, label or swarm")
    })
    it(`--filter name= probes only the machines it lists (${path})`, async () => {
      const [a0, b0] = [a.connections(), b.connections()]
      const r = await runCli(['ls', '--filter', 'name=^alpha$'], { store, env })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual(['NAME', 'alpha'])
      // A port that closes at once is said at once, not at --timeout's end (it was, while the TLS files were read).
      expect(r.stdout).toContain('closed the connection during the TLS handshake')
      expect(r.ms).toBeLessThan(5000)
      expect(a.connections()).toBe(a0 + 1)
      expect(b.connections()).toBe(b0)
      // A driver no machine has: nothing is probed at all.
      await runCli(['ls', '--filter', 'driver=qemu'], { store, env })
      expect(a.connections()).toBe(a0 + 1)
      expect(b.connections()).toBe(b0)
    })
  }
})

describe('Ctrl-C during the generic driver\'s wait for the SSH port', () => {
  it('exits 130 within 1 s of the signal and leaves no store entry', async () => {
    const store = await tempStore()
    const tmp = await tempDir()
    const key = join(tmp, 'id_test')
    await writeFile(key, 'not used before the port answers\n', { mode: 0o600 })
    const closed = await freePort()
    const p = spawn(process.execPath, [BIN, 'create', '-d', 'generic', '--generic-ip-address', '127.0.0.1', '--generic-ssh-port', String(closed), '--generic-ssh-key', key, 'g1'], {
      cwd: ROOT,
      env: { ...process.env, MACHINE_STORAGE_PATH: store },
    })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    const exit = new Promise<number | null>((res) => p.on('close', (code) => res(code)))
    await new Promise<void>((res) => {
      const check = () => (stdout.includes('Running pre-create checks') ? res() : setTimeout(check, 20))
      check()
    })
    await new Promise((r) => setTimeout(r, 1500))
    const sent = Date.now()
    p.kill('SIGINT')
    const code = await exit
    expect(Date.now() - sent).toBeLessThan(1000)
    expect(code, stderr).toBe(130)
    expect(stderr.trimEnd().split('\n').pop()).toBe('Error: Interrupted')
    expect(existsSync(join(store, 'machines', 'g1'))).toBe(false)
  })
})

describe('file-system and crypto errors: one line with the path and the fix', () => {
  it('a store path that is a file', async () => {
    const tmp = await tempDir()
    const file = join(tmp, 'store-file')
    await writeFile(file, 'x')
    for (const args of [['ls'], ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', 'n1']]) {
      const f = await expectCleanFailure(args, file)
      expect(f.code).toBe('fs-not-a-directory')
      expect(f.line).toMatch(new RegExp(`^Error: Cannot [a-z ]+ ${file}/\\S+: ${file} is a file, not a directory \\(ENOTDIR\\): move ${file} away, or choose another store with --storage-path`))
    }
    expect(await readFile(file, 'utf8')).toBe('x')
  })

  it('a store under a directory the user may not write to', async () => {
    const tmp = await tempDir()
    const locked = join(tmp, 'locked')
    await mkdir(locked, { mode: 0o555 })
    await chmod(tmp, 0o755)
    const store = join(locked, 'store')
    // root ignores modes: run the CLI as nobody then (HOME must be somewhere it may read).
    const asRoot = process.getuid?.() === 0
    const r = await spawnOutput(process.execPath, [BIN, 'create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', 'n1', '--json'], {
      cwd: '/',
      env: { ...process.env, MACHINE_STORAGE_PATH: store, HOME: tmp, XDG_DATA_HOME: tmp, XDG_CONFIG_HOME: tmp, XDG_CACHE_HOME: tmp },
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    })
    expect(r.code).toBe(1)
    const e = JSON.parse(r.stdout).error
    expect(e.code).toBe('fs-permission')
    expect(e.message).toBe(`Cannot create the directory ${store}: permission denied (EACCES)`)
    expect(e.hint).toBe(`give your user access to ${locked} (see "ls -ld ${locked}"), or choose another store with --storage-path (or MACHINE_STORAGE_PATH)`)
    expect(existsSync(store)).toBe(false)
  })

  // A read-only file system, made in a user namespace where one can be mounted.
  const canMount = (() => {
    try {
      return spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o ro none /mnt'], { stdio: 'ignore' }).status === 0
    } catch {
      return false
    }
  })()
  it.skipIf(!canMount)('a store on a read-only file system', async () => {
    const tmp = await tempDir()
    const ro = join(tmp, 'ro')
    await mkdir(ro)
    const store = join(ro, 'store')
    const script = `mount -t tmpfs -o ro none "$1" && shift && exec "$@"`
    const r = await spawnOutput('unshare', ['-rm', 'sh', '-c', script, 'sh', ro, process.execPath, BIN, 'create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', 'n1'], {
      cwd: ROOT,
      env: { ...process.env, MACHINE_STORAGE_PATH: store },
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`Error: Cannot create the directory ${store}: the file system is read-only (EROFS): remount it read-write, or choose another store with --storage-path (or MACHINE_STORAGE_PATH)\n`)
  })

  it('--tls-ca-cert pointing at a file that is not PEM', async () => {
    const store = await tempStore()
    const tmp = await tempDir()
    const notPem = join(tmp, 'ca.txt')
    await writeFile(notPem, 'hello, not a certificate\n')
    const args = ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', '--tls-ca-cert', notPem, 'n1']
    const r = await runCli(args, { store })
    expect(r.code).toBe(1)
    const line = r.stderr.trimEnd().split('\n').pop()!
    expect(line).toContain(notPem)
    expect(line).not.toMatch(/routines::/)
    const j = JSON.parse((await runCli([...args, '--json'], { store })).stdout)
    expect(j.error.code).toMatch(/^(bad-pem|not-a-certificate)$/)
    expect(j.error.hint).toBeTruthy()
    expect(existsSync(join(store, 'machines', 'n1'))).toBe(false)
    expect(await readFile(notPem, 'utf8')).toBe('hello, not a certificate\n')
  })

  it("a machine's own key.pem that is not PEM is named by version", async () => {
    const store = await tempStore()
    const srv = await tcpServer()
    await createNone(store, 'n1', srv.port)
    await writeFile(join(store, 'machines', 'n1', 'key.pem'), 'garbage\n')
    const f = await expectCleanFailure(['version', 'n1'], store, { stdoutEmpty: true })
    expect(f.code).toBe('bad-pem')
    expect(f.line.startsWith(`Error: Machine "n1": ${join(store, 'machines', 'n1', 'key.pem')} is not a PEM certificate or key (no "-----BEGIN" line): run "`)).toBe(true)
    expect(f.line).toMatch(/ regenerate-certs n1"$/)
  })
})

describe('--json before the command and on unknown commands', () => {
  let store: string
  beforeAll(async () => {
    store = await tempStore()
  })
  it('machine --json ls is machine ls --json', async () => {
    for (const env of [{}, { MACHINE_NO_FAST_PATH: '1' }]) {
      const r = await runCli(['--json', 'ls'], { store, env })
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toEqual({ ok: true, command: 'ls', data: [] })
      const bad = await runCli(['--json', 'ls', '--timeout', '0'], { store, env })
      expect(JSON.parse(bad.stdout).error.code).toBe('invalid-timeout')
    }
  })
  for (const args of [['--json', 'nosuch'], ['nosuch', '--json'], ['-s', '/nonexistent-store', '--json', 'nosuch']]) {
    it(`machine ${args.join(' ')}: the unknown-command envelope`, async () => {
      const r = await runCli(args, { store })
      expect(r.code).toBe(2)
      expect(r.stderr).toBe('')
      const e = JSON.parse(r.stdout)
      expect(e).toMatchObject({ ok: false, command: 'nosuch', error: { code: 'unknown-command', message: 'Unknown command "nosuch"' } })
      expect(e.error.hint).toMatch(/--help" to list the commands$/)
    })
  }
  it('an unknown command without --json is one line, with the nearest command', async () => {
    const r = await runCli(['lss'], { store })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Error: Unknown command "lss": did you mean "\S+ ls"\? \("\S+ --help" lists the commands\)\n$/)
  })
})

describe('smaller ones', () => {
  let store: string
  beforeAll(async () => {
    store = await tempStore()
    await createNone(store, 'n1', 2376)
  })

  it('inspect redacts the secrets of an imported config, in every output form', async () => {
    const path = join(store, 'machines', 'n1', 'config.json')
    const cfg = JSON.parse(await readFile(path, 'utf8'))
    cfg.Driver = { ...cfg.Driver, SecretKey: 'AKIA-very-secret', Password: 'hunter2', ClientSecret: 'shh', AccessKey: 'AKIAXXXX', Token: 'tok', SessionToken: '', Region: 'eu-west-1', VSpherePassword: 'vs-pw', APISecretKey: 'exo-secret' }
    await writeFile(path, JSON.stringify(cfg, null, 4))
    const plain = await runCli(['inspect', 'n1'], { store })
    expect(plain.code, plain.stderr).toBe(0)
    const shown = JSON.parse(plain.stdout)
    expect(shown.Driver).toMatchObject({ SecretKey: '<redacted>', Password: '<redacted>', ClientSecret: '<redacted>', AccessKey: '<redacted>', Token: '<redacted>', SessionToken: '', Region: 'eu-west-1', VSpherePassword: '<redacted>', APISecretKey: '<redacted>' })
    const json = await runCli(['inspect', 'n1', '--json'], { store })
    expect(JSON.parse(json.stdout).data.Driver.SecretKey).toBe('<redacted>')
    const fmt = await runCli(['inspect', '--format', '{{.Driver.Password}} {{json .Driver.SecretKey}}', 'n1'], { store })
    expect(fmt.stdout).toBe('<redacted> "<redacted>"\n')
    for (const out of [plain.stdout, json.stdout, fmt.stdout]) for (const s of ['AKIA-very-secret', 'hunter2', 'shh', 'AKIAXXXX', '"tok"', 'vs-pw', 'exo-secret']) expect(out).not.toContain(s)
  })

  it("env --shell '' is an error naming the shells", async () => {
    const f = await expectCleanFailure(['env', '--shell', '', 'n1'], store, { stdoutEmpty: true })
    expect(f.line).toMatch(/^Error: Unknown shell "": use --shell with one of bash, .*fish.*powershell.*cmd.*tcsh.*emacs/)
  })

  it('--qemu-memory, --qemu-cpus and --qemu-disk-size are bounded', async () => {
    const mem = await expectCleanFailure(['create', '-d', 'qemu', '--qemu-memory', '99999999999999', 'q1'], store, { stdoutEmpty: true })
    expect(mem.line).toMatch(/^Error: --qemu-memory: must be a whole number of MB from 256 to \d+ \(this host has \d+ MB\)/)
    const cpus = await expectCleanFailure(['create', '-d', 'qemu', '--qemu-cpus', '0', 'q1'], store, { stdoutEmpty: true })
    expect(cpus.line).toMatch(/^Error: --qemu-cpus: must be a whole number from 1 to 256/)
    const disk = await expectCleanFailure(['create', '-d', 'qemu', '--qemu-disk-size', '9999T', 'q1'], store, { stdoutEmpty: true })
    expect(disk.line).toMatch(/^Error: --qemu-disk-size: "9999T" is too large \(at most 64T\)/)
    // The bounds themselves: a small guest on a small host is fine, the host's RAM is the limit.
    expect(memoryProblem(2048, 2 ** 30)).toBeUndefined()
    expect(memoryProblem(8192, 8 * 2 ** 30)).toBeUndefined()
    expect(memoryProblem(8193, 8 * 2 ** 30)).toMatch(/from 256 to 8192/)
    expect(memoryProblem(255, 8 * 2 ** 30)).toMatch(/from 256/)
    expect(parseDiskSize('64T')).toBe(64 * 2 ** 40)
  })

  it('rm -f on a corrupt entry tells one outcome, in one line', async () => {
    await mkdir(join(store, 'machines', 'bad'))
    await writeFile(join(store, 'machines', 'bad', 'config.json'), '{nope')
    const r = await runCli(['rm', '-f', 'bad'], { store })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^Successfully removed bad \(forced: Corrupt machine config \S+config\.json: [^\n]+\)\n$/)
    expect(r.stdout).not.toMatch(/untouched/)
    expect(existsSync(join(store, 'machines', 'bad'))).toBe(false)
  })
})

describe('scp to a host whose key changed', () => {
  let sshd: Sshd | undefined
  afterAll(async () => {
    await sshd?.stop()
  })
  it('is our one-line host-key error, not OpenSSH\'s banner, and copies nothing', async () => {
    const store = await tempStore()
    sshd = await startSshd()
    const seed = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23760', 'g1'], { store })
    expect(seed.code, seed.stderr).toBe(0)
    const dir = join(store, 'machines', 'g1')
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))
    await copyFile(sshd.userKeyPath, join(dir, 'id_user'))
    await chmod(join(dir, 'id_user'), 0o600)
    cfg.DriverName = 'generic'
    cfg.Driver = { ...cfg.Driver, URL: undefined, EngineURL: 'tcp://127.0.0.1:23760', IPAddress: '127.0.0.1', SSHUser: sshd.user, SSHPort: sshd.port, SSHKeyPath: join(dir, 'id_user'), EnginePort: 23760 }
    await writeFile(join(dir, 'config.json'), JSON.stringify(cfg, null, 4), { mode: 0o600 })
    const [type, b64] = sshd.hostKeyPub.split(' ')
    await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${sshd.port} ${type} ${b64}\n`, { mode: 0o600 })
    const tmp = await tempDir()
    await writeFile(join(tmp, 'a.txt'), 'hello\n')
    const before = await snapshot(store)
    await sshd.restart({ newHostKey: true })
    const f = await expectCleanFailure(['scp', join(tmp, 'a.txt'), `g1:${join(sshd.home, 'a.txt')}`], store, { stdoutEmpty: true })
    expect(f.code).toBe('host-key-changed')
    expect(f.line).toMatch(new RegExp(`^Error: host key for 127\\.0\\.0\\.1:${sshd.port} has changed: expected SHA256:\\S+, presented SHA256:\\S+ \\(ssh-ed25519\\)`))
    expect(f.line).not.toMatch(/@@@@|REMOTE HOST IDENTIFICATION/)
    expect(existsSync(join(sshd.home, 'a.txt'))).toBe(false)
    expect(await snapshot(store)).toEqual(before)
  })
})

describe('fsError and cryptoError: each errno its code, the path and a fix', () => {
  const errno = (code: string, syscall: string, path: string, dest?: string) => Object.assign(new Error(`${code}: raw, ${syscall} '${path}'`), { code, syscall, path, ...(dest ? { dest } : {}) })
  const store = '/srv/store'
  it.each([
    ['EEXIST', 'mkdir', `${store}/certs`, 'fs-exists', `Cannot create the directory ${store}/certs: ${store}/certs already exists (EEXIST): move it away, or choose another store with --storage-path (or MACHINE_STORAGE_PATH)`],
    ['EISDIR', 'open', '/etc/x', 'fs-is-a-directory', 'Cannot open /etc/x: /etc/x is a directory, not a file (EISDIR): move that directory away, or use another path'],
    ['ENOSPC', 'write', `${store}/machines/m/config.json`, 'fs-no-space', `Cannot write ${store}/machines/m/config.json: no space is left on the device (ENOSPC): free some space, or choose a store on another disk (--storage-path)`],
    ['EROFS', 'open', '/ro/f', 'fs-read-only', 'Cannot open /ro/f: the file system is read-only (EROFS): remount it read-write, or use a writable path'],
    ['ENAMETOOLONG', 'open', '/x/y', 'fs-name-too-long', 'Cannot open /x/y: the path is too long for the file system (ENAMETOOLONG): use a shorter path'],
  ])('%s from %s', (code, syscall, path, want, line) => {
    const e = fsError(errno(code, syscall, path), { storePath: store })
    expect(e?.code).toBe(want)
    expect(e?.line).toBe(line)
  })
  it('a rename names both paths; an error without a path or errno is left alone', () => {
    expect(fsError(errno('EPERM', 'rename', '/a/tmp', '/a/config.json'))?.message).toBe('Cannot move /a/tmp to /a/config.json: permission denied (EPERM)')
    expect(fsError(new Error('plain'))).toBeUndefined()
    expect(fsError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBeUndefined()
  })
  it("OpenSSL's PEM errors become bad-pem, naming the file when known", () => {
    const pem = Object.assign(new Error('error:1E08010C:DECODER routines::unsupported'), { code: 'ERR_OSSL_PEM_NO_START_LINE', library: 'PEM routines', reason: 'no start line' })
    expect(cryptoError(pem)?.code).toBe('bad-pem')
    expect(cryptoError(pem)?.message).toBe('A certificate or key file is not a valid PEM certificate or key (PEM routines::no start line)')
    expect(cryptoError(pem, '/k.pem')?.message).toBe('/k.pem is not a valid PEM certificate or key (PEM routines::no start line)')
    expect(cryptoError(new Error('nope'))).toBeUndefined()
  })
})
