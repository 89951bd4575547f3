import { hostname as realHostname } from 'node:os'
import { existsSync } from 'node:fs'
import { readdir, stat, chmod, writeFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCA, createServerCert, type PemPair } from '../../src/certs/certs.js'
import { MachineError } from '../../src/core/errors.js'
import { defaultEngineOptions, type EngineOptions } from '../../src/core/host-config.js'
import { provisionDebian, type ProvisionInput } from '../../src/provision/provisioner.js'
import { connectSsh, type SshSession } from '../../src/ssh/index.js'
import { startChrootHost, type ChrootHost, type ChrootHostOptions } from '../helpers/chroot-host.js'

// provisionDebian over a real OpenSSH session, as root, against a chroot "host" whose
// hostname/systemctl/sudo/curl are stubs: every file it writes is checked inside the chroot.

let ca: PemPair
let server: PemPair
const machineHostname = realHostname()

beforeAll(async () => {
  ca = await createCA()
  server = await createServerCert(ca, 'g1', ['127.0.0.1', 'localhost'])
})

async function open(opts: ChrootHostOptions = {}): Promise<{ host: ChrootHost; ssh: SshSession; known: string }> {
  const host = await startChrootHost(opts)
  const known = join(host.sshd.dir, 'known_hosts')
  const ssh = await connectSsh({ host: '127.0.0.1', port: host.port, user: 'root', keyPath: host.userKeyPath, knownHostsPath: known, hostKeys: [host.hostKeyPub] })
  return { host, ssh, known }
}

const input = (over: Partial<Omit<ProvisionInput, 'engine'>> & { engine?: Partial<EngineOptions> } = {}): ProvisionInput => ({
  machineName: 'g1',
  driverName: 'generic',
  sshUser: 'root',
  enginePort: 2376,
  caCert: ca.cert,
  serverCert: server.cert,
  serverKey: server.key,
  ...over,
  engine: { ...defaultEngineOptions(), ...over.engine },
})

const EXEC_START =
  'ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label provider=generic'

/** Mode, owner and identity of a file inside the chroot: a rewrite changes ino or mtime. */
async function fileState(host: ChrootHost, inside: string): Promise<{ mode: number; uid: number; gid: number; id: string }> {
  const st = await stat(host.path(inside))
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, id: `${st.ino}:${st.mtimeMs}` }
}

const newCalls = (host: ChrootHost, before: number): string[] => host.calls().slice(before)
/** Stub calls that change something: the one-round-trip probe's read-only systemctl queries do not. */
const changingCalls = (host: ChrootHost): string[] => host.calls().filter((c) => !/^(sudo )?systemctl is-(active|enabled) docker$/.test(c))

describe('provisionDebian on a fresh Debian host (root)', () => {
  let host: ChrootHost
  let ssh: SshSession
  const steps: string[] = []

  beforeAll(async () => {
    ;({ host, ssh } = await open({ hosts: '127.0.0.1\tlocalhost\n127.0.1.1\ttesthost\n::1\tlocalhost ip6-localhost\n' }))
  })
  afterAll(async () => {
    ssh?.close()
    await host?.stop()
  })

  it('the test host is really the chroot: the fake os-release, and the real hostname is untouched by the stub', async () => {
    expect(await ssh.run('cat /etc/os-release')).toBe(await host.read('/etc/os-release'))
    expect(await ssh.run('cat /etc/os-release')).toContain('VERSION_CODENAME=bookworm')
    expect((await ssh.run('ls /')).split('\n')).toContain('usr')
    expect(existsSync(join(host.root, 'etc', 'os-release'))).toBe(true)
    expect((await ssh.run('command -v hostname systemctl')).trim().split('\n')).toEqual(['/usr/local/sbin/hostname', '/usr/local/sbin/systemctl'])
  })

  it('first run: certificates, drop-in, hostname and a restart', async () => {
    const r = await provisionDebian(ssh, input({ onStep: (s) => steps.push(s) }))
    expect(r).toEqual({ os: 'Debian GNU/Linux 12 (bookworm)', changed: true, installedEngine: false, restartedEngine: true })
    expect(steps).toEqual([
      'Detecting the operating system',
      'Setting the hostname',
      'Installing the Docker engine if missing',
      'Configuring the engine with TLS',
      'Restarting the engine',
    ])

    expect(await host.read('/etc/docker/ca.pem')).toBe(ca.cert)
    expect(await host.read('/etc/docker/server.pem')).toBe(server.cert)
    expect(await host.read('/etc/docker/server-key.pem')).toBe(server.key)
    expect(await fileState(host, '/etc/docker/server-key.pem')).toMatchObject({ mode: 0o600, uid: 0, gid: 0 })
    expect(await fileState(host, '/etc/docker/server.pem')).toMatchObject({ mode: 0o644, uid: 0, gid: 0 })
    expect(await fileState(host, '/etc/docker/ca.pem')).toMatchObject({ mode: 0o644, uid: 0, gid: 0 })

    const dropIn = await host.read('/etc/systemd/system/docker.service.d/10-machine.conf')
    expect(dropIn.split('\n')).toEqual([
      '# Written by machine (g1). Edit with "machine provision" flags, not by hand:',
      '# the next "machine provision" or "regenerate-certs" rewrites this file.',
      '[Service]',
      'ExecStart=',
      EXEC_START,
      '',
    ])
    expect(await fileState(host, '/etc/systemd/system/docker.service.d/10-machine.conf')).toMatchObject({ mode: 0o644, uid: 0 })

    expect(await host.read('/etc/hostname')).toBe('g1\n')
    expect(await host.read('/var/lib/fake-uts/hostname')).toBe('g1\n')
    expect((await host.read('/etc/hosts')).split('\n')).toEqual(['127.0.0.1\tlocalhost', '127.0.1.1 g1', '::1\tlocalhost ip6-localhost', ''])
    expect(realHostname()).toBe(machineHostname)

    const calls = host.calls()
    expect(calls).toContain('hostname g1')
    const systemctl = calls.filter((c) => c.startsWith('systemctl'))
    // The package left the unit enabled: no `enable` (slow on Debian).
    expect(systemctl).toEqual(['systemctl is-active docker', 'systemctl is-enabled docker', 'systemctl daemon-reload', 'systemctl restart docker'])
    expect(await host.read('/var/lib/fake-systemd/docker.state')).toBe('active\n')
    // The upload's private temp directory is gone.
    expect(await readdir(host.path('/tmp'))).toEqual([])
  })

  it('second run changes nothing: no upload, no hostname change, no restart', async () => {
    const before = host.calls().length
    const cmdsBefore = host.commands().length
    const files = await Promise.all(['/etc/docker/ca.pem', '/etc/docker/server.pem', '/etc/docker/server-key.pem', '/etc/systemd/system/docker.service.d/10-machine.conf', '/etc/hostname', '/etc/hosts'].map((f) => fileState(host, f)))
    const r = await provisionDebian(ssh, input())
    expect(r).toEqual({ os: 'Debian GNU/Linux 12 (bookworm)', changed: false, installedEngine: false, restartedEngine: false })
    expect(newCalls(host, before)).toEqual(['systemctl is-active docker', 'systemctl is-enabled docker'])
    const after = await Promise.all(['/etc/docker/ca.pem', '/etc/docker/server.pem', '/etc/docker/server-key.pem', '/etc/systemd/system/docker.service.d/10-machine.conf', '/etc/hostname', '/etc/hosts'].map((f) => fileState(host, f)))
    expect(after).toEqual(files)
    const cmds = host.commands().slice(cmdsBefore)
    expect(cmds.some((c) => /mktemp|install -D/.test(c))).toBe(false)
  })

  it('an engine that is down is started (not restarted: one queued at boot would start twice) even though nothing else changed, and enabled if it was not', async () => {
    await writeFile(host.path('/var/lib/fake-systemd/docker.state'), 'failed\n')
    let before = host.calls().length
    expect(await provisionDebian(ssh, input())).toMatchObject({ changed: true, restartedEngine: true })
    // The units did not change: no daemon-reload (seconds on an emulated VM).
    expect(newCalls(host, before)).toEqual(['systemctl is-active docker', 'systemctl is-enabled docker', 'systemctl start docker'])

    await writeFile(host.path('/var/lib/fake-systemd/docker.state'), 'inactive\n')
    await writeFile(host.path('/var/lib/fake-systemd/docker.enabled'), 'disabled\n')
    before = host.calls().length
    expect(await provisionDebian(ssh, input())).toMatchObject({ changed: true, restartedEngine: true })
    expect(newCalls(host, before)).toEqual(['systemctl is-active docker', 'systemctl is-enabled docker', 'systemctl enable docker', 'systemctl start docker'])
    expect(await host.read('/var/lib/fake-systemd/docker.enabled')).toBe('enabled\n')
  })

  it('a changed engine label rewrites only the drop-in and restarts once', async () => {
    const certs = await Promise.all(['/etc/docker/ca.pem', '/etc/docker/server.pem', '/etc/docker/server-key.pem'].map((f) => fileState(host, f)))
    const dropBefore = await fileState(host, '/etc/systemd/system/docker.service.d/10-machine.conf')
    const before = host.calls().length
    const cmdsBefore = host.commands().length
    const r = await provisionDebian(ssh, input({ engine: { Labels: ['env=prod'] } }))
    expect(r).toMatchObject({ changed: true, restartedEngine: true, installedEngine: false })
    expect(await host.read('/etc/systemd/system/docker.service.d/10-machine.conf')).toContain(`${EXEC_START.replace(' --label provider=generic', '')} --label env=prod --label provider=generic\n`)
    expect(await fileState(host, '/etc/systemd/system/docker.service.d/10-machine.conf')).not.toEqual(dropBefore)
    expect(await Promise.all(['/etc/docker/ca.pem', '/etc/docker/server.pem', '/etc/docker/server-key.pem'].map((f) => fileState(host, f)))).toEqual(certs)
    expect(newCalls(host, before).filter((c) => c === 'systemctl restart docker')).toHaveLength(1)
    const installs = host.commands().slice(cmdsBefore).filter((c) => c.includes('install -D'))
    expect(installs).toHaveLength(1)
    expect(installs[0]).toContain('/etc/systemd/system/docker.service.d/10-machine.conf')
    expect(installs[0]).not.toContain('/etc/docker/')
    // And again with the same label: nothing.
    expect((await provisionDebian(ssh, input({ engine: { Labels: ['env=prod'] } }))).changed).toBe(false)
  })

  it('a server key left readable by others is made 0600 again, without restarting the engine', async () => {
    await chmod(host.path('/etc/docker/server-key.pem'), 0o644)
    const id = (await fileState(host, '/etc/docker/server-key.pem')).id
    const before = host.calls().length
    const r = await provisionDebian(ssh, input({ engine: { Labels: ['env=prod'] } }))
    expect(r).toMatchObject({ changed: true, restartedEngine: false })
    expect(await fileState(host, '/etc/docker/server-key.pem')).toMatchObject({ mode: 0o600, uid: 0, gid: 0 })
    expect((await fileState(host, '/etc/docker/server-key.pem')).id.split(':')[0]).toBe(id.split(':')[0])
    expect(newCalls(host, before)).not.toContain('systemctl restart docker')
  })

  it('a changed server certificate is replaced and the engine restarted', async () => {
    const other = await createServerCert(ca, 'g1', ['127.0.0.1', 'localhost', 'g1.example'])
    const before = host.calls().length
    const r = await provisionDebian(ssh, input({ serverCert: other.cert, serverKey: other.key, engine: { Labels: ['env=prod'] } }))
    expect(r).toMatchObject({ changed: true, restartedEngine: true })
    expect(await host.read('/etc/docker/server.pem')).toBe(other.cert)
    expect(await host.read('/etc/docker/server-key.pem')).toBe(other.key)
    expect(await fileState(host, '/etc/docker/server-key.pem')).toMatchObject({ mode: 0o600, uid: 0 })
    expect(newCalls(host, before).filter((c) => c === 'systemctl restart docker')).toHaveLength(1)
    // Back to the first key for the key-on-command-line check below.
    await provisionDebian(ssh, input())
  })

  it('no server key ever appears on a command line the host ran', async () => {
    const cmds = host.commands()
    expect(cmds.length).toBeGreaterThan(10) // the recording works
    expect(cmds).toContain('cat /etc/os-release')
    for (const key of [server.key]) {
      const body = key.split('\n').filter((l) => l && !l.startsWith('-----'))
      for (const c of cmds) {
        expect(c).not.toContain('PRIVATE KEY')
        for (const line of body) expect(c).not.toContain(line)
      }
    }
    expect(host.calls().join('\n')).not.toContain('PRIVATE KEY')
  })
})

describe('provisionDebian: hostname edge cases', () => {
  let host: ChrootHost
  let ssh: SshSession
  beforeAll(async () => {
    ;({ host, ssh } = await open({ hostname: 'web-1', hosts: '127.0.0.1 localhost\n127.0.1.1 my-web-1\n' }))
  })
  afterAll(async () => {
    ssh?.close()
    await host?.stop()
  })

  it('a 127.0.1.1 line naming another host that merely contains the name is corrected', async () => {
    await provisionDebian(ssh, input({ machineName: 'web-1' }))
    expect(await host.read('/etc/hosts')).toBe('127.0.0.1 localhost\n127.0.1.1 web-1\n')
    expect(host.calls()).toContain('hostname web-1')
  })

  it('a dot in the name is not a wildcard: "a.b" is not satisfied by "axb"', async () => {
    await writeFile(host.path('/etc/hostname'), 'a.b\n')
    await writeFile(host.path('/etc/hosts'), '127.0.0.1 localhost\n127.0.1.1 axb\n')
    await provisionDebian(ssh, input({ machineName: 'a.b' }))
    expect(await host.read('/etc/hosts')).toBe('127.0.0.1 localhost\n127.0.1.1 a.b\n')
  })

  it('a host without a 127.0.1.1 line gets one appended; aliases on the line are accepted as they are', async () => {
    await writeFile(host.path('/etc/hosts'), '127.0.0.1 localhost\n')
    await provisionDebian(ssh, input({ machineName: 'c1' }))
    expect(await host.read('/etc/hosts')).toBe('127.0.0.1 localhost\n127.0.1.1 c1\n')
    await writeFile(host.path('/etc/hosts'), '127.0.0.1 localhost\n127.0.1.1 c1.example.org c1\n')
    const before = host.calls().length
    await provisionDebian(ssh, input({ machineName: 'c1' }))
    expect(newCalls(host, before)).not.toContain('hostname c1')
    expect(await host.read('/etc/hosts')).toBe('127.0.0.1 localhost\n127.0.1.1 c1.example.org c1\n')
  })
})

describe('provisionDebian as a non-root user', () => {
  let host: ChrootHost
  let ssh: SshSession
  beforeAll(async () => {
    ;({ host, ssh } = await open({ os: 'ubuntu' }))
  })
  afterAll(async () => {
    ssh?.close()
    await host?.stop()
  })

  it('runs every privileged command through sudo, and only those', async () => {
    const r = await provisionDebian(ssh, input({ sshUser: 'ubuntu' }))
    expect(r).toMatchObject({ os: 'Ubuntu 24.04.2 LTS', changed: true, restartedEngine: true })
    const sudo = host.calls().filter((c) => c.startsWith('sudo '))
    expect(sudo.some((c) => c.startsWith('sudo sh -c hostname g1 '))).toBe(true)
    expect(sudo.some((c) => c.startsWith('sudo install -D -m 600 -o root -g root ') && c.endsWith(' /etc/docker/server-key.pem'))).toBe(true)
    expect(sudo).toContain('sudo systemctl daemon-reload')
    expect(sudo).toContain('sudo systemctl restart docker')
    // The upload into the user's own temp dir and its removal need no root.
    expect(sudo.some((c) => /^sudo (mktemp|rm)/.test(c))).toBe(false)
    expect(await fileState(host, '/etc/docker/server-key.pem')).toMatchObject({ mode: 0o600, uid: 0 })
  })
})

describe('provisionDebian refuses what it cannot provision, changing nothing', () => {
  it('an unsupported OS: one line naming what was found', async () => {
    const { host, ssh } = await open({ os: 'alpine' })
    try {
      const e = await provisionDebian(ssh, input({ machineName: 'a1' })).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(MachineError)
      expect((e as MachineError).code).toBe('unsupported-os')
      expect((e as MachineError).line).toBe('Unsupported operating system on "a1": found Alpine Linux v3.20 (ID=alpine): use a Debian or Ubuntu image')
      expect(changingCalls(host)).toEqual([])
      expect(await host.read('/etc/hostname')).toBe('testhost\n')
      expect(existsSync(host.path('/etc/docker'))).toBe(false)
    } finally {
      ssh.close()
      await host.stop()
    }
  })

  it('no Docker and --engine-install-url none: a clear error before anything is changed', async () => {
    const { host, ssh } = await open({ docker: false })
    try {
      const e = await provisionDebian(ssh, input({ engine: { InstallURL: 'none' } })).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(MachineError)
      expect((e as MachineError).code).toBe('engine-missing')
      expect((e as MachineError).line).toBe(
        'Docker is not installed on "g1" and --engine-install-url is "none": install Docker on the host, or drop --engine-install-url none to install it from https://get.docker.com',
      )
      expect(changingCalls(host)).toEqual([])
      expect(await host.read('/etc/hostname')).toBe('testhost\n')
      expect(existsSync(host.path('/etc/docker'))).toBe(false)
      expect(existsSync(host.path('/etc/systemd'))).toBe(false)
    } finally {
      ssh.close()
      await host.stop()
    }
  })
})

describe('provisionDebian installs Docker when it is missing', () => {
  let host: ChrootHost
  let ssh: SshSession
  beforeAll(async () => {
    ;({ host, ssh } = await open({ docker: false }))
  })
  afterAll(async () => {
    ssh?.close()
    await host?.stop()
  })

  it('runs the install script from the install URL once, then configures the installed dockerd', async () => {
    expect(existsSync(host.path('/usr/bin/dockerd'))).toBe(false)
    const r = await provisionDebian(ssh, input({ engine: { InstallURL: 'https://get.docker.com' } }))
    expect(r).toMatchObject({ changed: true, installedEngine: true, restartedEngine: true })
    const calls = host.calls()
    expect(calls.some((c) => /^curl -fsSL https:\/\/get\.docker\.com -o \/tmp\/\S+$/.test(c))).toBe(true)
    expect(calls).toContain('install.sh')
    expect(existsSync(host.path('/usr/bin/dockerd'))).toBe(true)
    // The install brought containerd's unit (asked again after the install): dockerd gets its socket.
    expect(await host.read('/etc/systemd/system/docker.service.d/10-machine.conf')).toContain(
      `${EXEC_START.replace(' -H unix:///var/run/docker.sock ', ' -H unix:///var/run/docker.sock --containerd=/run/containerd/containerd.sock ')}\n`,
    )
    const again = await provisionDebian(ssh, input({ engine: { InstallURL: 'https://get.docker.com' } }))
    expect(again).toMatchObject({ changed: false, installedEngine: false })
    expect(host.calls().filter((c) => c.startsWith('curl '))).toHaveLength(1)
  })

  it('a failed download of the install script is reported as such, not as a missing dockerd', async () => {
    const { host: bare, ssh: s } = await open({ docker: false })
    try {
      const e = await provisionDebian(s, input({ engine: { InstallURL: 'https://get.docker.com/404' } })).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(MachineError)
      expect((e as MachineError).code).toBe('ssh-command-failed')
      expect((e as MachineError).line).toMatch(/^remote command `.*curl -fsSL 'https:\/\/get\.docker\.com\/404'.*` exited with code 22: curl: \(22\) The requested URL returned error: 404$/)
      expect(existsSync(bare.path('/usr/bin/dockerd'))).toBe(false)
      expect(changingCalls(bare).filter((c) => c.startsWith('systemctl') || c === 'install.sh')).toEqual([])
      expect(await readdir(bare.path('/tmp'))).toEqual([])
    } finally {
      s.close()
      await bare.stop()
    }
  })

  it('a host with the docker client but no dockerd gets a precise error', async () => {
    const { host: half, ssh: s } = await open({ docker: false })
    try {
      await writeFile(half.path('/usr/bin/docker'), await half.read('/usr/share/fake-docker/docker'), { mode: 0o755 })
      const e = await provisionDebian(s, input()).catch((x: unknown) => x)
      expect((e as MachineError).line).toBe('"g1" has the docker client but no dockerd: install the Docker engine package on the host (docker-ce or docker.io)')
      expect(changingCalls(half).filter((c) => c.startsWith('curl') || c.startsWith('systemctl'))).toEqual([])
    } finally {
      s.close()
      await half.stop()
    }
  })

  it('a remote command that never ends is stopped at its bound: one line naming the step and the machine', async () => {
    const { host: stuck, ssh: s } = await open()
    try {
      // The hostname step hangs on the host (a held lock, a hung mount…).
      await writeFile(stuck.path('/usr/local/sbin/hostname'), '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 })
      const started = Date.now()
      const e = await provisionDebian(s, input({ commandTimeoutMs: 1500 })).catch((x: unknown) => x)
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(e).toBeInstanceOf(MachineError)
      expect((e as MachineError).code).toBe('step-timeout')
      expect((e as MachineError).line).toBe('"Setting the hostname" on "g1" did not finish within 2 s: run again with --debug to see the command that stalled')
      // Nothing after the stuck step ran.
      expect(changingCalls(stuck).filter((c) => c.startsWith('systemctl'))).toEqual([])
    } finally {
      s.close()
      await stuck.stop()
    }
  })

  it('a failing engine start is reported, and the next run retries it', async () => {
    await writeFile(host.path('/var/lib/fake-systemd/docker.fail'), '')
    await writeFile(host.path('/var/lib/fake-systemd/docker.state'), 'failed\n')
    const e = await provisionDebian(ssh, input()).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(MachineError)
    expect((e as MachineError).line).toMatch(/^remote command `systemctl start docker` exited with code 1: Job for docker.service failed \(test stub\)$/)
    await rm(host.path('/var/lib/fake-systemd/docker.fail'))
    expect(await provisionDebian(ssh, input())).toMatchObject({ restartedEngine: true })
    expect(await host.read('/var/lib/fake-systemd/docker.state')).toBe('active\n')
  })
})
