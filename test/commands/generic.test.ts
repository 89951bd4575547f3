import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprintOf } from '../../src/driver-kit/keys.js'
import { startChrootHost, type ChrootHost } from '../helpers/chroot-host.js'
import { ensureBuilt, expectCleanFailure, runCli, snapshot, tempStore, type CliResult } from '../helpers/cli.js'
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engine.js'
import { createWithEngine } from '../helpers/generic-create.js'
import { freePort, makeKey } from '../helpers/sshd.js'
import { tempDir } from '../helpers/tmp.js'

// `machine create -d generic` end to end through the BUILT binary: a real OpenSSH sshd serving
// a chroot "host" (stub systemctl/hostname), the real provisioner over SSH, and a TLS engine
// stand-in started with the very certificate the provisioner installed on the host.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The real docker CLI (client only) with this test file's DOCKER_CONFIG (test/helpers/tmp-setup.ts,
 * where create wrote the machine's context): the engine's version through `--context NAME`.
 * Asynchronous: the engine stand-in answers from this very process.
 */
const dockerVersionVia = async (context: string): Promise<string> => {
  const { DOCKER_HOST: _h, DOCKER_CONTEXT: _c, ...env } = process.env
  return (await promisify(execFile)('docker', ['--context', context, 'version', '--format', '{{.Server.Version}}'], { env, encoding: 'utf8', timeout: 30_000 })).stdout
}
const contextDir = (name: string, kind: 'meta' | 'tls'): string => join(process.env.DOCKER_CONFIG!, 'contexts', kind, createHash('sha256').update(name).digest('hex'))

const keyBody = (pem: string): string[] => pem.split('\n').filter((l) => l && !l.startsWith('-----'))

describe('machine create -d generic, end to end on a chroot host', () => {
  let store: string
  let host: ChrootHost
  let host2: ChrootHost | undefined
  let engine: FakeEngine | undefined
  let engine2: FakeEngine | undefined
  let enginePort: number
  let keyDir: string

  beforeAll(async () => {
    ensureBuilt()
    store = await tempStore()
    keyDir = await tempDir('machine-generic-keys-')
    host = await startChrootHost()
    enginePort = await freePort()
  }, 300_000)

  afterAll(async () => {
    await engine?.stop()
    await engine2?.stop()
    await host?.stop()
    await host2?.stop()
  })

  const createArgs = (name: string, h: { port: number; userKeyPath: string }, port: number, extra: string[] = []) => [
    'create', '-d', 'generic',
    '--generic-ip-address', '127.0.0.1',
    '--generic-ssh-port', String(h.port),
    '--generic-ssh-user', 'root',
    '--generic-ssh-key', h.userKeyPath,
    '--generic-engine-port', String(port),
    ...extra,
    name,
  ]

  it('creates g1: provisions the host over SSH and waits for the engine over TLS', async () => {
    const { r, engine: e } = await createWithEngine(createArgs('g1', host, enginePort), store, host, enginePort)
    engine = e
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    for (const step of ['Running pre-create checks...', 'Creating machine...', 'Waiting for SSH to be available...', 'Copying certificates...', 'Provisioning the Docker engine...', 'Checking connection to Docker...', 'Docker is up and running!']) {
      expect(lines).toContain(step)
    }
    expect(lines.at(-1)).toMatch(/^To point your Docker client at it, run: eval "\$\(.*env g1\)"$/)

    const dir = join(store, 'machines', 'g1')
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))
    expect(cfg.DriverName).toBe('generic')
    expect(cfg.Driver).toMatchObject({ IPAddress: '127.0.0.1', SSHUser: 'root', SSHPort: host.port, EnginePort: enginePort, SSHKey: host.userKeyPath, SSHKeyPath: join(dir, 'id_user') })
    expect(cfg.HostOptions.AuthOptions).toMatchObject({ CaCertRemotePath: '/etc/docker/ca.pem', ServerCertRemotePath: '/etc/docker/server.pem', ServerKeyRemotePath: '/etc/docker/server-key.pem' })
    expect((await stat(join(dir, 'id_user'))).mode & 0o777).toBe(0o600)
    expect(await readFile(join(dir, 'id_user'), 'utf8')).toBe(await readFile(host.userKeyPath, 'utf8'))

    // What landed on the host is exactly the store's CA and this machine's server certificate.
    expect(await host.read('/etc/docker/ca.pem')).toBe(await readFile(join(store, 'certs', 'ca.pem'), 'utf8'))
    expect(await host.read('/etc/docker/server.pem')).toBe(await readFile(join(dir, 'server.pem'), 'utf8'))
    expect(await host.read('/etc/docker/server-key.pem')).toBe(await readFile(join(dir, 'server-key.pem'), 'utf8'))
    expect((await stat(host.path('/etc/docker/server-key.pem'))).mode & 0o777).toBe(0o600)
    expect(await host.read('/etc/systemd/system/docker.service.d/10-machine.conf')).toContain(
      `ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:${enginePort} -H unix:///var/run/docker.sock --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label provider=generic\n`,
    )
    expect(await host.read('/etc/hostname')).toBe('g1\n')
    expect(host.calls().filter((c) => c === 'systemctl restart docker')).toHaveLength(1)
    // The engine was asked with the machine's client certificate.
    expect(engine?.requests().some((q) => q.startsWith('GET /_ping '))).toBe(true)
    // The server key went over SFTP, never on a command line.
    for (const c of host.commands()) for (const l of keyBody(await host.read('/etc/docker/server-key.pem'))) expect(c).not.toContain(l)
  }, 180_000)

  it('ls shows g1 Running with the engine version', async () => {
    const r = await runCli(['ls'], { store })
    expect(r.code).toBe(0)
    const rows = r.stdout.split('\n')
    expect(rows[0]).toMatch(/^NAME\s+ACTIVE\s+DRIVER\s+STATE\s+URL\s+SWARM\s+DOCKER\s+ERRORS$/)
    expect(rows[1]).toMatch(new RegExp(`^g1\\s+-\\s+generic\\s+Running\\s+tcp://127\\.0\\.0\\.1:${enginePort}\\s+v28\\.2\\.2\\s*$`))
    const f = await runCli(['ls', '--format', '{{.Name}} {{.State}} {{.URL}} {{.DockerVersion}} {{.Error}}'], { store })
    expect(f.stdout).toBe(`g1 Running tcp://127.0.0.1:${enginePort} v28.2.2 \n`)
    expect(engine?.requests().some((q) => /^GET (\/v1\.\d+)?\/version /.test(q))).toBe(true)
  })

  it('env g1 points a docker client at the engine, and those files really authenticate', async () => {
    const r = await runCli(['env', 'g1'], { store, env: { SHELL: '/bin/bash' } })
    expect(r.code).toBe(0)
    const dir = join(store, 'machines', 'g1')
    expect(r.stdout.split('\n').slice(0, 4)).toEqual([
      'export DOCKER_TLS_VERIFY="1"',
      `export DOCKER_HOST="tcp://127.0.0.1:${enginePort}"`,
      `export DOCKER_CERT_PATH="${dir}"`,
      'export DOCKER_MACHINE_NAME="g1"',
    ])
    // What a docker client does with DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem, verify the server.
    const [ca, cert, key] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(join(dir, f))))
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: enginePort, path: '/v1.47/version', ca, cert, key }, (res) => {
        let b = ''
        res.on('data', (d) => (b += d))
        res.on('end', () => resolve(b))
      })
      req.on('error', reject)
      req.end()
    })
    expect(JSON.parse(body)).toMatchObject({ Version: '28.2.2', Os: 'linux' })
  })

  it('inspect g1 shows the config with the pinned host key beside it, and no secret', async () => {
    const r = await runCli(['inspect', 'g1'], { store })
    expect(r.code).toBe(0)
    const cfg = JSON.parse(r.stdout)
    const dir = join(store, 'machines', 'g1')
    expect(cfg.Driver.SSHKeyPath).toBe(join(dir, 'id_user'))
    const [type, b64] = host.hostKeyPub.split(' ')
    expect(await readFile(join(dir, 'known_hosts'), 'utf8')).toBe(`[127.0.0.1]:${host.port} ${type} ${b64}\n`)
    expect((await stat(join(dir, 'known_hosts'))).mode & 0o777).toBe(0o600)
    expect(r.stdout).not.toMatch(/PRIVATE KEY/)
    for (const secret of ['server-key.pem', 'key.pem', 'id_user']) {
      for (const l of keyBody(await readFile(join(dir, secret), 'utf8'))) expect(r.stdout).not.toContain(l)
    }
    for (const l of keyBody(await readFile(join(store, 'certs', 'ca-key.pem'), 'utf8'))) expect(r.stdout).not.toContain(l)
  })

  it('ssh g1 runs commands on the host with their exit code', async () => {
    const hi = await runCli(['ssh', 'g1', '--', 'echo', 'hi'], { store })
    expect(hi).toMatchObject({ code: 0, stdout: 'hi\n', stderr: '' })
    // Like ssh(1), the words after -- are joined into one remote command line.
    const seven = await runCli(['ssh', 'g1', '--', 'sh', '-c', "'exit 7'"], { store })
    expect(seven.code).toBe(7)
    expect(seven.stderr).toBe('')
    expect((await runCli(['ssh', 'g1', '--', 'exit', '7'], { store })).code).toBe(7)
    expect((await runCli(['ssh', 'g1', '--', 'cat', '/etc/hostname'], { store })).stdout).toBe('g1\n')
  })

  /** `restart g1`, playing the host: once the reboot is asked for, SSH goes away for 2 s and comes back. */
  async function restartG1(): Promise<{ r: CliResult; started: number; backAt: number }> {
    const before = host.calls().length
    const started = Date.now()
    let finished = false
    const cli = runCli(['restart', 'g1'], { store, env: { MACHINE_POLL_INTERVAL_MS: '200' } }).finally(() => {
      finished = true
    })
    let backAt = 0
    while (!finished) {
      if (host.calls().slice(before).includes('shutdown -r now')) {
        await host.restart({ downMs: 2_000 })
        backAt = Date.now()
        break
      }
      await sleep(50)
    }
    return { r: await cli, started, backAt }
  }

  it('restart g1 reboots the host over SSH and returns only once it is back', async () => {
    const { r, started, backAt } = await restartG1()
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Restarting "g1"...')
    expect(r.stdout).toContain('Machine "g1" was restarted.')
    // Same address, same port: no new certificates, and no word about a new address.
    expect(r.stdout).not.toMatch(/new IP|address of "g1" changed|regenerating|env g1\)" again/)
    expect(backAt).toBeGreaterThan(0)
    expect(started + r.ms).toBeGreaterThanOrEqual(backAt)
    expect((await runCli(['ssh', 'g1', '--', 'echo', 'back'], { store })).stdout).toBe('back\n')
  }, 120_000)

  it('restart g1 after its engine URL changed (as when a local VM\'s port is taken) says to run eval again, with the certificates kept', async () => {
    // The URL recorded before the restart points at another port of the same address.
    const cfgPath = join(store, 'machines', 'g1', 'config.json')
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'))
    const url = cfg.Driver.EngineURL as string
    expect(url).toBe(`tcp://127.0.0.1:${enginePort}`)
    cfg.Driver.EngineURL = 'tcp://127.0.0.1:1'
    await writeFile(cfgPath, JSON.stringify(cfg, null, 2))
    const server = await readFile(join(store, 'machines', 'g1', 'server.pem'), 'utf8')
    // The docker context create made follows the URL too (here: one left at the old port).
    const metaPath = join(contextDir('g1', 'meta'), 'meta.json')
    const meta = JSON.parse(await readFile(metaPath, 'utf8'))
    expect(meta.Endpoints.docker.Host).toBe(url)
    await writeFile(metaPath, JSON.stringify({ ...meta, Endpoints: { docker: { Host: 'tcp://127.0.0.1:1', SkipTLSVerify: false } } }))
    const { r } = await restartG1()
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Machine "g1" was restarted.')
    expect(r.stdout).toMatch(/^The address of "g1" changed: run eval "\$\(.*env g1\)" again$/m)
    expect(r.stdout).not.toContain('regenerating')
    expect(await readFile(join(store, 'machines', 'g1', 'server.pem'), 'utf8')).toBe(server)
    expect(JSON.parse(await readFile(cfgPath, 'utf8')).Driver.EngineURL).toBe(url)
    expect(r.stdout).toContain('Updated the docker context "g1"\n')
    expect(JSON.parse(await readFile(metaPath, 'utf8'))).toEqual(meta)
    expect(await dockerVersionVia('g1')).toBe('28.2.2\n')
  }, 120_000)

  it('restart g1 reports a reboot the host refused instead of pretending', async () => {
    await writeFile(host.path('/var/lib/fake-systemd/shutdown.fail'), '')
    try {
      const r = await runCli(['restart', 'g1'], { store })
      expect(r.code).not.toBe(0)
      expect(r.stderr).toBe('Error: g1: `shutdown -r now` on "g1" exited with code 1: Failed to connect to bus: No such file or directory\n')
    } finally {
      await rm(host.path('/var/lib/fake-systemd/shutdown.fail'))
    }
  })

  it('provision g1 again changes nothing on the host', async () => {
    const calls = host.calls().length
    const state = await stat(host.path('/etc/systemd/system/docker.service.d/10-machine.conf'))
    const r = await runCli(['provision', 'g1'], { store })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('g1: already up to date, nothing changed\n')
    // Only read-only queries (is-active / is-enabled): no hostname, no reload, no restart.
    const changing = host.calls().slice(calls).filter((c) => !/^systemctl is-(active|enabled) docker$/.test(c))
    expect(changing).toEqual([])
    expect(host.calls().slice(calls)).toContain('systemctl is-active docker')
    expect((await stat(host.path('/etc/systemd/system/docker.service.d/10-machine.conf'))).mtimeMs).toBe(state.mtimeMs)
  })

  describe('upgrade g1: the engine packages the host has, to what its package sources offer', () => {
    const setPkgs = async (dir: 'fake-dpkg' | 'fake-apt', pkgs: Record<string, string>) => {
      for (const [name, version] of Object.entries(pkgs)) await writeFile(host.path(`/var/lib/${dir}/${name}`), `${version}\n`)
    }
    const clearPkgs = async () => {
      for (const dir of ['fake-dpkg', 'fake-apt']) {
        await rm(host.path(`/var/lib/${dir}`), { recursive: true, force: true })
        await mkdir(host.path(`/var/lib/${dir}`))
      }
    }
    const restarts = () => host.calls().filter((c) => c === 'systemctl restart docker').length

    beforeAll(async () => {
      // Debian's packages as installed, and an engine that reports the version that runs: the
      // stub systemctl's restart "runs" the installed package's version.
      await clearPkgs()
      await setPkgs('fake-dpkg', { 'docker.io': '20.10.24+dfsg1-1+deb12u1', containerd: '1.6.20~ds1-1+b1', runc: '1.1.5+ds1-1+deb12u1' })
      await writeFile(host.path('/var/lib/fake-docker/running-version'), '20.10.24+dfsg1\n')
      await engine?.stop()
      engine = await startFakeEngine({
        caCert: await host.read('/etc/docker/ca.pem'),
        serverCert: await host.read('/etc/docker/server.pem'),
        serverKey: await host.read('/etc/docker/server-key.pem'),
        port: enginePort,
        version: () => readFileSync(host.path('/var/lib/fake-docker/running-version'), 'utf8').trim(),
      })
    })

    it('upgrades what is newer, restarts the engine once, and reports the engine version before and after', async () => {
      await setPkgs('fake-apt', { 'docker.io': '26.1.5+dfsg1-9+deb13u1', containerd: '1.6.20~ds1-1+b1' })
      const calls = host.calls().length
      const before = restarts()
      const dropIn = await host.read('/etc/systemd/system/docker.service.d/10-machine.conf')
      const r = await runCli(['upgrade', 'g1'], { store })
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const lines = r.stdout.trim().split('\n')
      expect(lines[0]).toBe('Upgrading Docker on "g1" (now 20.10.24+dfsg1)...')
      expect(lines).toContain('g1: Docker 20.10.24+dfsg1 → 26.1.5+dfsg1')
      expect(lines).toContain('  docker.io 20.10.24+dfsg1-1+deb12u1 → 26.1.5+dfsg1-9+deb13u1')
      // Only packages that changed are listed; only installed ones were asked for, never docker-ce.
      expect(lines.filter((l) => l.startsWith('  '))).toHaveLength(1)
      const apt = host.calls().slice(calls).filter((c) => c.startsWith('apt-get'))
      expect(apt[0]).toBe('apt-get update -qq')
      expect(apt[1]).toMatch(/^apt-get install -y -qq --only-upgrade .*--force-confold (\S+ ?)+$/)
      expect(apt[1]!.split('--force-confold ')[1]!.split(' ').sort()).toEqual(['containerd', 'docker.io', 'runc'])
      expect(restarts()).toBe(before + 1)
      expect(await host.read('/var/lib/fake-dpkg/docker.io')).toBe('26.1.5+dfsg1-9+deb13u1\n')
      // The TLS set-up is untouched, and ls sees the new engine over it.
      expect(await host.read('/etc/systemd/system/docker.service.d/10-machine.conf')).toBe(dropIn)
      expect((await runCli(['ls', '--format', '{{.Name}} {{.DockerVersion}}'], { store })).stdout).toContain('g1 v26.1.5+dfsg1\n')
    })

    it('again: nothing newer, so nothing is restarted, and --json says what it found', async () => {
      const before = restarts()
      const r = await runCli(['upgrade', 'g1'], { store })
      expect(r.code).toBe(0)
      expect(r.stdout).toContain('g1: Docker 26.1.5+dfsg1 is already the newest version the host\'s package sources offer\n')
      expect(restarts()).toBe(before)
      const j = await runCli(['upgrade', 'g1', '--json'], { store })
      expect(j.code).toBe(0)
      const env = JSON.parse(j.stdout)
      expect(env).toMatchObject({ ok: true, command: 'upgrade', data: [{ name: 'g1', engineBefore: '26.1.5+dfsg1', engineAfter: '26.1.5+dfsg1', restarted: false }] })
      expect(env.data[0].packages).toContainEqual({ name: 'docker.io', from: '26.1.5+dfsg1-9+deb13u1', to: '26.1.5+dfsg1-9+deb13u1' })
    })

    it('an apt-get failure is one line with apt\'s reason; the engine is not restarted', async () => {
      await writeFile(host.path('/var/lib/fake-apt/fail'), 'Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)')
      const before = restarts()
      try {
        const f = await expectCleanFailure(['upgrade', 'g1'], store)
        expect(f.line).toBe('Error: g1: apt-get could not upgrade Docker on "g1": E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get): see the full output with --debug, or run "machine ssh g1 -- sudo apt-get update"')
        expect(f.code).toBe('upgrade-failed')
      } finally {
        await rm(host.path('/var/lib/fake-apt/fail'))
      }
      expect(restarts()).toBe(before)
    })

    it('docker-engine (Docker ≤ 1.13) and unpackaged engines are refused with the way out, before apt-get runs', async () => {
      await clearPkgs()
      await setPkgs('fake-dpkg', { 'docker-engine': '1.13.1-0~debian-stretch' })
      const calls = host.calls().length
      const legacy = await expectCleanFailure(['upgrade', 'g1'], store)
      expect(legacy.line).toMatch(/^Error: g1: "g1" runs docker-engine 1\.13\.1-0~debian-stretch \(Docker ≤ 1\.13\), which has no upgrade path: remove it \("machine ssh g1 -- sudo apt-get purge -y docker-engine"\), then run "machine provision g1" to install a current engine$/)
      await clearPkgs()
      const none = await expectCleanFailure(['upgrade', 'g1'], store)
      expect(none.line).toMatch(/^Error: g1: Docker on "g1" was not installed from a Debian package \(neither docker-ce nor docker\.io is installed\): upgrade it the way it was installed/)
      expect(host.calls().slice(calls).filter((c) => c.startsWith('apt-get'))).toEqual([])
      await setPkgs('fake-dpkg', { 'docker.io': '26.1.5+dfsg1-9+deb13u1' })
    })
  })

  describe('bad inputs fail with one line, a JSON error, and the store untouched', () => {
    it('an unreachable SSH port fails fast in the pre-create check', async () => {
      const closed = await freePort()
      const f = await expectCleanFailure(createArgs('bad', { port: closed, userKeyPath: host.userKeyPath }, enginePort), store, { env: { MACHINE_GENERIC_SSH_WAIT_MS: '1500' } })
      expect(f.code).toBe('ssh-unreachable')
      expect(f.exit).toBe(3)
      expect(f.line).toMatch(new RegExp(`^Error: Pre-create check failed: SSH on 127\\.0\\.0\\.1:${closed} is not reachable after \\d+ attempts in [0-9.]+s: connect ECONNREFUSED 127\\.0\\.0\\.1:${closed}: check that the host is running`))
      expect(f.ms).toBeLessThan(15_000)
    })

    it('a key the host does not accept: SSH authentication refused, the host untouched', async () => {
      const wrong = await makeKey(join(keyDir, 'wrong_key'))
      const cmds = host.commands().length
      const f = await expectCleanFailure(createArgs('bad', { port: host.port, userKeyPath: wrong }, enginePort), store)
      expect(f.code).toBe('ssh-auth-failed')
      expect(f.line).toMatch(new RegExp(`^Error: SSH authentication as root@127\\.0\\.0\\.1:${host.port} with key \\S+/wrong_key was refused: check that the public half`))
      expect(host.commands().length).toBe(cmds)
    })

    it('--generic-ssh-host-key-fingerprint that the host does not match is refused before login', async () => {
      const other = await makeKey(join(keyDir, 'other_host_key'))
      const [, b64] = (await readFile(`${other}.pub`, 'utf8')).split(' ')
      const wrongFp = fingerprintOf(Buffer.from(b64!, 'base64'))
      const cmds = host.commands().length
      const f = await expectCleanFailure(createArgs('bad', host, enginePort, ['--generic-ssh-host-key-fingerprint', wrongFp]), store)
      expect(f.code).toBe('host-key-changed')
      expect(f.line).toContain(`host key for 127.0.0.1:${host.port} does not match the expected fingerprint: expected ${wrongFp}, presented ${fingerprintOf(Buffer.from(host.hostKeyPub.split(' ')[1]!, 'base64'))}`)
      expect(host.commands().length).toBe(cmds)
    })

    it('a malformed fingerprint is rejected before anything is tried', async () => {
      const f = await expectCleanFailure(createArgs('bad', host, enginePort, ['--generic-ssh-host-key-fingerprint', 'SHA256:abc']), store)
      expect(f.code).toBe('invalid-option')
      expect(f.line).toBe('Error: --generic-ssh-host-key-fingerprint: must look like SHA256:<43 base64 characters> (see ssh-keygen -lf)')
    })

    it('a missing --generic-ip-address', async () => {
      const args = createArgs('bad', host, enginePort).filter((a, i, all) => a !== '--generic-ip-address' && all[i - 1] !== '--generic-ip-address')
      const f = await expectCleanFailure(args, store)
      expect(f.code).toBe('missing-option')
      expect(f.line).toBe('Error: --generic-ip-address is required for the generic driver: pass --generic-ip-address <value> (or set GENERIC_IP_ADDRESS)')
    })

    it('a host whose key changed after creation is refused, and its pin is kept', async () => {
      host2 = await startChrootHost()
      const port2 = await freePort()
      const fp = fingerprintOf(Buffer.from(host2.hostKeyPub.split(' ')[1]!, 'base64'))
      const created = await createWithEngine(createArgs('g2', host2, port2, ['--generic-ssh-host-key-fingerprint', fp]), store, host2, port2)
      engine2 = created.engine
      expect(created.r.stderr).toBe('')
      expect(created.r.code).toBe(0)
      const pin = await readFile(join(store, 'machines', 'g2', 'known_hosts'), 'utf8')
      expect(pin).toBe(`[127.0.0.1]:${host2.port} ${host2.hostKeyPub.split(' ').slice(0, 2).join(' ')}\n`)

      const oldFp = fp
      await host2.restart({ newHostKey: true })
      const newFp = fingerprintOf(Buffer.from(host2.hostKeyPub.split(' ')[1]!, 'base64'))
      expect(newFp).not.toBe(oldFp)
      const cmds = host2.commands().length
      const f = await expectCleanFailure(['provision', 'g2'], store)
      expect(f.code).toBe('host-key-changed')
      expect(f.line).toContain(`host key for 127.0.0.1:${host2.port} has changed: expected ${oldFp}, presented ${newFp} (ssh-ed25519)`)
      expect(await readFile(join(store, 'machines', 'g2', 'known_hosts'), 'utf8')).toBe(pin)
      // regenerate-certs does not get past the pin either (and so makes no new certificate).
      const regen = await expectCleanFailure(['regenerate-certs', '-f', 'g2'], store)
      expect(regen.code).toBe('host-key-changed')
      // ssh is refused the same way, and nothing ran on the host.
      const s = await runCli(['ssh', 'g2', '--', 'echo', 'hi'], { store })
      expect(s.code).not.toBe(0)
      expect(s.stdout).toBe('')
      expect(s.stderr).toMatch(/^Error: host key for 127\.0\.0\.1:\d+ has changed/)
      expect(host2.commands().length).toBe(cmds)
    }, 180_000)
  })

  it('regenerate-certs --client-certs g1 puts the new client certificate in its docker context', async () => {
    const tls = join(contextDir('g1', 'tls'), 'docker')
    const old = await readFile(join(tls, 'cert.pem'), 'utf8')
    const r = await runCli(['regenerate-certs', '-f', '--client-certs', 'g1'], { store })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Updated the docker context "g1"\n')
    const cert = await readFile(join(store, 'machines', 'g1', 'cert.pem'), 'utf8')
    expect(cert).not.toBe(old)
    expect(await readFile(join(tls, 'cert.pem'), 'utf8')).toBe(cert)
    expect(await readFile(join(tls, 'key.pem'), 'utf8')).toBe(await readFile(join(store, 'machines', 'g1', 'key.pem'), 'utf8'))
    expect(await dockerVersionVia('g1')).toMatch(/^\d+\.\d+/)
    // Nothing changed since: provision leaves the context as it is, and says nothing of it.
    expect((await runCli(['provision', 'g1'], { store })).stdout).not.toContain('docker context')
  }, 180_000)

  it('rm -y g1 forgets the machine and leaves the host as it is', async () => {
    const calls = host.calls().length
    const r = await runCli(['rm', '-y', 'g1'], { store })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Successfully removed g1')
    expect(existsSync(join(store, 'machines', 'g1'))).toBe(false)
    expect((await runCli(['ls', '-q'], { store })).stdout.split('\n')).not.toContain('g1')
    expect(host.calls().length).toBe(calls)
    expect(existsSync(host.path('/etc/docker/server.pem'))).toBe(true)
    // Nothing of g1 is left anywhere in the store, nor its docker context.
    expect(Object.keys(await snapshot(store)).filter((p) => p.includes('g1'))).toEqual([])
    expect(existsSync(contextDir('g1', 'meta'))).toBe(false)
    expect(existsSync(contextDir('g1', 'tls'))).toBe(false)
  })
})
