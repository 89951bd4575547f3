import { hostname as realHostname } from 'node:os'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectSsh, type SshSession } from '../../src/ssh/index.js'
import { OS_RELEASE, startChrootHost, type ChrootHost } from '../helpers/chroot-host.js'

// The disposable test host itself: provisioner tests are only safe if these hold.
describe('chroot test host', () => {
  let host: ChrootHost
  let ssh: SshSession
  const before = realHostname()
  const realEtcHostname = existsSync('/etc/hostname') ? readFile('/etc/hostname', 'utf8') : Promise.resolve('')

  beforeAll(async () => {
    host = await startChrootHost({ os: 'alpine' })
    ssh = await connectSsh({ host: '127.0.0.1', port: host.port, user: 'root', keyPath: host.userKeyPath, knownHostsPath: join(host.sshd.dir, 'known_hosts'), hostKeys: [host.hostKeyPub] })
  })
  afterAll(async () => {
    ssh?.close()
    await host?.stop()
  })

  it('sessions see the chroot: its os-release, its root directory', async () => {
    expect(await ssh.run('cat /etc/os-release')).toBe(OS_RELEASE.alpine)
    expect((await ssh.run('ls /')).trim().split('\n')).toEqual(['bin', 'dev', 'etc', 'lib', 'lib64', 'root', 'run', 'tmp', 'usr', 'var'])
    expect(host.root.startsWith('/var/lib/machine-tests/')).toBe(true)
  })

  it('every way of running hostname reaches the stub; the machine keeps its name', async () => {
    for (const cmd of ['hostname h1', "sh -c 'hostname h2'", 'env hostname h3', 'sudo hostname h4', "sudo sh -c 'hostname h5'", 'command hostname h6']) {
      await ssh.run(cmd)
    }
    expect(host.calls().filter((c) => c.startsWith('hostname'))).toEqual(['hostname h1', 'hostname h2', 'hostname h3', 'hostname h4', 'hostname h5', 'hostname h6'])
    expect(await ssh.run('hostname')).toBe('h6\n')
    expect(realHostname()).toBe(before)
    if (existsSync('/etc/hostname')) expect(await readFile('/etc/hostname', 'utf8')).toBe(await realEtcHostname)
    // Nothing in the chroot could call sethostname(): no busybox shell, no hostname applet.
    expect(await ssh.run('readlink /bin/sh || echo real')).toBe('real\n')
    expect((await ssh.exec('ls /bin/hostname /bin/ash /bin/reboot')).code).not.toBe(0)
  })

  it('systemctl is a recording stub whose docker state lives in a file', async () => {
    expect(await ssh.exec('systemctl is-active docker')).toEqual({ code: 1, stdout: 'inactive\n', stderr: '' })
    await ssh.run('systemctl restart docker')
    expect(await ssh.exec('systemctl is-active docker')).toEqual({ code: 0, stdout: 'active\n', stderr: '' })
    expect(await ssh.exec('systemctl is-enabled docker')).toEqual({ code: 0, stdout: 'enabled\n', stderr: '' })
    await ssh.run('systemctl disable docker')
    expect(await ssh.exec('systemctl is-enabled docker')).toEqual({ code: 1, stdout: 'disabled\n', stderr: '' })
    expect((await ssh.exec('systemctl poweroff')).code).toBe(1)
    expect(host.calls().filter((c) => c.startsWith('systemctl'))).toEqual([
      'systemctl is-active docker',
      'systemctl restart docker',
      'systemctl is-active docker',
      'systemctl is-enabled docker',
      'systemctl disable docker',
      'systemctl is-enabled docker',
      'systemctl poweroff',
    ])
  })

  it('SFTP writes land inside the chroot; every exec request is recorded verbatim', async () => {
    await ssh.upload('/tmp/up.txt', 'hello\n', 0o600)
    expect(await readFile(host.path('/tmp/up.txt'), 'utf8')).toBe('hello\n')
    await ssh.run("printf '%s\\n' 'two\nlines'")
    expect(host.commands()).toContain("printf '%s\\n' 'two\nlines'")
    expect(host.commands()[0]).toBe('cat /etc/os-release')
  })

  it('stop() removes the whole chroot', async () => {
    const other = await startChrootHost()
    expect(existsSync(other.root)).toBe(true)
    await other.stop()
    expect(existsSync(join(other.root, '..'))).toBe(false)
  })
})
