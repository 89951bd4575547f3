import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createCA, createServerCert, type PemPair } from '../../src/certs/certs.js'
import { defaultEngineOptions } from '../../src/core/host-config.js'
import { DOCKERD_PLACEHOLDER, engineBootstrapCommand, engineBootstrapScript } from '../../src/provision/bootstrap.js'
import { renderDropIn } from '../../src/provision/engine-config.js'
import { provisionDebian } from '../../src/provision/provisioner.js'
import { connectSsh, type SshSession } from '../../src/ssh/index.js'
import { startChrootHost, type ChrootHost } from '../helpers/chroot-host.js'

// The first-boot engine bootstrap (cloud-init bootcmd on local VMs) must leave the host exactly
// as provisioning would: then create's provisioning verifies and does not restart the engine.
describe('engine bootstrap at first boot', () => {
  let ca: PemPair
  let server: PemPair
  let host: ChrootHost
  let ssh: SshSession
  const engine = { ...defaultEngineOptions(), Labels: ['env=dev'], Env: ['A=b c'] }
  beforeAll(async () => {
    ca = await createCA()
    server = await createServerCert(ca, 'vm1', ['127.0.0.1', 'localhost', 'vm1'])
    host = await startChrootHost({ hostname: 'vm1', hosts: '127.0.0.1\tlocalhost\n127.0.1.1\tvm1\n', dockerState: 'active' })
    ssh = await connectSsh({ host: '127.0.0.1', port: host.port, user: 'root', keyPath: host.userKeyPath, knownHostsPath: join(host.sshd.dir, 'known_hosts'), hostKeys: [host.hostKeyPub] })
  })
  afterAll(async () => {
    ssh?.close()
    await host?.stop()
  })

  const files = () => ({
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    dropIn: renderDropIn({ machineName: 'vm1', driverName: 'qemu', dockerd: DOCKERD_PLACEHOLDER, port: 2376, engine }),
    dropInContainerd: renderDropIn({ machineName: 'vm1', driverName: 'qemu', dockerd: DOCKERD_PLACEHOLDER, port: 2376, engine, containerd: true }),
  })
  const provision = () =>
    provisionDebian(ssh, {
      machineName: 'vm1',
      driverName: 'qemu',
      sshUser: 'root',
      enginePort: 2376,
      engine,
      caCert: ca.cert,
      serverCert: server.cert,
      serverKey: server.key,
    })

  it('is wrapped to run once per instance and quotes safely', () => {
    const cmd = engineBootstrapCommand(files())
    expect(cmd).toMatch(/^command -v cloud-init-per >\/dev\/null 2>&1 && cloud-init-per instance machine-engine-config sh -c '[^']+' \|\| true$/)
    expect(cmd).not.toContain('PRIVATE KEY') // the key travels base64-encoded, never as PEM text in logs
  })

  it('writes the files byte for byte as provisioning wants them: provisioning then uploads nothing and does not restart', async () => {
    const r = await ssh.exec(`sh -c '${engineBootstrapScript(files())}'`)
    expect(r.code).toBe(0)
    expect(await host.read('/etc/docker/server-key.pem')).toBe(server.key)
    expect(await host.read('/etc/systemd/system/docker.service.d/10-machine.conf')).toContain('ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376')
    expect(host.calls()).toContain('systemctl daemon-reload')
    const before = host.calls().length
    const cmdsBefore = host.commands().length
    const result = await provision()
    expect(result).toMatchObject({ changed: false, restartedEngine: false, installedEngine: false })
    expect(host.calls().slice(before).filter((c) => !/^systemctl is-(active|enabled) docker$/.test(c))).toEqual([])
    expect(host.commands().slice(cmdsBefore).some((c) => c.includes('install -D'))).toBe(false)
    expect(await host.read('/etc/systemd/system/docker.service.d/10-machine.conf')).not.toContain('--containerd')
  })

  it('where containerd is a service of its own, dockerd is given its socket, by the bootstrap and provisioning alike', async () => {
    await mkdir(host.path('/lib/systemd/system'), { recursive: true })
    await writeFile(host.path('/lib/systemd/system/containerd.service'), '[Service]\nExecStart=/usr/bin/containerd\n')
    const r = await ssh.exec(`sh -c '${engineBootstrapScript(files())}'`)
    expect(r.code).toBe(0)
    expect(await host.read('/etc/systemd/system/docker.service.d/10-machine.conf')).toContain(
      'ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --containerd=/run/containerd/containerd.sock --tlsverify',
    )
    const before = host.calls().length
    expect(await provision()).toMatchObject({ changed: false, restartedEngine: false })
    expect(host.calls().slice(before).filter((c) => !/^systemctl is-(active|enabled) docker$/.test(c))).toEqual([])
  })
})
