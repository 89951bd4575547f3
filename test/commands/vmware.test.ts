/**
 * `machine create -d vmware` end to end through the BUILT binary, on a host without VMware: the
 * fake vmrun and vmware-vdiskmanager first on PATH, and the fake hypervisor serving each started
 * VM's guest (test/helpers/fake-vmware.ts: a chroot host behind a real sshd with the host key
 * from the driver's seed, the TLS engine stand-in once provisioning has started the engine).
 *
 * create → env → a client reaches the engine → stop → start → status/ip/ssh → stop --save →
 * start (VMware's resume) → stop/kill of a saved machine (the state discarded) → rm of a saved
 * machine, leaving no VM, disk, file, guest or open port; and a failure injected at each vmrun / vmware-vdiskmanager
 * call of create leaves nothing behind either and says so in one line.
 */
import { existsSync, readdirSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runCli, startCli, tempStore } from '../helpers/cli.js'
import { fakeVmware, runFake, startHypervisor, type FakeHypervisor, type FakeVmware } from '../helpers/fake-vmware.js'
import { envVars, expectGone, expectServing, portOpen, rawImage as vmImage, serverVersion } from '../helpers/local-vm.js'
import { tempDir } from '../helpers/tmp.js'

const rawImage = (): Promise<string> => vmImage('machine-vmware-image-')

// The guest's address may take a while on a loaded machine (the fake hypervisor starts an sshd): a generous bound.
const FAST = { MACHINE_POLL_INTERVAL_MS: '100', MACHINE_VMWARE_STOP_TIMEOUT_MS: '20000', MACHINE_VMWARE_IP_TIMEOUT_MS: '60000' }

describe('the fake vmrun / vmware-vdiskmanager answer as the real ones', () => {
  let vm: FakeVmware
  beforeAll(async () => {
    vm = await fakeVmware({ scope: 'file' })
  })
  it('list with nothing running; stop/suspend/deleteVM of a missing or stopped VM with the recorded errors and exit 255', async () => {
    expect(await runFake(vm, 'vmrun', ['-T', 'ws', 'list'])).toMatchObject({ code: 0, stdout: 'Total running VMs: 0\n' })
    const dir = await tempDir('vmware-fake-')
    const vmx = join(dir, 'x.vmx')
    expect(await runFake(vm, 'vmrun', ['-T', 'ws', 'deleteVM', vmx])).toMatchObject({ code: 255, stdout: `Error: Cannot open VM: ${vmx}, The virtual machine cannot be found\n` })
    await writeFile(vmx, '.encoding = "UTF-8"\nscsi0:0.fileName = "x.vmdk"\n')
    expect(await runFake(vm, 'vmrun', ['-T', 'ws', 'stop', vmx, 'hard'])).toMatchObject({ code: 255, stdout: `Error: The virtual machine is not powered on: ${vmx}\n` })
    expect(await runFake(vm, 'vmrun', ['-T', 'ws', 'suspend', vmx, 'hard'])).toMatchObject({ code: 255, stdout: `Error: The virtual machine is not powered on: ${vmx}\n` })
    expect(await runFake(vm, 'vmrun', ['-T', 'ws', 'start', vmx, 'nogui'])).toMatchObject({ code: 255, stdout: expect.stringMatching(/^Error: Cannot open the disk /) })
    expect(await runFake(vm, 'vmrun', ['-T', 'xx', 'list'])).toMatchObject({ code: 255 })
  })
  it('vdiskmanager refuses a raw file, a descriptor whose extent is missing or the wrong size, and a growth that is not one', async () => {
    const dir = await tempDir('vmware-fake-')
    const raw = join(dir, 'a.raw')
    await writeFile(raw, Buffer.alloc(1024))
    expect(await runFake(vm, 'vmware-vdiskmanager', ['-r', raw, '-t', '0', join(dir, 'a.vmdk')])).toMatchObject({ code: 1, stdout: expect.stringMatching(/not a virtual disk/) })
    const desc = join(dir, 'd.vmdk')
    await writeFile(desc, `# Disk DescriptorFile\ncreateType="monolithicFlat"\nRDONLY 4 FLAT "${raw}" 0\n`)
    expect(await runFake(vm, 'vmware-vdiskmanager', ['-r', desc, '-t', '0', join(dir, 'a.vmdk')])).toMatchObject({ code: 1, stdout: expect.stringMatching(/size of the flat extent/) })
    await writeFile(desc, `# Disk DescriptorFile\ncreateType="monolithicFlat"\nRDONLY 2 FLAT "${raw}" 0\n`)
    expect(await runFake(vm, 'vmware-vdiskmanager', ['-r', desc, '-t', '0', join(dir, 'a.vmdk')])).toMatchObject({ code: 0, stdout: expect.stringMatching(/conversion successful/) })
    expect(await runFake(vm, 'vmware-vdiskmanager', ['-x', '1MB', join(dir, 'a.vmdk')])).toMatchObject({ code: 0 })
    expect(await runFake(vm, 'vmware-vdiskmanager', ['-x', '1MB', join(dir, 'a.vmdk')])).toMatchObject({ code: 1, stdout: expect.stringMatching(/not larger/) })
  })
})

describe('machine create -d vmware, end to end on the fake VMware', () => {
  let vm: FakeVmware
  let hv: FakeHypervisor
  let store: string
  let image: string
  let env: NodeJS.ProcessEnv

  beforeAll(async () => {
    vm = await fakeVmware({ scope: 'file' })
    hv = startHypervisor(vm)
    store = await tempStore()
    image = await rawImage()
    env = { ...vm.env, ...FAST }
  }, 120_000)

  it('creates v1: a .vmx and disk made with vmrun/vdiskmanager, its guest provisioned over SSH with the pinned host key, the engine answering over TLS', async () => {
    const r = await runCli(['create', '-d', 'vmware', '--vmware-image', image, 'v1'], { store, env, timeoutMs: 240_000 })
    expect(r.code, `${r.stdout}\n${r.stderr}\n${hv.events.join(' | ')}`).toBe(0)
    expect(r.stdout).toContain('Docker is up and running!')
    const dir = join(store, 'machines', 'v1')
    const vmx = join(dir, 'v1.vmx')
    expect(vm.state()).toEqual({ running: [vmx], disks: { [join(dir, 'v1.vmdk')]: 20000 * 2 ** 20 } })
    const calls = vm.calls().map((c) => c.join(' '))
    expect(calls.slice(0, 5)).toEqual([
      'vmrun -T ws list',
      `vmware-vdiskmanager -r ${join(dir, 'image-flat.vmdk')} -t 0 ${join(dir, 'v1.vmdk')}`,
      `vmware-vdiskmanager -x 20000MB ${join(dir, 'v1.vmdk')}`,
      `vmrun -T ws start ${vmx} nogui`,
      `vmrun -T ws getGuestIPAddress ${vmx} -wait`,
    ])
    // Afterwards (SSH, provisioning, the engine URL) only questions: the state and the address.
    for (const c of calls.slice(5)) expect(c).toMatch(/^vmrun -T ws (list|getGuestIPAddress .* -wait)$/)
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { Driver: Record<string, unknown> }
    const guest = [...hv.guests.values()][0]!
    expect(cfg.Driver).toMatchObject({ IPAddress: '127.0.0.1', SSHPort: vm.sshPort, EnginePort: vm.enginePort, SSHUser: 'docker', NetworkType: 'nat', CPU: 1, Memory: 1024, DiskSize: 20000, WaitIP: 30000 })
    // The guest presented the host key the driver pinned in the seed (else SSH had failed).
    expect(cfg.Driver.SSHHostKeys).toEqual([guest.seed.hostKey.publicKey])
    expect(guest.engine?.requests().some((q) => q.startsWith('GET /_ping '))).toBe(true)
  }, 240_000)

  it('env v1 points a client at the engine, which answers with the machine TLS files', async () => {
    const r = await runCli(['env', 'v1'], { store, env: { ...env, SHELL: '/bin/bash' } })
    expect(r.code, r.stderr).toBe(0)
    const vars = envVars(r.stdout)
    expect(vars).toMatchObject({ DOCKER_TLS_VERIFY: '1', DOCKER_HOST: `tcp://127.0.0.1:${vm.enginePort}`, DOCKER_CERT_PATH: join(store, 'machines', 'v1'), DOCKER_MACHINE_NAME: 'v1' })
    expect(await serverVersion(vars)).toBe('28.2.2')
  }, 60_000)

  it('env loads none of the driver and asks VMware nothing; ls asks vmrun list for the STATE column', async () => {
    const { spawnSync } = await import('node:child_process')
    const { BIN, ROOT } = await import('../helpers/cli.js')
    const before = vm.calls().length
    const trace = join(await tempDir('trace-'), 'imports.txt')
    const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/helpers/trace-imports.mjs'), BIN, 'env', 'v1'], {
      env: { ...process.env, ...env, MACHINE_STORAGE_PATH: store, MACHINE_TRACE_IMPORTS: trace, SHELL: '/bin/bash' },
      encoding: 'utf8',
    })
    expect(r.status, r.stderr).toBe(0)
    const loaded = await readFile(trace, 'utf8')
    expect(loaded).toContain('src:src/fast/run.ts')
    expect(loaded).not.toContain('drivers/vmware/')
    expect(vm.calls().length).toBe(before)
    const ls = await runCli(['ls'], { store, env })
    expect(ls.stdout).toMatch(new RegExp(`^v1\\s+-\\s+vmware\\s+Running\\s+tcp://127\\.0\\.0\\.1:${vm.enginePort}\\s`, 'm'))
    expect(vm.calls().slice(before).map((c) => c.join(' '))).toEqual(['vmrun -T ws list'])
  }, 60_000)

  it('stops v1 with a soft vmrun stop: the guest and its ports go down', async () => {
    const r = await runCli(['stop', 'v1'], { store, env })
    expect(r.code, r.stderr).toBe(0)
    expect(vm.calls().some((c) => c.join(' ').endsWith(`v1.vmx soft`))).toBe(true)
    expect(vm.state().running).toEqual([])
    await hv.settled()
    expect(await portOpen(vm.sshPort)).toBe(false)
    expect(await portOpen(vm.enginePort)).toBe(false)
    expect((await runCli(['status', 'v1'], { store, env })).stdout.trim()).toBe('Stopped')
  }, 60_000)

  it('starts v1 again: the same disk, the engine back; status, ip and ssh answer', async () => {
    const r = await runCli(['start', 'v1'], { store, env, timeoutMs: 120_000 })
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    await hv.settled()
    await expectServing('v1', { store, env })
  }, 150_000)

  // stop --save: VMware suspends the VM (its state in v1.vmss, named by the .vmx); start resumes it.
  const dir = () => join(store, 'machines', 'v1')
  const vmx = () => join(dir(), 'v1.vmx')
  const vmwareLog = () => readFile(join(dir(), 'vmware.log'), 'utf8')
  const status = async () => (await runCli(['status', 'v1'], { store, env })).stdout.trim()
  const callsSince = (n: number) => vm.calls().slice(n).map((c) => c.slice(3).join(' '))
  const guest = () => hv.guests.get(vmx())!

  it('stop --save v1: the guest flushes its disks, then vmrun suspend hard; status Saved, the state beside the .vmx, the guest down', async () => {
    const before = vm.calls().length
    const execs = guest().disk.commands().length
    const r = await runCli(['stop', '--save', 'v1'], { store, env })
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(callsSince(before).filter((c) => !c.startsWith('list'))).toEqual([`suspend ${vmx()} hard`])
    // Asked over SSH (the fake guest has no `sync`: that is said, and the save goes on).
    expect(guest().disk.commands().slice(execs)).toEqual(['sync'])
    expect(r.stdout).toMatch(/^"v1" could not be asked to flush its disks before saving \(.*\): saving it anyway$/m)
    await hv.settled()
    expect(vm.state().running).toEqual([])
    expect(existsSync(join(dir(), 'v1.vmss'))).toBe(true)
    expect(await readFile(vmx(), 'utf8')).toMatch(/^checkpoint\.vmState = "v1\.vmss"$/m)
    expect(await portOpen(vm.sshPort)).toBe(false)
    expect(await status()).toBe('Saved')
    expect((await runCli(['ls'], { store, env })).stdout).toMatch(/^v1\s+-\s+vmware\s+Saved\s/m)
  }, 60_000)

  it('stop --save of a Saved machine: one line saying it is saved and how to resume it', async () => {
    const before = vm.calls().length
    const r = await runCli(['stop', '--save', 'v1'], { store, env })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/^Error: v1: Machine "v1" is already saved: "\S+ start v1" resumes it\n$/)
    expect(callsSince(before)).toEqual(['list'])
  }, 60_000)

  it('start v1 resumes it (VMware\'s resume, not a boot): the state used up, the clock set over SSH, the engine answering', async () => {
    const log = await vmwareLog()
    const execs = guest().disk.commands().length
    const r = await runCli(['start', 'v1'], { store, env, timeoutMs: 120_000 })
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(r.stdout).toContain('Resuming "v1" from its saved state')
    // The fake vmrun logs how it started the VM, as VMware's vmware.log does.
    expect((await vmwareLog()).slice(log.length)).toBe(`fake vmware: resumed ${vmx()} from v1.vmss\n`)
    expect(existsSync(join(dir(), 'v1.vmss'))).toBe(false)
    // The clock's resync asked the guest its time over SSH. The fake guest (a chroot run as this
    // host's root) has no `date`, so it could not set the clock of the host: that is said in one line.
    expect(guest().disk.commands().slice(execs)).toEqual(['date +%s%N'])
    expect(r.stdout).toMatch(/^The clock of "v1" could not be set after the resume \(the guest's date said ".*date: command not found"\): it is behind by the time it was saved$/m)
    await hv.settled()
    await expectServing('v1', { store, env })
  }, 150_000)

  it('stop v1 of a Saved machine discards the state (no vmrun stop): Stopped, and the next start boots', async () => {
    expect((await runCli(['stop', '--save', 'v1'], { store, env })).code).toBe(0)
    const before = vm.calls().length
    const r = await runCli(['stop', 'v1'], { store, env })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('Discarding the saved state of "v1": its next start boots it afresh')
    expect(callsSince(before).every((c) => c.startsWith('list'))).toBe(true)
    expect(existsSync(join(dir(), 'v1.vmss')) || existsSync(join(dir(), 'v1.vmem'))).toBe(false)
    expect(await readFile(vmx(), 'utf8')).toMatch(/^checkpoint\.vmState = ""$/m)
    expect(await status()).toBe('Stopped')
    const log = await vmwareLog()
    expect((await runCli(['start', 'v1'], { store, env, timeoutMs: 120_000 })).code).toBe(0)
    expect((await vmwareLog()).slice(log.length)).toBe(`fake vmware: powered on ${vmx()}\n`)
    await hv.settled()
  }, 150_000)

  it('kill v1 of a Saved machine discards the state too; stop --save of a stopped machine is refused in one line', async () => {
    expect((await runCli(['stop', '--save', 'v1'], { store, env })).code).toBe(0)
    const r = await runCli(['kill', 'v1'], { store, env })
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(join(dir(), 'v1.vmss'))).toBe(false)
    expect(await status()).toBe('Stopped')
    const again = await runCli(['stop', '--save', 'v1'], { store, env })
    expect(again.code).not.toBe(0)
    expect(again.stderr).toMatch(/^Error: v1: Machine "v1" is already stopped\n$/)
    expect((await runCli(['start', 'v1'], { store, env, timeoutMs: 120_000 })).code).toBe(0)
    await hv.settled()
  }, 150_000)

  it('rm v1 of a Saved machine leaves nothing: no running VM or disk in VMware, no file, no guest, no open port', async () => {
    expect((await runCli(['stop', '--save', 'v1'], { store, env })).code).toBe(0)
    expect(await status()).toBe('Saved')
    const r = await runCli(['rm', '-y', 'v1'], { store, env })
    expect(r.code, r.stderr).toBe(0)
    await hv.settled()
    expect(vm.state()).toEqual({ running: [], disks: {} })
    expect(vm.calls().slice(-2).map((c) => c[3])).toEqual(['list', 'deleteVM'])
    await expectGone('v1', { store, guests: hv.guests, ports: [vm.sshPort, vm.enginePort] })
  }, 60_000)
})

describe('a create failing at any vmrun / vmware-vdiskmanager call rolls back everything, in one line', () => {
  const steps: Array<[string, RegExp]> = [
    ['list:1', /vmrun list failed: Unable to connect to host\./],
    ['-r:1', /vmware-vdiskmanager -r failed: Failed to convert disk: The file specified is not a virtual disk/],
    ['-x:1', /vmware-vdiskmanager -x failed: Failed to expand the disk/],
    ['start:1', /vmrun start failed: The file is already in use/],
    ['getGuestIPAddress:1+', /"f1" got no IP address within 3 s/],
  ]
  let image: string
  beforeAll(async () => {
    image = await rawImage()
  })
  for (const [fail, line] of steps) {
    it(`at ${fail}`, async () => {
      const vm = await fakeVmware()
      const hv = startHypervisor(vm)
      const store = await tempStore()
      // An address that never comes is waited for 3 s here.
      const r = await runCli(['create', '-d', 'vmware', '--vmware-image', image, 'f1'], { store, env: { ...vm.env, ...FAST, MACHINE_VMWARE_IP_TIMEOUT_MS: '3000', FAKE_VMWARE_FAIL: fail }, timeoutMs: 120_000 })
      await hv.settled()
      expect(r.code).not.toBe(0)
      const errLines = r.stderr.split('\n').filter((l) => /^Error/i.test(l))
      expect(errLines.length, r.stderr).toBe(1)
      expect(r.stderr).toMatch(line)
      expect(vm.state()).toEqual({ running: [], disks: {} })
      expect(existsSync(join(store, 'machines', 'f1'))).toBe(false)
      expect(readdirSync(join(store, 'machines')).length).toBe(0)
      expect(hv.guests.size).toBe(0)
      await hv.stop()
    }, 120_000)
  }
})

describe('Ctrl-C during create -d vmware', () => {
  it('powers the started VM off, deletes it and every file, and exits 130', async () => {
    // No hypervisor: the guest never comes up, so create waits for its address (getGuestIPAddress -wait).
    const vm = await fakeVmware()
    const store = await tempStore()
    const cli = startCli(['create', '-d', 'vmware', '--vmware-image', await rawImage(), 'int1'], { store, env: { ...vm.env, ...FAST } })
    await cli.until(() => cli.stdout().includes('to get an address'), 'the address wait')
    expect(vm.state().running).toEqual([join(store, 'machines', 'int1', 'int1.vmx')])
    cli.proc.kill('SIGINT')
    expect(await cli.exit).toBe(130)
    expect(cli.stderr().trimEnd().split('\n').pop()).toBe('Error: Interrupted')
    expect(vm.state()).toEqual({ running: [], disks: {} })
    expect(vm.calls().slice(-3).map((c) => c.slice(3, 4).concat(c.slice(5)).join(' '))).toEqual(['list', 'stop hard', 'deleteVM'])
    expect(existsSync(join(store, 'machines', 'int1'))).toBe(false)
  }, 120_000)
})

describe('create -d vmware refuses bad flags in one line, before anything is made', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--vmware-boot2docker-url', 'https://example.invalid/b2d.iso'], /boot2docker is no longer used .*--vmware-image URL/],
    [['--vmware-configdrive-url', 'https://example.invalid/c.iso'], /a downloaded config drive is no longer used/],
    [['--vmware-network-type', 'custom'], /--vmware-network-type.*nat, bridged, hostonly/],
    // A value that would end a .vmx line and add a setting, shown escaped on the one error line.
    [['--vmware-network-type', 'nat"\nethernet0.present = "FALSE'], /--vmware-network-type must be one of nat, bridged, hostonly, got "nat\\"\\nethernet0/],
    [['--vmware-memory-size', '1023'], /multiple of 4/],
    [['--vmware-ssh-user', 'root;rm'], /is not a login name/],
  ]
  for (const [flags, line] of cases) {
    it(flags.join(' '), async () => {
      const vm = await fakeVmware()
      const store = await tempStore()
      const r = await runCli(['create', '-d', 'vmware', ...flags, 'b1'], { store, env: vm.env })
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(line)
      expect(r.stderr.trim().split('\n').filter((l) => /^Error/.test(l)).length).toBe(1)
      expect(vm.calls()).toEqual([])
      expect(existsSync(join(store, 'machines', 'b1'))).toBe(false)
    })
  }
})
