/**
 * The proof that the product works: through the built `machine` binary only, a real QEMU VM is
 * created and provisioned over SSH with a TLS engine, and the host's real `docker` client drives
 * it through `machine env`. Then the same VM is provisioned again with the generic driver.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, startCli, tempStore } from '../helpers/cli.js'
import { launchChromium } from '../helpers/chromium.mjs'
import { freePort } from '../helpers/sshd.js'
import { qemuFlags, testImage } from './image.js'
import { liveProcessesNaming } from '../helpers/processes.js'
import { busyboxRootfsTar, dockerWith, parseEnv, pemDer, servedCertificate } from './docker-client.js'

const MIN = 60_000
let store: string
let work: string
let dockerEnv: NodeJS.ProcessEnv = {}
let extraPort = 0

const docker = (args: string[], input?: string | Buffer) => dockerWith(dockerEnv, args, input)

const qemuPids = (name: string) => liveProcessesNaming(`machines/${name}/`)

describe('end to end: qemu VM + TLS engine + real docker client', () => {
  beforeAll(async () => {
    store = await tempStore()
    work = await mkdtemp(join(tmpdir(), 'machine-e2e-'))
    extraPort = await freePort()
  }, 30 * MIN)

  afterAll(async () => {
    // Never leave a VM behind, whatever failed.
    await runCli(['rm', '-f', '-y', 'e2e1', 'g1'], { store }).catch(() => undefined)
    await rm(work, { recursive: true, force: true })
  }, 5 * MIN)

  it('creates the VM, provisions it with TLS and prints the next step', async () => {
    const img = testImage()
    // An extra forward host:P → guest:P lets the generic driver below run its engine on P.
    const r = await runCli(['create', ...qemuFlags(img), '--qemu-port', `${extraPort}:${extraPort}`, '--engine-label', 'tier=e2e', 'e2e1'], { store, timeoutMs: 20 * MIN })
    if (r.code !== 0) console.error(r.stdout, r.stderr, existsSync(join(store, 'machines/e2e1/console.log')) ? await readFile(join(store, 'machines/e2e1/console.log'), 'utf8') : '')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Docker is up and running!')
    expect(r.stdout).toContain('env e2e1')
    const ls = await runCli(['ls'], { store })
    expect(ls.stdout).toMatch(/\ne2e1\s+-\s+qemu\s+Running\s+tcp:\/\/127\.0\.0\.1:\d+\s+v\d+\.\d+/)
  }, 25 * MIN)

  it('docker version and docker info work over TLS through `machine env`', async () => {
    const env = await runCli(['env', 'e2e1'], { store, env: { SHELL: '/bin/bash' } })
    expect(env.code).toBe(0)
    dockerEnv = parseEnv(env.stdout)
    expect(dockerEnv.DOCKER_HOST).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    expect(dockerEnv.DOCKER_TLS_VERIFY).toBe('1')
    const v = docker(['version', '--format', '{{.Server.Version}}'])
    expect(v.err).toBe('')
    expect(v.out.trim()).toMatch(/^\d+\.\d+\.\d+/)
    const info = docker(['info', '--format', '{{.Name}} {{json .Labels}}'])
    expect(info.code).toBe(0)
    expect(info.out).toContain('e2e1')
    expect(info.out).toContain('tier=e2e')
    expect(info.out).toContain('provider=qemu')
    // Without the client certificate the engine refuses.
    const noCert = spawnSync('docker', ['version'], { env: { ...process.env, DOCKER_HOST: dockerEnv.DOCKER_HOST, DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' }, encoding: 'utf8', timeout: MIN })
    expect(noCert.status).not.toBe(0)
  }, 5 * MIN)

  it('the first boot started the engine once, with the machine\'s own server certificate, and held cloud-init\'s config stage until it had started, which then left sshd running', async () => {
    // The engine's TLS files came in the seed (the engine bootstrap): provisioning found them as
    // it wanted them and neither rewrote them nor restarted the engine.
    expect(await servedCertificate(dockerEnv)).toEqual(pemDer(await readFile(join(store, 'machines/e2e1/server.pem'), 'utf8')))
    const sh = async (cmd: string) => {
      const r = await runCli(['ssh', 'e2e1', '--', cmd], { store })
      expect(r.code, r.stderr).toBe(0)
      return r.stdout.trim()
    }
    expect(await sh("sudo journalctl -b -u docker.service -o cat | grep -c '^Starting docker.service'")).toBe('1')
    // dockerd, started before containerd was ready (guest-engine-start.ts), uses the system's
    // containerd through its socket and did not start one of its own.
    expect(await sh('ps -C containerd -o args=')).toBe('/usr/bin/containerd')
    expect(await sh('ps -C dockerd -o args=')).toContain(' --containerd=/run/containerd/containerd.sock ')
    // guest-engine-start.ts: cloud-config.service started after docker.service had (monotonic µs).
    const mono = async (unit: string, prop: string) => Number((await sh(`systemctl show ${unit} -p ${prop} --value`)) || NaN)
    const engineUp = await mono('docker.service', 'ActiveEnterTimestampMonotonic')
    const configStarted = await mono('cloud-config.service', 'InactiveExitTimestampMonotonic')
    expect(engineUp).toBeGreaterThan(0)
    expect(configStarted).toBeGreaterThanOrEqual(engineUp)
    // That stage, now after create returned, found SSH's password setting already written
    // (sshPasswordOffBootcmd) and did not restart sshd: one start in this boot, once cloud-init is done.
    await sh('sudo cloud-init status --wait >/dev/null')
    expect(await sh("sudo journalctl -b -u ssh.service -o cat | grep -c '^Starting ssh.service'")).toBe('1')
    expect(await sh('sudo sshd -T | grep -i "^passwordauthentication"')).toBe('passwordauthentication no')
  }, 5 * MIN)

  it('imports a tiny image and runs a container on the VM', async () => {
    const tar = await busyboxRootfsTar('/bin/busybox', work)
    const imp = spawnSync('docker', ['import', '-', 'machine-e2e/busybox:1'], { env: { ...process.env, ...dockerEnv }, input: tar, timeout: 5 * MIN })
    expect(imp.status).toBe(0)
    const run = docker(['run', '--rm', 'machine-e2e/busybox:1', '/bin/busybox', 'echo', 'hello from e2e1'])
    expect(run.err).toBe('')
    expect(run.out).toBe('hello from e2e1\n')
  }, 10 * MIN)

  it('machine dashboard shows the VM Running with its engine version, its container, and the container\'s logs', async () => {
    // A container that stays (the ones above are --rm), writing a line the page must show.
    const started = docker(['run', '-d', '--name', 'e2e-dash', 'machine-e2e/busybox:1', '/bin/busybox', 'sh', '-c', 'echo dashboard-ready; exec /bin/busybox sleep 3600'])
    expect(started.code, started.err).toBe(0)
    const version = docker(['version', '--format', '{{.Server.Version}}']).out.trim()
    const dash = startCli(['dashboard', '--no-open'], { store, env: { CI: 'true' } })
    const browser = await launchChromium()
    try {
      await dash.until(() => /Dashboard: http\S+/.test(dash.stdout()), 'its URL line')
      const url = /Dashboard: (http\S+)/.exec(dash.stdout())![1]!
      const page = await browser.newPage()
      await page.goto(url)
      const row = page.locator('#machines tr[data-machine="e2e1"]')
      await row.locator('td[data-field="engine"]', { hasText: `v${version}` }).waitFor({ timeout: MIN })
      expect(await row.locator('td[data-field="state"]').textContent()).toBe('Running')
      expect(await row.locator('td[data-field="driver"]').textContent()).toBe('qemu')
      await row.locator('a').click()
      const c = page.locator('#containers tr[data-container="e2e-dash"]')
      await c.waitFor({ timeout: MIN })
      expect(await c.locator('td').first().textContent()).toBe('machine-e2e/busybox:1')
      expect(await c.locator('td[data-field="state"]').textContent()).toBe('running')
      await c.getByRole('button', { name: 'Logs of e2e-dash' }).click()
      await page.locator('#logs', { hasText: 'dashboard-ready' }).waitFor({ timeout: MIN })
    } finally {
      await browser.close()
      dash.proc.kill('SIGINT')
      await dash.exit
      docker(['rm', '-f', 'e2e-dash'])
    }
  }, 5 * MIN)

  it('machine ssh runs commands and returns their exit code', async () => {
    const u = await runCli(['ssh', 'e2e1', '--', 'uname', '-a'], { store })
    expect(u.code).toBe(0)
    expect(u.stdout).toMatch(/^Linux e2e1 /)
    const fail = await runCli(['ssh', 'e2e1', '--', 'exit 3'], { store })
    expect(fail.code).toBe(3)
  }, 5 * MIN)

  it('machine scp copies a file both ways', async () => {
    const src = join(work, 'hello.txt')
    await writeFile(src, 'round trip\n')
    expect((await runCli(['scp', src, 'e2e1:/tmp/hello.txt'], { store })).code).toBe(0)
    const back = join(work, 'back.txt')
    expect((await runCli(['scp', 'e2e1:/tmp/hello.txt', back], { store })).code).toBe(0)
    expect(await readFile(back, 'utf8')).toBe('round trip\n')
  }, 5 * MIN)

  it('machine mount shows a directory of the VM locally, and -u unmounts it', async () => {
    const mp = join(work, 'vm-etc')
    const r = await runCli(['mount', 'e2e1:/etc', mp], { store })
    expect(r.code, r.stderr).toBe(0)
    try {
      expect(await readFile(join(mp, 'hostname'), 'utf8')).toBe('e2e1\n')
    } finally {
      expect((await runCli(['mount', '-u', mp], { store })).code).toBe(0)
    }
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(mp)
  }, 5 * MIN)

  it('stop → Stopped, start → Running, and docker works again', async () => {
    const stop = await runCli(['stop', 'e2e1'], { store, timeoutMs: 10 * MIN })
    expect(stop.code).toBe(0)
    expect((await runCli(['status', 'e2e1'], { store })).stdout).toBe('Stopped\n')
    const start = await runCli(['start', 'e2e1'], { store, timeoutMs: 15 * MIN })
    expect(start.code).toBe(0)
    expect((await runCli(['status', 'e2e1'], { store })).stdout).toBe('Running\n')
    dockerEnv = parseEnv((await runCli(['env', 'e2e1'], { store, env: { SHELL: '/bin/bash' } })).stdout)
    expect(docker(['run', '--rm', 'machine-e2e/busybox:1', '/bin/busybox', 'echo', 'back']).out).toBe('back\n')
  }, 30 * MIN)

  it('stop --save → Saved; start resumes it: the same boot, a container started before still runs, docker works, the clock is within 1 s', async () => {
    const ssh = async (cmd: string) => {
      const r = await runCli(['ssh', 'e2e1', '--', cmd], { store })
      expect(r.code, r.stderr).toBe(0)
      return r.stdout.trim()
    }
    const survivor = docker(['run', '-d', '--name', 'survivor', 'machine-e2e/busybox:1', '/bin/busybox', 'sleep', '100000'])
    expect(survivor.code, survivor.err).toBe(0)
    const startedAt = docker(['inspect', '-f', '{{.State.StartedAt}}', 'survivor']).out.trim()
    const bootId = await ssh('cat /proc/sys/kernel/random/boot_id')
    // The shorter power-off (guest-poweroff.ts) is in place: systemd read the drop-in at the first boot.
    expect(await ssh('systemctl show networking.service -p ExecStop')).toContain('is-system-running')

    const stop = await runCli(['stop', '--save', 'e2e1'], { store, timeoutMs: 10 * MIN })
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toContain('Machine "e2e1" was saved.')
    expect((await runCli(['status', 'e2e1'], { store })).stdout).toBe('Saved\n')
    expect((await runCli(['ls', '--filter', 'state=Saved', '-q'], { store })).stdout).toBe('e2e1\n')
    // Its QEMU quit (QEMU's own process name: an sshfs left from the mount test names the machine directory too).
    expect(liveProcessesNaming('process=qemu-machine-e2e1')).toEqual([])
    expect(existsSync(join(store, 'machines/e2e1/vm-state.bin'))).toBe(true)
    // Saved long enough that a clock left alone would be seconds behind after the resume.
    await new Promise((r) => setTimeout(r, 5000))

    const start = await runCli(['start', 'e2e1'], { store, timeoutMs: 10 * MIN })
    expect(start.code, start.stderr).toBe(0)
    expect(`${start.stdout}${start.stderr}`).not.toMatch(/cannot be resumed|could not be set/)
    expect((await runCli(['status', 'e2e1'], { store })).stdout).toBe('Running\n')
    expect(existsSync(join(store, 'machines/e2e1/vm-state.bin'))).toBe(false)
    // Resumed, not booted: the same boot, and the container never stopped.
    expect(await ssh('cat /proc/sys/kernel/random/boot_id')).toBe(bootId)
    dockerEnv = parseEnv((await runCli(['env', 'e2e1'], { store, env: { SHELL: '/bin/bash' } })).stdout)
    expect(docker(['inspect', '-f', '{{.State.Running}} {{.State.StartedAt}}', 'survivor']).out.trim()).toBe(`true ${startedAt}`)
    expect(docker(['run', '--rm', 'machine-e2e/busybox:1', '/bin/busybox', 'echo', 'resumed']).out).toBe('resumed\n')
    // The guest prints its time at the end of the round trip (the connection is set up before):
    // compared with the host's clock when the answer arrives.
    const guestNs = BigInt(await ssh('date +%s%N'))
    const hostMs = Date.now()
    expect(Math.abs(Number(guestNs / 1_000_000n) - hostMs)).toBeLessThan(1000)
    expect(docker(['rm', '-f', 'survivor']).code).toBe(0)
  }, 30 * MIN)

  it('regenerate-certs makes a new server certificate and docker still works', async () => {
    const before = await readFile(join(store, 'machines/e2e1/server.pem'), 'utf8')
    const r = await runCli(['regenerate-certs', '-f', 'e2e1'], { store, timeoutMs: 10 * MIN })
    expect(r.code).toBe(0)
    const after = await readFile(join(store, 'machines/e2e1/server.pem'), 'utf8')
    expect(after).not.toBe(before)
    expect(docker(['version', '--format', '{{.Server.Version}}']).code).toBe(0)
    expect(await servedCertificate(dockerEnv)).toEqual(pemDer(after))
  }, 15 * MIN)

  it('after regenerate-certs a reboot serves the new certificate, not the one from the seed', async () => {
    // The seed (still attached) carries the first certificate; its bootcmd runs once per instance.
    const r = await runCli(['restart', 'e2e1'], { store, timeoutMs: 20 * MIN })
    expect(r.code, r.stderr).toBe(0)
    dockerEnv = parseEnv((await runCli(['env', 'e2e1'], { store, env: { SHELL: '/bin/bash' } })).stdout)
    expect(await servedCertificate(dockerEnv)).toEqual(pemDer(await readFile(join(store, 'machines/e2e1/server.pem'), 'utf8')))
    expect(docker(['version', '--format', '{{.Server.Version}}']).code).toBe(0)
  }, 25 * MIN)

  it('provision again changes nothing', async () => {
    const r = await runCli(['provision', 'e2e1'], { store, timeoutMs: 10 * MIN })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('e2e1: already up to date, nothing changed')
  }, 15 * MIN)

  it('upgrade with nothing newer on offer: the real apt and dpkg agree, and the engine is not restarted', async () => {
    // The VM's sources point at Debian's mirror; tests send nothing beyond loopback, so they are
    // set aside: apt-get update then has nothing to fetch and docker.io is the newest there is.
    const sh = async (cmd: string) => {
      const r = await runCli(['ssh', 'e2e1', '--', cmd], { store })
      expect(r.code, r.stderr).toBe(0)
      return r.stdout.trim()
    }
    await sh('sudo mv /etc/apt/sources.list /etc/apt/sources.list.e2e-off && ! ls /etc/apt/sources.list.d/* 2>/dev/null | grep -q .')
    try {
      const since = await sh('systemctl show docker -p ActiveEnterTimestampMonotonic')
      const r = await runCli(['upgrade', 'e2e1'], { store, timeoutMs: 10 * MIN })
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/^Upgrading Docker on "e2e1" \(now 20\.10\.\d+\+dfsg1\)\.\.\.\n/)
      expect(r.stdout).toMatch(/\ne2e1: Docker 20\.10\.\d+\+dfsg1 is already the newest version the host's package sources offer\n/)
      expect(await sh('systemctl show docker -p ActiveEnterTimestampMonotonic')).toBe(since)
      expect(docker(['version', '--format', '{{.Server.Version}}']).out.trim()).toMatch(/^20\.10\./)
    } finally {
      await sh('sudo mv /etc/apt/sources.list.e2e-off /etc/apt/sources.list')
    }
  }, 15 * MIN)

  it('the generic driver provisions the same VM through its forwarded ports', async () => {
    const cfg = JSON.parse(await readFile(join(store, 'machines/e2e1/config.json'), 'utf8'))
    const fp = execFileSync('ssh-keygen', ['-lf', '-'], { input: `${cfg.Driver.SSHHostKeys[0]}\n`, encoding: 'utf8' }).split(' ')[1]!
    const r = await runCli(
      [
        'create',
        '-d',
        'generic',
        '--generic-ip-address',
        '127.0.0.1',
        '--generic-ssh-port',
        String(cfg.Driver.SSHPort),
        '--generic-ssh-user',
        cfg.Driver.SSHUser,
        '--generic-ssh-key',
        cfg.Driver.SSHKeyPath,
        '--generic-ssh-host-key-fingerprint',
        fp,
        '--generic-engine-port',
        String(extraPort),
        '--engine-install-url',
        'none',
        'g1',
      ],
      { store, timeoutMs: 15 * MIN },
    )
    if (r.code !== 0) console.error(r.stdout, r.stderr)
    expect(r.code).toBe(0)
    dockerEnv = parseEnv((await runCli(['env', 'g1'], { store, env: { SHELL: '/bin/bash' } })).stdout)
    expect(dockerEnv.DOCKER_HOST).toBe(`tcp://127.0.0.1:${extraPort}`)
    const info = docker(['info', '--format', '{{.Name}}'])
    expect(info.out.trim()).toBe('g1')
    expect((await runCli(['rm', '-y', 'g1'], { store })).code).toBe(0)
  }, 20 * MIN)

  it('rm -y leaves no process, port or file behind', async () => {
    const cfg = JSON.parse(await readFile(join(store, 'machines/e2e1/config.json'), 'utf8'))
    const r = await runCli(['rm', '-y', 'e2e1'], { store, timeoutMs: 5 * MIN })
    expect(r.code).toBe(0)
    expect(existsSync(join(store, 'machines/e2e1'))).toBe(false)
    expect(qemuPids('e2e1')).toEqual([])
    const net = await import('node:net')
    const open = (port: number) =>
      new Promise<boolean>((res) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), res(true)))
        s.on('error', () => res(false))
      })
    expect(await open(Number(cfg.Driver.SSHPort))).toBe(false)
    expect((await runCli(['ls', '-q'], { store })).stdout).toBe('')
  }, 10 * MIN)
})
