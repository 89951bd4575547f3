/**
 * `machine create -d virtualbox` end to end through the BUILT binary, on a host without
 * VirtualBox: the fake VBoxManage first on PATH and the fake hypervisor serving each started
 * VM's guest (test/helpers/fake-virtualbox.ts: a chroot host behind a real sshd on the VM's
 * forwarded SSH port with the host key from the driver's seed, and the TLS engine stand-in on
 * its forwarded engine port once provisioning has started the engine).
 *
 * create → env → a docker client reaches the engine → stop → start → status/ip → stop --save →
 * start (a resume) → stop/kill of a saved machine → rm of a saved machine, leaving no VM, medium
 * or adapter in VirtualBox, no file, no guest process and no open port. (A failure
 * at each VBoxManage call of create: virtualbox-rollback.test.ts.)
 */
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, runCli, tempStore } from '../helpers/cli.js'
import { FAST, fakeVirtualBox, rawImage, startHypervisor, type FakeHypervisor, type FakeVirtualBox } from '../helpers/fake-virtualbox.js'
import { envVars, expectGone, expectServing, portOpen, serverVersion } from '../helpers/local-vm.js'

describe('machine create -d virtualbox, end to end on the fake VirtualBox', () => {
  let vb: FakeVirtualBox
  let hv: FakeHypervisor
  let store: string
  let image: string
  let env: NodeJS.ProcessEnv
  let sshPort = 0
  let enginePort = 0

  /** The VBoxManage calls made since the `before`th, one line each. */
  const newCalls = (before: number): string[] => vb.calls().slice(before).map((c) => c.join(' '))

  beforeAll(async () => {
    ensureBuilt()
    vb = await fakeVirtualBox({ scope: 'file' })
    hv = startHypervisor(vb)
    store = await tempStore()
    image = await rawImage()
    env = { ...vb.env, ...FAST }
  }, 300_000)

  it('creates v1: a VM in VirtualBox, its guest provisioned over SSH, the engine answering over TLS', async () => {
    const r = await runCli(['create', '-d', 'virtualbox', '--virtualbox-image', image, '--virtualbox-no-vtx-check', 'v1'], { store, env, timeoutMs: 240_000 })
    expect(r.code, `${r.stdout}\n${r.stderr}\n${hv.events.join(' | ')}`).toBe(0)
    expect(r.stdout).toContain('Docker is up and running!')
    const cfg = JSON.parse(await readFile(join(store, 'machines', 'v1', 'config.json'), 'utf8')) as { Driver: Record<string, unknown> }
    sshPort = Number(cfg.Driver.SSHPort)
    enginePort = Number(cfg.Driver.EnginePort)
    const [vm] = vb.state().vms
    expect(vm).toMatchObject({ name: 'v1', state: 'running', settingsFile: join(store, 'machines', 'v1', 'v1', 'v1.vbox') })
    // NAT: SSH and the engine forwarded from 127.0.0.1 only; NIC 2 on the host-only adapter.
    expect(vm!.nics['1']!.natpf).toEqual([
      { name: 'ssh', proto: 'tcp', hostIp: '127.0.0.1', hostPort: sshPort, guestIp: '', guestPort: 22 },
      { name: 'docker', proto: 'tcp', hostIp: '127.0.0.1', hostPort: enginePort, guestIp: '', guestPort: 2376 },
    ])
    expect(vm!.nics['2']).toMatchObject({ type: 'hostonly', hostonlyadapter: 'vboxnet0' })
    expect(vb.state().hostonlyifs).toMatchObject([{ name: 'vboxnet0', ip: '192.168.56.1', mask: '255.255.255.0' }])
    // The guest presented the host key the driver pinned in the seed (else SSH had failed).
    const guest = [...hv.guests.values()][0]!
    expect(cfg.Driver.SSHHostKeys).toEqual([guest.seed.hostKey.publicKey])
    expect(guest.seed.user).toBe('docker')
    expect(guest.engine?.requests().some((q) => q.startsWith('GET /_ping '))).toBe(true)
    // The seed's bootcmd ran at first boot (the share's mount, the engine bootstrap): the engine
    // came up with the machine's TLS files before provisioning, which then had nothing to restart.
    expect(hv.events.filter((e) => e.startsWith('bootcmd v1'))).toEqual(['bootcmd v1 ok', 'bootcmd v1 ok'])
    expect(guest.disk.calls()).toContain('systemctl daemon-reload')
    expect(guest.disk.calls().filter((c) => c === 'systemctl restart docker')).toEqual([])
    expect(await guest.disk.read('/etc/docker/server.pem')).toBe(await readFile(join(store, 'machines', 'v1', 'server.pem'), 'utf8'))
  }, 240_000)

  it('env v1 points a docker client at the engine, which answers with the machine TLS files', async () => {
    const r = await runCli(['env', 'v1'], { store, env: { ...env, SHELL: '/bin/bash' } })
    expect(r.code).toBe(0)
    const vars = envVars(r.stdout)
    expect(vars).toMatchObject({ DOCKER_TLS_VERIFY: '1', DOCKER_HOST: `tcp://127.0.0.1:${enginePort}`, DOCKER_CERT_PATH: join(store, 'machines', 'v1'), DOCKER_MACHINE_NAME: 'v1' })
    expect(await serverVersion(vars)).toBe('28.2.2')
  }, 60_000)

  it('stops v1 with the ACPI power button: the guest and its ports go down', async () => {
    const r = await runCli(['stop', 'v1'], { store, env })
    expect(r.code, r.stderr).toBe(0)
    expect(vb.calls().some((c) => c.join(' ') === 'controlvm v1 acpipowerbutton')).toBe(true)
    expect(vb.state().vms[0]!.state).toBe('poweroff')
    await hv.settled()
    expect(await portOpen(sshPort)).toBe(false)
    expect(await portOpen(enginePort)).toBe(false)
    const st = await runCli(['status', 'v1'], { store, env })
    expect(st.stdout.trim()).toBe('Stopped')
  }, 60_000)

  it('starts v1 again: same disk, same ports, the engine back; status and ip answer', async () => {
    const r = await runCli(['start', 'v1'], { store, env, timeoutMs: 120_000 })
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    await hv.settled()
    const vars = await expectServing('v1', { store, env })
    expect(vars.DOCKER_HOST).toBe(`tcp://127.0.0.1:${enginePort}`)
  }, 150_000)

  it('stop --save v1: the guest flushes its disks, VirtualBox saves it (controlvm savestate), status Saved, nothing listens', async () => {
    const guest = [...hv.guests.values()][0]!
    const before = vb.calls().length
    const r = await runCli(['stop', '--save', 'v1'], { store, env })
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(guest.disk.commands()).toContain('sync')
    expect(newCalls(before).filter((c) => !c.startsWith('showvminfo'))).toEqual(['controlvm v1 savestate'])
    expect(vb.state().vms[0]!.state).toBe('saved')
    await hv.settled()
    expect(hv.events.at(-1)).toBe('save v1')
    expect(await portOpen(sshPort)).toBe(false)
    expect(await portOpen(enginePort)).toBe(false)
    expect((await runCli(['status', 'v1'], { store, env })).stdout.trim()).toBe('Saved')
    const again = await runCli(['stop', '--save', 'v1'], { store, env })
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('Machine "v1" is already saved')
  }, 60_000)

  it('start v1 resumes it: startvm restores the saved VM (no boot, no modifyvm), its SSH port taken meanwhile is moved on the running VM, the clock resync is attempted, the engine answers', async () => {
    const guest = [...hv.guests.values()][0]!
    const before = vb.calls().length
    const boots = hv.events.filter((e) => e === 'boot v1').length
    // Something took the SSH port while the machine was saved.
    const taker = createServer()
    await new Promise<void>((res) => taker.listen({ host: '127.0.0.1', port: sshPort, exclusive: true }, res))
    try {
      const r = await runCli(['start', 'v1'], { store, env, timeoutMs: 120_000 })
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
      const calls = newCalls(before)
      expect(calls).toContain('startvm v1 --type headless')
      expect(calls.filter((c) => c.startsWith('modifyvm') || c.startsWith('discardstate'))).toEqual([])
      const cfg = JSON.parse(await readFile(join(store, 'machines', 'v1', 'config.json'), 'utf8')) as { Driver: Record<string, unknown> }
      const moved = Number(cfg.Driver.SSHPort)
      expect(moved).not.toBe(sshPort)
      expect(calls).toEqual(expect.arrayContaining(['controlvm v1 natpf1 delete ssh', `controlvm v1 natpf1 ssh,tcp,127.0.0.1,${moved},,22`]))
      expect(r.stdout + r.stderr).toContain(`Port(s) of "v1" were taken: SSH now on 127.0.0.1:${moved}`)
      await hv.settled()
      expect(hv.events.filter((e) => e === 'boot v1').length).toBe(boots)
      expect(hv.events).toContain('resume v1')
      // The test guest has no `date` (it must never set this machine's clock): the attempt is made over SSH, and its failure said.
      expect(guest.disk.commands()).toContain('date +%s%N')
      expect(r.stdout + r.stderr).toContain('The clock of "v1" could not be set after the resume')
      sshPort = moved
      const vars = await expectServing('v1', { store, env })
      expect(vars.DOCKER_HOST).toBe(`tcp://127.0.0.1:${enginePort}`)
    } finally {
      await new Promise<void>((res) => taker.close(() => res()))
    }
  }, 150_000)

  it('stop of a saved v1 discards its state (discardstate): Stopped, and the next start boots', async () => {
    expect((await runCli(['stop', '--save', 'v1'], { store, env })).code).toBe(0)
    const saved = vb.calls().length
    const r = await runCli(['stop', 'v1'], { store, env })
    expect(r.code, r.stderr).toBe(0)
    expect(newCalls(saved).filter((c) => !c.startsWith('showvminfo'))).toEqual(['discardstate v1'])
    expect(r.stdout + r.stderr).toContain('Discarding the saved state of "v1": its next start boots it afresh')
    expect(vb.state().vms[0]!.state).toBe('poweroff')
    expect((await runCli(['status', 'v1'], { store, env })).stdout.trim()).toBe('Stopped')
    // --save of a stopped machine: refused, nothing asked of VirtualBox but its state.
    const before = vb.calls().length
    const save = await runCli(['stop', '--save', 'v1'], { store, env })
    expect(save.code).not.toBe(0)
    expect(save.stderr).toContain('Machine "v1" is already stopped')
    expect(vb.calls().slice(before).map((c) => c[0])).toEqual(['showvminfo'])
    const boots = hv.events.filter((e) => e === 'boot v1').length
    const start = await runCli(['start', 'v1'], { store, env, timeoutMs: 120_000 })
    expect(start.code, `${start.stdout}\n${start.stderr}`).toBe(0)
    await hv.settled()
    expect(hv.events.filter((e) => e === 'boot v1').length).toBe(boots + 1)
  }, 150_000)

  it('kill of a saved v1 discards its state too', async () => {
    expect((await runCli(['stop', '--save', 'v1'], { store, env })).code).toBe(0)
    const saved = vb.calls().length
    const r = await runCli(['kill', 'v1'], { store, env })
    expect(r.code, r.stderr).toBe(0)
    expect(newCalls(saved).filter((c) => !c.startsWith('showvminfo'))).toEqual(['discardstate v1'])
    expect((await runCli(['status', 'v1'], { store, env })).stdout.trim()).toBe('Stopped')
    await hv.settled()
    expect(hv.events.at(-1)).toBe('discard v1')
  }, 60_000)

  it('rm of a saved v1 works', async () => {
    expect((await runCli(['start', 'v1'], { store, env, timeoutMs: 120_000 })).code).toBe(0)
    expect((await runCli(['stop', '--save', 'v1'], { store, env })).code).toBe(0)
    expect((await runCli(['status', 'v1'], { store, env })).stdout.trim()).toBe('Saved')
  }, 150_000)

  it('rm v1 (saved) leaves nothing: no VM, medium or adapter in VirtualBox, no file, no guest, no open port', async () => {
    const before = vb.calls().length
    const r = await runCli(['rm', '-y', 'v1'], { store, env })
    expect(r.code, r.stderr).toBe(0)
    // The saved state is discarded, then the VM unregistered with its files.
    expect(newCalls(before).filter((c) => c.startsWith('discardstate') || c.startsWith('unregistervm'))).toEqual(['discardstate v1', 'unregistervm v1 --delete'])
    await hv.settled()
    const s = vb.state()
    expect(s.vms).toEqual([])
    expect(s.media).toEqual([])
    expect(s.hostonlyifs).toEqual([])
    expect(s.dhcpservers).toEqual([])
    await expectGone('v1', { store, guests: hv.guests, ports: [sshPort, enginePort] })
  }, 60_000)
})
