/**
 * Golden transcripts of the vmware driver: the exact vmrun / vmware-vdiskmanager argv of
 * pre-create checks, create, state, start, stop, kill and rm, with an injected runner replaying
 * the real tools' recorded output (test/drivers/fixtures/vmware/), and a create that fails at
 * each step leaving none of its files. VMware itself cannot run here; the end-to-end test runs
 * the built CLI against fake tools on PATH instead (vmware.e2e.test.ts).
 */
import { existsSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DriverContext, DriverDefinition } from '../../src/driver-kit/contract.js'
import { makeDriverContext } from '../../src/driver-kit/conformance.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { readIso } from '../e2e/image/iso-reader.js'
import vmware from '../../drivers/vmware/index.js'
import { machineFiles, VmwareDriver } from '../../drivers/vmware/driver.js'
import type { options } from '../../drivers/vmware/options.js'
import { parseVmx } from '../../drivers/vmware/vmx.js'
import { errorLineAsync } from '../helpers/errors.js'
import { writeVmxKey } from '../helpers/fake-vmrun.js'
import { freePort } from '../helpers/sshd.js'
import { tempDir } from '../helpers/tmp.js'
import { recordedTools, verbOf, VMWARE_FIXTURES, vmwareFixture, type ToolAnswer } from '../helpers/vmware-transcript.js'

const definition = vmware as unknown as DriverDefinition
const ENV = { MACHINE_POLL_INTERVAL_MS: '1', MACHINE_VMWARE_IP_TIMEOUT_MS: '50' }

interface Setup {
  ctx: DriverContext<typeof options>
  dir: string
  image: string
  share: string
}

async function setup(flags: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = ENV): Promise<Setup> {
  const store = await tempDir('vmware-store-')
  const share = await tempDir('vmware-share-')
  const image = join(await tempDir('vmware-image-'), 'debian-12-generic-amd64.raw')
  const img = Buffer.alloc(1024 * 1024)
  img.writeUInt16LE(0xaa55, 510)
  await writeFile(image, img)
  const ctx = (await makeDriverContext(definition, { 'vmware-image': image, ...flags }, env, store, 'default')) as unknown as DriverContext<typeof options>
  return { ctx, dir: ctx.machineDir, image, share }
}

/**
 * A VMware whose one VM runs after `start` until a `stop` or `suspend`; `override` answers first
 * (a failure, a hang). A suspend leaves VMware's files (`default.vmss`, `default.vmem`, the .vmx's
 * checkpoint.vmState, as the fake vmrun does) and a start of a suspended VM resumes it, using them up.
 */
function vmwareHost(s: Setup, override: (call: readonly string[]) => ToolAnswer | undefined = () => undefined, leases: string[] = []) {
  let running = false
  const r = recordedTools((call) => {
    const o = override(call)
    if (o) return o
    const vmx = machineFiles(s.dir, 'default').vmx
    switch (verbOf(call)) {
      case 'list':
        return { stdout: vmwareFixture(running ? 'vmrun-list-running.txt' : 'vmrun-list-none.txt', s.dir) }
      case 'start':
        if (!running && existsSync(join(s.dir, 'default.vmss'))) {
          rmSync(join(s.dir, 'default.vmss'))
          rmSync(join(s.dir, 'default.vmem'), { force: true })
          writeVmxKey(vmx, 'checkpoint.vmState', '')
        }
        running = true
        return {}
      case 'suspend':
        // vmrun suspend prints nothing on success (VMware's "Using vmrun" guide); a stopped VM: "not powered on".
        if (!running) return { fail: vmwareFixture('error-not-powered-on.txt', s.dir) }
        running = false
        writeFileSync(join(s.dir, 'default.vmss'), 'state')
        writeFileSync(join(s.dir, 'default.vmem'), 'memory')
        writeVmxKey(vmx, 'checkpoint.vmState', 'default.vmss')
        return {}
      case 'stop':
        if (!running) return { fail: vmwareFixture('error-not-powered-on.txt', s.dir) }
        running = false
        return {}
      case 'getGuestIPAddress':
        return { stdout: vmwareFixture('getGuestIPAddress.txt') }
      case '-r':
        return { stdout: vmwareFixture('vdiskmanager-convert.txt', s.dir) }
      case '-x':
        return { stdout: vmwareFixture('vdiskmanager-expand.txt') }
      default:
        return {}
    }
  })
  const d = new VmwareDriver(s.ctx, { tools: r.tools, platform: 'linux', arch: 'x86_64', share: { dir: s.share, name: 'hosthome' }, dhcpFiles: () => ({ conf: [], leases }) })
  return { d, ...r, setRunning: (v: boolean) => (running = v) }
}

async function createMachine(d: VmwareDriver, journal = new MemoryJournal()): Promise<MemoryJournal> {
  await d.preCreateCheck()
  await d.create(journal)
  return journal
}

describe('vmware create: the golden transcript', () => {
  it('checks VMware answers, converts the raw image through a flat descriptor, grows it, starts the VM and asks its address', async () => {
    const s = await setup()
    const { d, calls } = vmwareHost(s)
    await createMachine(d)
    const f = machineFiles(s.dir, 'default')
    expect(calls).toEqual([
      ['vmrun', '-T', 'ws', 'list'],
      ['vmware-vdiskmanager', '-r', f.descriptor, '-t', '0', f.disk],
      ['vmware-vdiskmanager', '-x', '20000MB', f.disk],
      ['vmrun', '-T', 'ws', 'start', f.vmx, 'nogui'],
      ['vmrun', '-T', 'ws', 'getGuestIPAddress', f.vmx, '-wait'],
    ])
    // The descriptor was temporary; the .vmx and seed stay.
    expect(existsSync(f.descriptor)).toBe(false)
    expect(existsSync(f.vmx) && existsSync(f.seed)).toBe(true)
    expect(await d.sshInfo()).toMatchObject({ host: '192.168.101.128', port: 22, user: 'docker' })
    expect((await d.sshInfo()).hostKeys?.[0]).toMatch(/^ssh-ed25519 /)
    expect(await d.engineUrl()).toBe('tcp://192.168.101.128:2376')
    expect(s.ctx.config).toMatchObject({ IPAddress: '192.168.101.128', SSHUser: 'docker', SSHPort: 22, EnginePort: 2376, MACAddress: expect.stringMatching(/^00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/) })
  })

  it('writes a .vmx naming the disk, the seed CD, the network type, the static MAC and the share', async () => {
    const s = await setup({ 'vmware-network-type': 'bridged', 'vmware-cpu-count': 2, 'vmware-memory-size': 2048 })
    const { d } = vmwareHost(s)
    await createMachine(d)
    const vmx = parseVmx(await readFile(machineFiles(s.dir, 'default').vmx, 'utf8'))
    expect(Object.fromEntries(['displayname', 'numvcpus', 'memsize', 'ethernet0.connectiontype', 'ethernet0.addresstype', 'ethernet0.address', 'scsi0:0.filename', 'sata0:1.filename', 'sata0:1.devicetype', 'sharedfolder0.hostpath', 'sharedfolder0.guestname', 'isolation.tools.hgfs.disable'].map((k) => [k, vmx.get(k)]))).toEqual({
      displayname: 'default',
      numvcpus: '2',
      memsize: '2048',
      'ethernet0.connectiontype': 'bridged',
      'ethernet0.addresstype': 'static',
      'ethernet0.address': s.ctx.config.MACAddress,
      'scsi0:0.filename': 'default.vmdk',
      'sata0:1.filename': 'seed.iso',
      'sata0:1.devicetype': 'cdrom-image',
      'sharedfolder0.hostpath': s.share,
      'sharedfolder0.guestname': 'hosthome',
      'isolation.tools.hgfs.disable': 'FALSE',
    })
  })

  it('writes a seed with our user and key, the pinned host key, DHCP on the static MAC, open-vm-tools and the share mount', async () => {
    const s = await setup()
    const { d } = vmwareHost(s)
    await createMachine(d)
    const vol = readIso(await readFile(machineFiles(s.dir, 'default').seed)).find((v) => v.kind === 'joliet')!
    expect(vol.volumeId).toBe('cidata')
    const user = JSON.parse(vol.files.get('user-data')!.toString('utf8').replace(/^#cloud-config\n/, '')) as Record<string, any>
    expect(user.users[0]).toMatchObject({ name: 'docker', ssh_authorized_keys: [expect.stringMatching(/^ssh-rsa /)] })
    expect(user.ssh_keys.ed25519_public).toBe((s.ctx.config.SSHHostKeys as string[])[0])
    expect(user.packages).toEqual(['open-vm-tools'])
    // The engine's installation over SSH waits for that apt run instead of failing on its lock.
    expect(user.write_files).toEqual([{ path: '/etc/apt/apt.conf.d/90machine-wait-for-lock', content: 'DPkg::Lock::Timeout "600";\n', permissions: '0644' }])
    expect(user.mounts).toEqual([['.host:/hosthome', '/hosthome', 'fuse.vmhgfs-fuse', 'defaults,allow_other,nofail', '0', '0']])
    const net = JSON.parse(vol.files.get('network-config')!.toString('utf8')) as Record<string, any>
    expect(net.ethernets.nic).toEqual({ match: { macaddress: s.ctx.config.MACAddress }, 'set-name': 'eth0', dhcp4: true })
  })

  it('with --vmware-no-share, shares nothing', async () => {
    const s = await setup({ 'vmware-no-share': true })
    const { d } = vmwareHost(s)
    await createMachine(d)
    const vmx = parseVmx(await readFile(machineFiles(s.dir, 'default').vmx, 'utf8'))
    expect(vmx.get('sharedfolder0.hostpath')).toBeUndefined()
    expect(vmx.get('isolation.tools.hgfs.disable')).toBe('TRUE')
  })

  it('on macOS runs vmrun -T fusion', async () => {
    const s = await setup()
    const r = recordedTools((c) => (verbOf(c) === 'list' ? { stdout: vmwareFixture('vmrun-list-none.txt') } : {}))
    await new VmwareDriver(s.ctx, { tools: r.tools, platform: 'darwin' }).preCreateCheck()
    expect(r.calls).toEqual([['vmrun', '-T', 'fusion', 'list']])
  })

  it('refuses a qcow2 image in one line saying how to convert it, before any VMware call', async () => {
    const s = await setup()
    await writeFile(s.image, Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]))
    const { d, calls } = vmwareHost(s)
    const line = await errorLineAsync(() => createMachine(d))
    expect(line).toMatch(/VMware cannot read the qcow2 image .*qemu-img convert -O raw/)
    expect(calls.filter((c) => c[0] === 'vmware-vdiskmanager')).toEqual([])
  })

  it('says VMware is not set up when vmrun cannot reach it, before anything is made', async () => {
    const s = await setup()
    const { d } = vmwareHost(s, (c) => (verbOf(c) === 'list' ? { fail: vmwareFixture('error-no-host.txt') } : undefined))
    expect(await errorLineAsync(() => d.preCreateCheck())).toMatch(/^vmrun list failed: Unable to connect to host\..*start VMware Fusion\/Workstation once/)
    expect(existsSync(machineFiles(s.dir, 'default').vmx)).toBe(false)
  })
})

describe('vmware create: a failure at each step leaves none of its files', () => {
  const steps: Array<[string, (c: readonly string[]) => ToolAnswer | undefined]> = [
    ['the conversion', (c) => (verbOf(c) === '-r' ? { fail: vmwareFixture('vdiskmanager-error-not-a-disk.txt') } : undefined)],
    ['the growth', (c) => (verbOf(c) === '-x' ? { fail: 'Failed to expand the disk: Insufficient permission to access the file (0x3e80).\n' } : undefined)],
    ['vmrun start', (c) => (verbOf(c) === 'start' ? { fail: 'Error: The file is already in use\n' } : undefined)],
    ['the address (never known)', (c) => (verbOf(c) === 'getGuestIPAddress' ? { fail: vmwareFixture('error-tools-not-running.txt') } : undefined)],
  ]
  for (const [step, fail] of steps) {
    it(`at ${step}`, async () => {
      const s = await setup()
      const host = vmwareHost(s, fail)
      const journal = new MemoryJournal()
      await expect(createMachine(host.d, journal)).rejects.toThrow()
      const made = journal.entries().map((e) => e.id)
      const before = host.calls.length
      await host.d.remove(journal)
      const f = machineFiles(s.dir, 'default')
      for (const p of [f.vmx, f.disk, f.seed, f.descriptor]) expect(existsSync(p), p).toBe(false)
      expect(journal.entries()).toEqual([])
      expect(made).toContain(f.seed)
      // The VM is powered off (if it ran) and deleted in VMware.
      const rm = host.calls.slice(before).map((c) => c.slice(3, 4).concat(c.slice(5)).join(' '))
      expect(rm).toEqual(step.includes('address') ? ['list', 'stop hard', 'deleteVM'] : ['list', 'deleteVM'])
    })
  }
})

describe('vmware lifecycle: the golden transcripts', () => {
  async function created(override?: (c: readonly string[]) => ToolAnswer | undefined, leases: string[] = []) {
    const s = await setup()
    let over = override ?? (() => undefined)
    const host = vmwareHost(s, (c) => over(c), leases)
    const journal = await createMachine(host.d)
    host.calls.length = 0
    return { s, ...host, journal, vmx: machineFiles(s.dir, 'default').vmx, setOverride: (o: typeof over) => (over = o) }
  }

  it('state: Running when vmrun list names our .vmx, Stopped when not', async () => {
    const m = await created()
    expect(await m.d.state()).toBe('Running')
    m.setRunning(false)
    expect(await m.d.state()).toBe('Stopped')
    expect(m.calls).toEqual([['vmrun', '-T', 'ws', 'list'], ['vmrun', '-T', 'ws', 'list']])
  })

  it('state: a .vmx removed outside machine is one line saying how to forget the machine', async () => {
    const m = await created()
    await import('node:fs/promises').then((fs) => fs.rm(m.vmx))
    expect(await errorLineAsync(() => m.d.state())).toMatch(/The VMware VM of "default" is gone .*machine rm default/)
  })

  it('stop: a soft stop', async () => {
    const m = await created()
    await m.d.stop()
    expect(m.calls).toEqual([['vmrun', '-T', 'ws', 'list'], ['vmrun', '-T', 'ws', 'stop', m.vmx, 'soft']])
  })

  it('stop: a soft stop that hangs past its bound is followed by a hard one', async () => {
    const m = await created((c) => (verbOf(c) === 'stop' && c[5] === 'soft' ? { hang: true } : undefined))
    await m.d.stop()
    expect(m.calls).toEqual([['vmrun', '-T', 'ws', 'list'], ['vmrun', '-T', 'ws', 'stop', m.vmx, 'soft'], ['vmrun', '-T', 'ws', 'stop', m.vmx, 'hard']])
  })

  it('stop: a soft stop refused (no VMware Tools) is followed by a hard one', async () => {
    const m = await created((c) => (verbOf(c) === 'stop' && c[5] === 'soft' ? { fail: vmwareFixture('error-tools-not-running.txt') } : undefined))
    await m.d.stop()
    expect(m.calls.map((c) => c.slice(3, 4).concat(c.slice(5)).join(' '))).toEqual(['list', 'stop soft', 'stop hard'])
  })

  it('stop: "not powered on" (it stopped meanwhile) is success', async () => {
    const m = await created((c) => (verbOf(c) === 'stop' ? { fail: vmwareFixture('error-not-powered-on.txt') } : undefined))
    await m.d.stop()
    expect(m.calls.length).toBe(2)
  })

  it('kill: a hard stop', async () => {
    const m = await created()
    await m.d.kill()
    expect(m.calls).toEqual([['vmrun', '-T', 'ws', 'list'], ['vmrun', '-T', 'ws', 'stop', m.vmx, 'hard']])
  })

  it('start: vmrun start nogui, then the address', async () => {
    const m = await created()
    m.setRunning(false)
    await m.d.start()
    expect(m.calls).toEqual([['vmrun', '-T', 'ws', 'list'], ['vmrun', '-T', 'ws', 'start', m.vmx, 'nogui'], ['vmrun', '-T', 'ws', 'getGuestIPAddress', m.vmx, '-wait']])
  })

  it('start without VMware Tools in the guest: the address from the vmnet DHCP leases (the newest lease of our MAC)', async () => {
    const m = await created(undefined, [join(VMWARE_FIXTURES, 'dhcpd.leases')])
    m.setRunning(false)
    m.s.ctx.config.MACAddress = '00:50:56:2a:0b:7c'
    m.setOverride((c) => (verbOf(c) === 'getGuestIPAddress' ? { fail: vmwareFixture('error-tools-not-running.txt') } : undefined))
    await m.d.start()
    expect(m.s.ctx.config.IPAddress).toBe('192.168.101.131')
    expect(await m.d.engineUrl()).toBe('tcp://192.168.101.131:2376')
  })

  it('start: no address within the bound is one line naming the console', async () => {
    const m = await created()
    m.setRunning(false)
    m.setOverride((c) => (verbOf(c) === 'getGuestIPAddress' ? { fail: vmwareFixture('error-no-ip.txt') } : undefined))
    expect(await errorLineAsync(() => m.d.start())).toMatch(/"default" got no IP address within 0 s.*console\.log/)
  })

  it('rm of a running machine: hard stop, deleteVM, and the files go', async () => {
    const m = await created()
    await m.d.remove(m.journal)
    expect(m.calls).toEqual([['vmrun', '-T', 'ws', 'list'], ['vmrun', '-T', 'ws', 'stop', m.vmx, 'hard'], ['vmrun', '-T', 'ws', 'deleteVM', m.vmx]])
    for (const p of Object.values(machineFiles(m.s.dir, 'default'))) expect(existsSync(p), p).toBe(false)
  })

  it('rm of a stopped machine: deleteVM only; again: nothing to ask', async () => {
    const m = await created()
    m.setRunning(false)
    await m.d.remove(m.journal)
    expect(m.calls).toEqual([['vmrun', '-T', 'ws', 'list'], ['vmrun', '-T', 'ws', 'deleteVM', m.vmx]])
    m.calls.length = 0
    await m.d.remove(m.journal)
    expect(m.calls).toEqual([])
  })

  it('rm when VMware cannot open the .vmx any more: our files still go', async () => {
    const m = await created((c) => (verbOf(c) === 'deleteVM' ? { fail: vmwareFixture('error-cannot-open.txt', m.s.dir) } : undefined))
    m.setRunning(false)
    await m.d.remove(m.journal)
    expect(existsSync(m.vmx)).toBe(false)
  })

  it('rm after VMware was uninstalled: the machine\'s files still go', async () => {
    const m = await created()
    const d = new VmwareDriver(m.s.ctx, { platform: 'linux' })
    m.s.ctx.env.PATH = '/nonexistent'
    await d.remove(m.journal)
    for (const p of Object.values(machineFiles(m.s.dir, 'default'))) expect(existsSync(p), p).toBe(false)
  })

  it('rm refused by VMware (deleteVM fails otherwise) is one line, and the files stay for another try', async () => {
    const m = await created((c) => (verbOf(c) === 'deleteVM' ? { fail: 'Error: Insufficient permissions in host operating system\n' } : undefined))
    m.setRunning(false)
    expect(await errorLineAsync(() => m.d.remove(m.journal))).toBe('vmrun deleteVM failed: Insufficient permissions in host operating system')
    expect(existsSync(m.vmx)).toBe(true)
    expect(m.journal.entries().length).toBeGreaterThan(0)
  })

  it('ip of a stopped machine is one line saying to start it', async () => {
    const m = await created()
    m.setRunning(false)
    expect(await errorLineAsync(() => m.d.ip())).toMatch(/"default" is not running: it has no address.*machine start default/)
  })
})

describe('vmware stop --save: the golden transcripts', () => {
  /**
   * A created machine whose guest is "at" 127.0.0.1 on a port nothing listens on: the clock's
   * resync after a resume tries SSH there and says it failed (no guest here), never another address.
   */
  async function created() {
    const s = await setup({}, { ...ENV, MACHINE_VMWARE_SSH_PORT: String(await freePort()), MACHINE_VMWARE_CLOCK_SYNC_MS: '2000' })
    const lines: string[] = []
    ;(s.ctx as { log: unknown }).log = { info: (l: string) => lines.push(l), debug: () => undefined }
    const host = vmwareHost(s, (c) => (verbOf(c) === 'getGuestIPAddress' ? { stdout: '127.0.0.1\n' } : undefined))
    const journal = await createMachine(host.d)
    host.calls.length = 0
    lines.length = 0
    const f = machineFiles(s.dir, 'default')
    const vmxText = () => readFile(f.vmx, 'utf8')
    const verbs = () => host.calls.map((c) => c.slice(3, 4).concat(c.slice(5)).join(' '))
    return { s, ...host, journal, vmx: f.vmx, vmss: join(s.dir, 'default.vmss'), vmem: join(s.dir, 'default.vmem'), lines, vmxText, verbs }
  }

  it('save: vmrun suspend hard; then state is Saved (the .vmx names default.vmss, which exists)', async () => {
    const m = await created()
    await m.d.stop({ save: true })
    expect(m.calls).toEqual([['vmrun', '-T', 'ws', 'list'], ['vmrun', '-T', 'ws', 'suspend', m.vmx, 'hard']])
    expect(await m.d.state()).toBe('Saved')
    // The guest's disks flushed first over SSH: no guest answers here, so that is said and the save goes on.
    expect(m.lines[0]).toMatch(/^"default" could not be asked to flush its disks before saving \(.+\): saving it anyway$/)
    expect(m.lines[1]).toBe(`Saving the state of "default" beside ${m.vmx}`)
  })

  it('a resume VMware refuses is one line saying how to boot instead; the state stays until then', async () => {
    const m = await created()
    await m.d.stop({ save: true })
    const d = new VmwareDriver(m.s.ctx, {
      tools: recordedTools((c) => (verbOf(c) === 'list' ? { stdout: vmwareFixture('vmrun-list-none.txt') } : { fail: 'Error: Unknown error\n' })).tools,
      platform: 'linux',
    })
    // "Error: Unknown error" is vmrun's generic failure text (no exact wording of a refused state is on record).
    expect(await errorLineAsync(() => d.start())).toBe('"default" could not be resumed: vmrun start failed: Unknown error: run "machine stop default" to discard its saved state, then "machine start default" boots it')
    expect(await d.state()).toBe('Saved')
  })

  it('save of a stopped machine does nothing', async () => {
    const m = await created()
    await m.d.stop()
    m.calls.length = 0
    await m.d.stop({ save: true })
    expect(m.verbs()).toEqual(['list'])
    expect(await m.d.state()).toBe('Stopped')
  })

  it('save refused by VMware is one line naming the machine and the fix', async () => {
    const m = await created()
    const d = new VmwareDriver(m.s.ctx, { tools: recordedTools((c) => (verbOf(c) === 'list' ? { stdout: vmwareFixture('vmrun-list-running.txt', m.s.dir) } : { fail: 'Error: Insufficient permissions in host operating system\n' })).tools, platform: 'linux' })
    expect(await errorLineAsync(() => d.stop({ save: true }))).toBe(
      'The state of "default" could not be saved: vmrun suspend failed: Insufficient permissions in host operating system: run "machine stop default" to power it off instead',
    )
  })

  it('start of a Saved machine: the same vmrun start (VMware resumes), the address again, then the clock over SSH (said when it fails)', async () => {
    const m = await created()
    await m.d.stop({ save: true })
    m.calls.length = 0
    m.lines.length = 0
    await m.d.start()
    expect(m.calls).toEqual([['vmrun', '-T', 'ws', 'list'], ['vmrun', '-T', 'ws', 'start', m.vmx, 'nogui'], ['vmrun', '-T', 'ws', 'getGuestIPAddress', m.vmx, '-wait']])
    expect(m.lines[0]).toBe('Resuming "default" from its saved state')
    // No guest answers SSH here: the resync is tried at the guest's address and said to have failed.
    expect(m.lines.at(-1)).toMatch(/^The clock of "default" could not be set after the resume \(.*\): it is behind by the time it was saved$/)
    expect(await m.d.state()).toBe('Running')
    expect(existsSync(m.vmss)).toBe(false)
  })

  it('start of a Stopped machine does not touch the clock', async () => {
    const m = await created()
    await m.d.stop()
    m.lines.length = 0
    await m.d.start()
    expect(m.lines.join('\n')).not.toMatch(/clock|Resuming/)
  })

  for (const how of ['stop', 'kill'] as const) {
    it(`${how} of a Saved machine discards the state: the files go, checkpoint.vmState is cleared, no vmrun call but list; the next start boots`, async () => {
      const m = await created()
      await m.d.stop({ save: true })
      const before = await m.vmxText()
      m.calls.length = 0
      await m.d[how]()
      expect(m.verbs()).toEqual(['list'])
      expect(existsSync(m.vmss) || existsSync(m.vmem)).toBe(false)
      const after = await m.vmxText()
      expect(parseVmx(after).get('checkpoint.vmstate')).toBe('')
      // Every other line as it was.
      expect(after.split('\n').filter((l) => !/^checkpoint\.vmState/i.test(l))).toEqual(before.split('\n').filter((l) => !/^checkpoint\.vmState/i.test(l)))
      expect(m.lines).toContain('Discarding the saved state of "default": its next start boots it afresh')
      expect(await m.d.state()).toBe('Stopped')
      m.lines.length = 0
      await m.d.start()
      expect(m.lines.join('\n')).not.toMatch(/Resuming|clock/)
    })
  }

  it('rm of a Saved machine: the state goes, deleteVM, and no file is left', async () => {
    const m = await created()
    await m.d.stop({ save: true })
    m.calls.length = 0
    await m.d.remove(m.journal)
    expect(m.verbs()).toEqual(['list', 'deleteVM'])
    for (const p of [...Object.values(machineFiles(m.s.dir, 'default')), m.vmss, m.vmem]) expect(existsSync(p), p).toBe(false)
  })

  it('a .vmx naming a state outside the VM\'s directory (a path, .., a symbolic link) is no saved state, and discarding deletes nothing there', async () => {
    const m = await created()
    await m.d.stop()
    const outside = join(await tempDir('vmware-outside-'), 'victim.vmss')
    // Each name below points at a file that exists: only the name's form makes it no saved state.
    for (const p of [outside, join(m.s.dir, '..', 'victim.vmss'), join(m.s.dir, 'sub', 'default.vmss')]) {
      await mkdir(dirname(p), { recursive: true })
      await writeFile(p, 'keep me')
    }
    for (const name of [outside, '../victim.vmss', 'sub/default.vmss', 'sub\\default.vmss', `${m.s.dir}/sub/default.vmss`]) {
      writeVmxKey(m.vmx, 'checkpoint.vmState', name)
      expect(await m.d.state(), name).toBe('Stopped')
      await m.d.kill()
    }
    expect(await readFile(join(m.s.dir, '..', 'victim.vmss'), 'utf8')).toBe('keep me')
    expect(await readFile(join(m.s.dir, 'sub', 'default.vmss'), 'utf8')).toBe('keep me')
    symlinkSync(outside, m.vmss)
    writeVmxKey(m.vmx, 'checkpoint.vmState', 'default.vmss')
    expect(await m.d.state()).toBe('Stopped')
    await m.d.kill()
    expect(await readFile(outside, 'utf8')).toBe('keep me')
  })
})
