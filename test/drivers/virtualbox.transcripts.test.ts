/**
 * Golden transcripts of the virtualbox driver: the exact VBoxManage argv sequence of pre-create
 * checks, create, state, start, stop, kill and rm, with an injected runner replaying the real
 * tool's recorded output (test/drivers/fixtures/virtualbox/). VirtualBox itself cannot run here;
 * the end-to-end tests run the built CLI against a stateful fake VBoxManage on PATH instead.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { DriverContext, DriverDefinition } from '../../src/driver-kit/contract.js'
import { makeDriverContext } from '../../src/driver-kit/conformance.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { readIso } from '../e2e/image/iso-reader.js'
import virtualbox from '../../drivers/virtualbox/index.js'
import { subcommand } from '../../drivers/virtualbox/client.js'
import { natMacFor, VirtualBoxDriver } from '../../drivers/virtualbox/driver.js'
import type { options } from '../../drivers/virtualbox/options.js'
import type { HostProbe } from '../../drivers/virtualbox/vtx.js'
import { errorLineAsync } from '../helpers/errors.js'
import { tempDir } from '../helpers/tmp.js'
import { argsStart, fixture, lines, recordedVBoxManage, type Rule } from '../helpers/vbox-transcript.js'

const definition = virtualbox as unknown as DriverDefinition
const vtxHost: HostProbe = { platform: 'linux', cpuFeatures: async () => 'flags\t\t: fpu vme de pse vmx sse2', hypervisorPresent: async () => false }
const ENV = { MACHINE_POLL_INTERVAL_MS: '1' }

interface Setup {
  ctx: DriverContext<typeof options>
  dir: string
  store: string
  share: string
  image: string
}

async function setup(flags: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = ENV): Promise<Setup> {
  const store = await tempDir('vbox-store-')
  const share = await tempDir('vbox-share-')
  const image = join(await tempDir('vbox-image-'), 'debian-12-generic-amd64.raw')
  // A raw image: a boot sector's signature is enough for the format check (no qcow2 magic).
  const img = Buffer.alloc(1024 * 1024)
  img.writeUInt16LE(0xaa55, 510)
  await writeFile(image, img)
  const ctx = (await makeDriverContext(definition, { 'virtualbox-image': image, 'virtualbox-share-folder': `${share}:work`, ...flags }, env, store, 'default')) as unknown as DriverContext<typeof options>
  return { ctx, dir: ctx.machineDir, store, share, image }
}

const driverOf = (s: Setup, rules: Rule[], host: HostProbe = vtxHost) => {
  const r = recordedVBoxManage(rules)
  const d = new VirtualBoxDriver(s.ctx, { vbm: r.vbm, host, interfaces: () => ({ lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }] }), platform: 'linux' })
  return { d, ...r }
}

const vmInfo = (state: string, dir: string) => ({ stdout: fixture(`showvminfo-${state}.txt`, dir) })
const notFound = { fail: fixture('error-not-found.txt') }

/** Rules answering a whole create with the recorded outputs (host-only adapter vboxnet0 reused). */
function createRules(dir: string, extra: Rule[] = []): Rule[] {
  return [
    ...extra,
    { when: argsStart('--version'), answer: { stdout: fixture('version-7.0.txt') } },
    { when: argsStart('showvminfo'), answer: notFound, times: 1 },
    { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs.txt') } },
    { when: argsStart('list', 'dhcpservers'), answer: { stdout: fixture('list-dhcpservers.txt') } },
    { when: argsStart('convertfromraw'), answer: { stdout: fixture('convertfromraw.txt') } },
    { when: argsStart('showmediuminfo'), answer: { stdout: fixture('showmediuminfo.txt', dir) } },
    { when: argsStart('createvm'), answer: { stdout: fixture('createvm.txt', dir) } },
    { when: argsStart('startvm'), answer: { stdout: fixture('startvm.txt') } },
    { when: argsStart('showvminfo'), answer: vmInfo('running', dir) },
    { when: () => true, answer: {} },
  ]
}

/** The create the CLI runs: pre-create checks, the certificate's names (which take the host-only address), create. */
async function createMachine(d: VirtualBoxDriver, journal = new MemoryJournal()): Promise<MemoryJournal> {
  await d.preCreateCheck()
  await d.certSans()
  await d.create(journal)
  return journal
}

describe('virtualbox create: the golden transcript', () => {
  it('checks, then converts the image, creates and configures the VM in docker-machine’s order, and starts it', async () => {
    const s = await setup()
    const { d, calls, unanswered } = driverOf(s, createRules(s.dir))
    await createMachine(d)
    const disk = join(s.dir, 'disk.vdi')
    const seed = join(s.dir, 'seed.iso')
    expect(unanswered).toEqual([])
    expect(calls).toEqual([
      // pre-create checks
      ['--version'],
      ['showvminfo', 'default', '--machinereadable'],
      ['list', 'hostonlyifs'],
      // the certificate's names: the fixed host-only address, outside the DHCP server's range
      ['list', 'dhcpservers'],
      // the disk
      ['convertfromraw', s.image, disk, '--format', 'VDI'],
      ['showmediuminfo', 'disk', disk],
      ['modifymedium', 'disk', disk, '--resize', '20000'],
      // the VM
      ['createvm', '--basefolder', s.dir, '--name', 'default', '--register'],
      [
        'modifyvm', 'default', '--firmware', 'bios', '--bioslogofadein', 'off', '--bioslogofadeout', 'off', '--bioslogodisplaytime', '0',
        '--biosbootmenu', 'disabled', '--ostype', 'Debian_64', '--cpus', '1', '--memory', '1024', '--acpi', 'on', '--ioapic', 'on',
        '--rtcuseutc', 'on', '--natdnshostresolver1', 'off', '--natdnsproxy1', 'on', '--cpuhotplug', 'off', '--pae', 'on', '--hpet', 'on',
        '--hwvirtex', 'on', '--nestedpaging', 'on', '--largepages', 'on', '--vtxvpid', 'on', '--accelerate3d', 'off',
        '--boot1', 'disk', '--boot2', 'dvd', '--uart1', '0x3F8', '4', '--uartmode1', 'file', join(s.dir, 'console.log'),
      ],
      ['modifyvm', 'default', '--nic1', 'nat', '--nictype1', '82540EM', '--cableconnected1', 'on', '--macaddress1', natMacFor('default')],
      ['modifyvm', 'default', '--natpf1', expect.stringMatching(/^ssh,tcp,127\.0\.0\.1,\d+,,22$/)],
      ['modifyvm', 'default', '--natpf1', expect.stringMatching(/^docker,tcp,127\.0\.0\.1,\d+,,2376$/)],
      ['list', 'hostonlyifs'],
      ['modifyvm', 'default', '--nic2', 'hostonly', '--nictype2', '82540EM', '--nicpromisc2', 'deny', '--hostonlyadapter2', 'vboxnet0', '--cableconnected2', 'on', '--macaddress2', '080027A83802'],
      ['storagectl', 'default', '--name', 'SATA', '--add', 'sata', '--hostiocache', 'on'],
      ['storageattach', 'default', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'dvddrive', '--medium', seed],
      ['storageattach', 'default', '--storagectl', 'SATA', '--port', '1', '--device', '0', '--type', 'hdd', '--medium', disk],
      ['sharedfolder', 'add', 'default', '--name', 'work', '--hostpath', s.share, '--automount'],
      ['setextradata', 'default', 'VBoxInternal2/SharedFoldersEnableSymlinksCreate/work', '1'],
      ['startvm', 'default', '--type', 'headless'],
      // the VM's log, read for a VT-x/AMD-V failure
      ['showvminfo', 'default', '--machinereadable'],
    ])
    // What the rest of the CLI reads back: 127.0.0.1 with the forwarded ports, and the fixed cluster address.
    const ssh = Number(/,(\d+),,22$/.exec(lines(calls).find((l) => l.includes('ssh,tcp'))!)![1])
    const engine = Number(/,(\d+),,2376$/.exec(lines(calls).find((l) => l.includes('docker,tcp'))!)![1])
    expect(await d.sshInfo()).toMatchObject({ host: '127.0.0.1', port: ssh, user: 'docker' })
    expect(await d.engineUrl()).toBe(`tcp://127.0.0.1:${engine}`)
    expect(await d.ip()).toBe('127.0.0.1')
    expect(await d.clusterAddress()).toBe('192.168.56.2')
    expect(await d.certSans()).toEqual(['127.0.0.1', 'localhost', '192.168.56.2'])
    expect(s.ctx.config).toMatchObject({ HostOnlyIP: '192.168.56.2', HostOnlyAdapter: 'vboxnet0', UUID: '3b0e6a4c-5f2a-4d8e-9c1b-2a7f6e0d9c11', IPAddress: '127.0.0.1', SSHUser: 'docker' })
  })

  it('writes a seed whose network-config fixes the host-only address by MAC, and whose user-data mounts the share and pins the host key', async () => {
    const s = await setup()
    const { d } = driverOf(s, createRules(s.dir))
    await createMachine(d)
    const joliet = readIso(await readFile(join(s.dir, 'seed.iso'))).find((v) => v.kind === 'joliet')!
    expect(joliet.volumeId).toBe('cidata')
    const files = Object.fromEntries([...joliet.files].map(([k, v]) => [k, v.toString('utf8')]))
    const net = JSON.parse(files['network-config']!) as { ethernets: Record<string, { match: { macaddress: string }; addresses?: string[]; dhcp4: boolean }> }
    expect(net.ethernets.hostonly).toMatchObject({ match: { macaddress: '08:00:27:a8:38:02' }, addresses: ['192.168.56.2/24'], dhcp4: false })
    expect(net.ethernets.nat).toMatchObject({ match: { macaddress: natMacFor('default').toLowerCase().match(/../g)!.join(':') }, dhcp4: true })
    const user = JSON.parse(files['user-data']!.replace(/^#cloud-config\n/, '')) as Record<string, unknown>
    expect(user.bootcmd).toEqual(["mkdir -p '/work' && mount -t vboxsf -o uid=1000 'work' '/work' || true"])
    expect((user.ssh_keys as Record<string, string>).ed25519_public).toBe((s.ctx.config.SSHHostKeys as string[])[0])
  })

  it('--virtualbox-no-share: no shared folder; -1 CPUs: all of them; flags reach modifyvm', async () => {
    const s = await setup({ 'virtualbox-no-share': true, 'virtualbox-cpu-count': '-1', 'virtualbox-memory': '2048', 'virtualbox-no-dns-proxy': true, 'virtualbox-host-dns-resolver': true, 'virtualbox-ui-type': 'gui', 'virtualbox-hostonly-nicpromisc': 'allow-all' })
    const { d, calls } = driverOf(s, createRules(s.dir))
    await createMachine(d)
    const l = lines(calls)
    expect(l.some((c) => c.startsWith('sharedfolder'))).toBe(false)
    const modify = l.find((c) => c.includes('--firmware'))!
    expect(modify).toMatch(/--cpus [1-9]\d* --memory 2048 /)
    expect(modify).toContain('--natdnshostresolver1 on --natdnsproxy1 off')
    expect(l).toContain('startvm default --type gui')
    expect(l.find((c) => c.includes('--nic2'))).toContain('--nicpromisc2 allow-all')
  })

  it('creates a host-only adapter when none matches, waits for it to be listed, and configures it (journaled first)', async () => {
    const s = await setup({ 'virtualbox-hostonly-cidr': '192.168.57.1/24' })
    let listed = 0
    const { d, calls } = driverOf(
      s,
      createRules(s.dir, [
        // Until it exists: the adapters of before (twice: the pre-create check, then ensureAdapter); then with vboxnet2.
        { when: argsStart('list', 'hostonlyifs'), answer: () => ({ stdout: fixture(++listed <= 3 ? 'list-hostonlyifs.txt' : 'list-hostonlyifs-new.txt') }) },
        { when: argsStart('hostonlyif', 'create'), answer: { stdout: fixture('hostonlyif-create.txt') } },
      ]),
    )
    const journal = await createMachine(d)
    const l = lines(calls)
    const from = l.indexOf('hostonlyif create')
    expect(l.slice(from - 1, from + 5)).toEqual([
      'list hostonlyifs',
      'hostonlyif create',
      'list hostonlyifs',
      'list hostonlyifs',
      'hostonlyif ipconfig vboxnet2 --ip 192.168.57.1 --netmask 255.255.255.0',
      'modifyvm default --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 vboxnet2 --cableconnected2 on --macaddress2 080027A83902',
    ])
    expect(journal.entries().find((e) => e.kind === 'hostonlyif')).toMatchObject({ id: '192.168.57.0/24', data: { name: 'vboxnet2', before: ['vboxnet0', 'vboxnet1'] } })
    expect(s.ctx.config.HostOnlyIP).toBe('192.168.57.2')
  })

  it('VirtualBox bug 14040: "hostonlyif create" fails yet makes the adapter, which is found and used', async () => {
    const s = await setup({ 'virtualbox-hostonly-cidr': '192.168.57.1/24' })
    let listed = 0
    const { d, calls } = driverOf(
      s,
      createRules(s.dir, [
        { when: argsStart('list', 'hostonlyifs'), answer: () => ({ stdout: fixture(++listed <= 4 ? 'list-hostonlyifs.txt' : 'list-hostonlyifs-new.txt') }) },
        { when: argsStart('hostonlyif', 'create'), answer: { fail: fixture('error-hostonlyif-create.txt') } },
      ]),
    )
    await createMachine(d)
    expect(lines(calls)).toContain('hostonlyif ipconfig vboxnet2 --ip 192.168.57.1 --netmask 255.255.255.0')
    expect(s.ctx.config.HostOnlyAdapter).toBe('vboxnet2')
  })

  it('an adapter that never appears is one line naming the bug, and the rollback removes what create made', async () => {
    const s = await setup({ 'virtualbox-hostonly-cidr': '192.168.57.1/24' })
    const { d } = driverOf(s, createRules(s.dir, [{ when: argsStart('hostonlyif', 'create'), answer: { fail: fixture('error-hostonlyif-create.txt') } }]))
    const journal = new MemoryJournal()
    expect(await errorLineAsync(() => createMachine(d, journal))).toBe(
      'The host-only adapter VirtualBox just created does not appear in "VBoxManage list hostonlyifs" (VirtualBox bug 14040): reinstall VirtualBox (or reboot so that its network driver reloads), then try again',
    )
    // Rolled back as the CLI does, with the VM as create left it: registered, powered off.
    const rb = driverOf(s, [{ when: argsStart('showvminfo'), answer: vmInfo('poweroff', s.dir) }, { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs.txt') } }, { when: () => true, answer: {} }])
    await rb.d.remove(journal)
    expect(lines(rb.calls)).toEqual(['showvminfo default --machinereadable', 'unregistervm default --delete', `closemedium disk ${join(s.dir, 'disk.vdi')} --delete`, 'list hostonlyifs'])
    expect(journal.entries()).toEqual([])
    expect(existsSync(join(s.dir, 'seed.iso'))).toBe(false)
    expect(existsSync(join(s.store, 'networks', 'vbox-192.168.57.1-24'))).toBe(false)
  })

  it('a CIDR VirtualBox refuses (E_ACCESSDENIED outside 192.168.56.0/21): one line saying how to widen the range, and the adapter made for it goes again', async () => {
    const s = await setup({ 'virtualbox-hostonly-cidr': '192.168.99.1/24' })
    let listed = 0
    const adapters = () => ({ stdout: fixture(++listed <= 3 ? 'list-hostonlyifs.txt' : 'list-hostonlyifs-new.txt') })
    const { d } = driverOf(
      s,
      createRules(s.dir, [
        { when: argsStart('list', 'hostonlyifs'), answer: adapters },
        { when: argsStart('hostonlyif', 'create'), answer: { stdout: fixture('hostonlyif-create.txt') } },
        { when: argsStart('hostonlyif', 'ipconfig'), answer: { fail: fixture('error-accessdenied.txt') } },
      ]),
    )
    const journal = new MemoryJournal()
    expect(await errorLineAsync(() => createMachine(d, journal))).toBe(
      'VBoxManage hostonlyif ipconfig failed: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available): VirtualBox >= 6.1.28 allows host-only addresses in 192.168.56.0/21 only: use a --virtualbox-hostonly-cidr there, or list your range in /etc/vbox/networks.conf (e.g. "* 10.0.0.0/8 192.168.0.0/16")',
    )
    const rb = driverOf(s, [
      { when: argsStart('showvminfo'), answer: vmInfo('poweroff', s.dir) },
      { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs-new.txt') } },
      { when: argsStart('list', 'dhcpservers'), answer: { stdout: fixture('list-dhcpservers.txt') } },
      { when: () => true, answer: {} },
    ])
    await rb.d.remove(journal)
    expect(lines(rb.calls)).toEqual([
      'showvminfo default --machinereadable',
      'unregistervm default --delete',
      `closemedium disk ${join(s.dir, 'disk.vdi')} --delete`,
      'list dhcpservers',
      'dhcpserver remove --netname HostInterfaceNetworking-vboxnet2',
      'hostonlyif remove vboxnet2',
    ])
    expect(existsSync(join(s.store, 'networks', 'vbox-192.168.99.1-24'))).toBe(false)
  })

  it('a failure at any VBoxManage step of create is rolled back: exactly what was made goes, nothing is left', async () => {
    const s0 = await setup()
    const full = driverOf(s0, createRules(s0.dir))
    await createMachine(full.d)
    // Each call of create (after the pre-create checks and the address), named without paths or ports.
    const key = (a: readonly string[]) => `${subcommand(a)}${a[0] === 'modifyvm' ? ` ${a[2]}` : ''}`
    const all = full.calls.map(key)
    const createSteps = all.slice(4, -1)
    for (const [j, failing] of createSteps.entries()) {
      const s = await setup()
      let seen = 0
      let vmMade = false
      const stepIndex = all.slice(0, j + 5).filter((x) => x === failing).length
      const rules = createRules(s.dir, [
        { when: (a) => key(a) === failing && ++seen === stepIndex, answer: { fail: fixture('error-locked.txt') } },
        // VirtualBox as it is: the VM exists once createvm made it.
        { when: argsStart('createvm'), answer: () => ((vmMade = true), { stdout: fixture('createvm.txt', s.dir) }) },
        { when: argsStart('showvminfo'), answer: () => (vmMade ? vmInfo('poweroff', s.dir) : notFound) },
      ])
      const { d, calls } = driverOf(s, rules)
      const journal = new MemoryJournal()
      await expect(createMachine(d, journal), `failing ${failing} #${stepIndex}`).rejects.toThrow()
      const made = journal.entries().map((e) => e.kind)
      calls.length = 0
      await d.remove(journal)
      const removed = lines(calls)
      expect(journal.entries(), failing).toEqual([])
      // The VM is unregistered (with its disk) when it exists (journaled before createvm, made by it); the disk closed when it was journaled.
      expect(removed.includes('unregistervm default --delete'), failing).toBe(vmMade)
      if (vmMade) expect(made, failing).toContain('vm')
      expect(removed.some((l) => l.startsWith('closemedium disk')), failing).toBe(made.includes('disk'))
      for (const f of ['disk.vdi', 'seed.iso']) expect(existsSync(join(s.dir, f)), `${failing}: ${f}`).toBe(false)
      expect(existsSync(join(s.store, 'networks', 'vbox-192.168.56.1-24')), failing).toBe(false)
    }
    expect(createSteps.length).toBeGreaterThan(15)
  })
})

describe('virtualbox pre-create checks', () => {
  it('refuses VirtualBox < 5, a VM of the same name, a host without VT-x, and a host-only CIDR on a host interface, each in one line', async () => {
    const s = await setup()
    const old = driverOf(s, [{ when: argsStart('--version'), answer: { stdout: fixture('version-4.3.txt') } }])
    expect(await errorLineAsync(() => old.d.preCreateCheck())).toMatch(/^VirtualBox 4\.3\.40r110317 is not supported: version 5 or later is needed: install VirtualBox >= 5/)

    const taken = driverOf(s, [{ when: argsStart('--version'), answer: { stdout: fixture('version-7.0.txt') } }, { when: argsStart('showvminfo'), answer: vmInfo('poweroff', '/elsewhere') }])
    expect(await errorLineAsync(() => taken.d.preCreateCheck())).toBe('VirtualBox already has a VM named "default": choose another machine name, or remove that VM in VirtualBox')

    const base: Rule[] = [
      { when: argsStart('--version'), answer: { stdout: fixture('version-5.2-ubuntu.txt') } },
      { when: argsStart('showvminfo'), answer: notFound },
      { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs.txt') } },
    ]
    const noVtx = driverOf(s, base, { platform: 'linux', cpuFeatures: async () => 'flags\t\t: fpu vme sse2', hypervisorPresent: async () => false })
    expect(await errorLineAsync(() => noVtx.d.preCreateCheck())).toMatch(/^This computer doesn't have VT-x\/AMD-V available: enable hardware virtualization \(Intel VT-x \/ AMD-V/)

    const hyperv = driverOf(s, base, { platform: 'win32', cpuFeatures: async () => 'vmx', hypervisorPresent: async () => true })
    expect(await errorLineAsync(() => hyperv.d.preCreateCheck())).toMatch(/^Hyper-V is enabled on this computer, and VirtualBox cannot use VT-x\/AMD-V alongside it: Hyper-V \(also used by WSL 2.*bcdedit \/set hypervisorlaunchtype off/)

    const lan = await setup({ 'virtualbox-hostonly-cidr': '192.168.1.1/24' })
    const r = recordedVBoxManage(base)
    const onLan = new VirtualBoxDriver(lan.ctx, { vbm: r.vbm, host: vtxHost, platform: 'linux', interfaces: () => ({ en0: [{ address: '192.168.1.23', netmask: '255.255.255.0', family: 'IPv4', mac: 'aa:bb:cc:dd:ee:ff', internal: false, cidr: '192.168.1.23/24' }] }) })
    expect(await errorLineAsync(() => onLan.preCreateCheck())).toBe(
      '--virtualbox-hostonly-cidr 192.168.1.1/24 collides with the host interface en0 (192.168.1.23/24): choose another network for --virtualbox-hostonly-cidr, e.g. inside 192.168.56.0/21',
    )
  })

  it('--virtualbox-no-vtx-check skips the host check (the probe is never asked)', async () => {
    const s = await setup({ 'virtualbox-no-vtx-check': true })
    const probe: HostProbe = { platform: 'linux', cpuFeatures: async () => { throw new Error('asked') }, hypervisorPresent: async () => { throw new Error('asked') } }
    const { d } = driverOf(s, createRules(s.dir), probe)
    await expect(d.preCreateCheck()).resolves.toBeUndefined()
  })
})

/** A created machine's driver with a fresh recorder, answering showvminfo with `state`'s fixture. */
async function created(rules: (dir: string) => Rule[], flags: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = ENV) {
  const s = await setup(flags, env)
  const first = driverOf(s, createRules(s.dir))
  const journal = await createMachine(first.d)
  const next = driverOf(s, rules(s.dir))
  return { s, journal, ...next }
}

describe('virtualbox state, start, stop, kill', () => {
  it('state maps every VMState of showvminfo --machinereadable', async () => {
    for (const [state, want] of [['running', 'Running'], ['poweroff', 'Stopped'], ['paused', 'Paused'], ['saved', 'Saved'], ['aborted', 'Stopped']] as const) {
      const { d, calls } = await created((dir) => [{ when: argsStart('showvminfo'), answer: vmInfo(state, dir) }])
      expect(await d.state(), state).toBe(want)
      expect(lines(calls)).toEqual(['showvminfo default --machinereadable'])
    }
    const { d } = await created(() => [{ when: argsStart('showvminfo'), answer: notFound }])
    expect(await errorLineAsync(() => d.state())).toBe('VirtualBox has no VM named "default": it was removed outside machine: run "machine rm default" to forget it')
  })

  it('start: a stopped VM gets its adapter checked, its ports kept, and startvm; a paused one is resumed; a running one is left', async () => {
    const stopped = await created((dir) => [
      { when: argsStart('showvminfo'), answer: vmInfo('poweroff', dir), times: 1 },
      { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs.txt') } },
      { when: argsStart('startvm'), answer: { stdout: fixture('startvm.txt') } },
      { when: argsStart('showvminfo'), answer: vmInfo('running', dir) },
    ])
    await stopped.d.start()
    expect(lines(stopped.calls)).toEqual(['showvminfo default --machinereadable', 'list hostonlyifs', 'startvm default --type headless', 'showvminfo default --machinereadable'])

    const paused = await created((dir) => [{ when: argsStart('showvminfo'), answer: vmInfo('paused', dir) }, { when: argsStart('controlvm'), answer: {} }])
    await paused.d.start()
    expect(lines(paused.calls)).toEqual(['showvminfo default --machinereadable', 'controlvm default resume'])

    const running = await created((dir) => [{ when: argsStart('showvminfo'), answer: vmInfo('running', dir) }])
    await running.d.start()
    expect(lines(running.calls)).toEqual(['showvminfo default --machinereadable'])
  })

  it('start: a VT-x/AMD-V failure in the VM log is one line with the fix, and the VM is powered off', async () => {
    const { s, d, calls } = await created((dir) => [
      { when: argsStart('showvminfo'), answer: vmInfo('poweroff', dir), times: 1 },
      { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs.txt') } },
      { when: argsStart('startvm'), answer: { stdout: fixture('startvm.txt') } },
      { when: argsStart('showvminfo'), answer: vmInfo('running', dir) },
      { when: argsStart('controlvm'), answer: {} },
    ])
    await mkdir(join(s.dir, 'default', 'Logs'), { recursive: true })
    await writeFile(join(s.dir, 'default', 'Logs', 'VBox.log'), fixture('vbox-log-vtx.txt'))
    expect(await errorLineAsync(() => d.start())).toMatch(/^The VM could not use VT-x\/AMD-V \(VBox\.log: "HM: HMR3Init: VT-x is disabled in the BIOS for all CPU modes"\): enable hardware virtualization/)
    expect(lines(calls).pop()).toBe('controlvm default poweroff')
  })

  it('start: startvm failing for want of VT-x is one line with VirtualBox’s reason and the fix', async () => {
    const { d } = await created((dir) => [
      { when: argsStart('showvminfo'), answer: vmInfo('poweroff', dir) },
      { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs.txt') } },
      { when: argsStart('startvm'), answer: { fail: fixture('error-vtx.txt') } },
    ])
    expect(await errorLineAsync(() => d.start())).toMatch(/^VBoxManage startvm failed: VT-x is not available \(VERR_VMX_NO_VMX\): enable hardware virtualization/)
  })

  it('stop: ACPI power button, then polls until powered off; paused is resumed first; stopped does nothing', async () => {
    let polls = 0
    const { d, calls } = await created((dir) => [
      { when: argsStart('showvminfo'), answer: () => vmInfo(++polls < 3 ? 'running' : 'poweroff', dir) },
      { when: argsStart('controlvm'), answer: {} },
    ])
    await d.stop()
    expect(lines(calls)).toEqual(['showvminfo default --machinereadable', 'controlvm default acpipowerbutton', 'showvminfo default --machinereadable', 'showvminfo default --machinereadable'])

    let p = 0
    const paused = await created((dir) => [{ when: argsStart('showvminfo'), answer: () => vmInfo(++p === 1 ? 'paused' : 'poweroff', dir) }, { when: argsStart('controlvm'), answer: {} }])
    await paused.d.stop()
    expect(lines(paused.calls).slice(0, 3)).toEqual(['showvminfo default --machinereadable', 'controlvm default resume', 'controlvm default acpipowerbutton'])

    const off = await created((dir) => [{ when: argsStart('showvminfo'), answer: vmInfo('poweroff', dir) }])
    await off.d.stop()
    expect(lines(off.calls)).toEqual(['showvminfo default --machinereadable'])
  })

  it('stop: a guest ignoring the power button is powered off after the bounded wait', async () => {
    let off = false
    const { d, calls } = await created(
      (dir) => [
        { when: argsStart('showvminfo'), answer: () => vmInfo(off ? 'poweroff' : 'running', dir) },
        { when: argsStart('controlvm', 'default', 'poweroff'), answer: () => ((off = true), {}) },
        { when: argsStart('controlvm'), answer: {} },
      ],
      {},
      { ...ENV, MACHINE_VBOX_STOP_TIMEOUT_MS: '30' },
    )
    await d.stop()
    const l = lines(calls)
    expect(l[1]).toBe('controlvm default acpipowerbutton')
    expect(l.slice(-1)).toEqual(['controlvm default poweroff'])
  })

  it('kill: controlvm poweroff; a saved VM has its state discarded; a stopped one is left', async () => {
    const run = await created((dir) => [{ when: argsStart('showvminfo'), answer: vmInfo('running', dir) }, { when: argsStart('controlvm'), answer: {} }])
    await run.d.kill()
    expect(lines(run.calls)).toEqual(['showvminfo default --machinereadable', 'controlvm default poweroff'])
    const saved = await created((dir) => [{ when: argsStart('showvminfo'), answer: vmInfo('saved', dir) }, { when: argsStart('discardstate'), answer: {} }])
    await saved.d.kill()
    expect(lines(saved.calls)).toEqual(['showvminfo default --machinereadable', 'discardstate default'])
    const stopped = await created((dir) => [{ when: argsStart('showvminfo'), answer: vmInfo('aborted', dir) }])
    await stopped.d.kill()
    expect(lines(stopped.calls)).toEqual(['showvminfo default --machinereadable'])
  })

  it('restart: stop then start', async () => {
    let state = 'running'
    const { d, calls } = await created((dir) => [
      { when: argsStart('showvminfo'), answer: () => vmInfo(state, dir) },
      { when: argsStart('controlvm', 'default', 'acpipowerbutton'), answer: () => ((state = 'poweroff'), {}) },
      { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs.txt') } },
      { when: argsStart('startvm'), answer: () => ((state = 'running'), { stdout: fixture('startvm.txt') }) },
    ])
    await d.restart()
    expect(lines(calls)).toEqual([
      'showvminfo default --machinereadable',
      'controlvm default acpipowerbutton',
      'showvminfo default --machinereadable',
      'showvminfo default --machinereadable',
      'list hostonlyifs',
      'startvm default --type headless',
      'showvminfo default --machinereadable',
    ])
  })
})

describe('virtualbox stop --save and the resume', () => {
  /** A created machine's driver whose user-facing lines are kept in `said`. */
  async function savedMachine(rules: (dir: string) => Rule[]) {
    const m = await created(rules, {}, { ...ENV, MACHINE_VBOX_SYNC_TIMEOUT_MS: '2000', MACHINE_VBOX_CLOCK_SYNC_MS: '2000' })
    const said: string[] = []
    m.s.ctx.log = { info: (l) => said.push(l), debug: () => {} }
    return { ...m, said }
  }
  /**
   * What every restore scenario answers alike: the VM's state as `state()` says, its host-only
   * adapter as at create, and a saved VM's refusal of any modifyvm (VirtualBox's own message).
   */
  const savedVmRules = (dir: string, state: () => string): Rule[] => [
    { when: argsStart('showvminfo'), answer: () => vmInfo(state(), dir) },
    { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs.txt') } },
    { when: (a) => a[0] === 'modifyvm' && state() === 'saved', answer: { fail: fixture('error-not-mutable.txt') } },
  ]
  /** Something listening on 127.0.0.1:`port` until the test ends (a forwarded port taken meanwhile). */
  async function occupy(port: number): Promise<void> {
    const srv = createServer()
    await new Promise<void>((res, rej) => srv.once('error', rej).listen({ host: '127.0.0.1', port, exclusive: true }, res))
    onTestFinished(() => new Promise<void>((res) => srv.close(() => res())))
  }

  it('saves a running VM with controlvm savestate after asking the guest to flush its disks; a paused one is saved as it is', async () => {
    const run = await savedMachine((dir) => [
      { when: argsStart('showvminfo'), answer: vmInfo('running', dir) },
      { when: argsStart('controlvm', 'default', 'savestate'), answer: { stdout: fixture('controlvm-savestate.txt') } },
    ])
    await run.d.stop({ save: true })
    expect(lines(run.calls)).toEqual(['showvminfo default --machinereadable', 'controlvm default savestate'])
    // No guest answers here: the flush is attempted over SSH on the machine's port, and said.
    expect(run.said).toEqual([
      expect.stringMatching(/^"default" could not be asked to flush its disks before saving \(.+\): saving it anyway$/),
      `Saving the state of "default" (VirtualBox keeps it in ${join(run.s.dir, 'default', 'Snapshots')})`,
    ])

    const paused = await savedMachine((dir) => [{ when: argsStart('showvminfo'), answer: vmInfo('paused', dir) }, { when: argsStart('controlvm'), answer: {} }])
    await paused.d.stop({ save: true })
    expect(lines(paused.calls)).toEqual(['showvminfo default --machinereadable', 'controlvm default savestate'])
    expect(paused.said).toEqual([`Saving the state of "default" (VirtualBox keeps it in ${join(paused.s.dir, 'default', 'Snapshots')})`])
  })

  it('stop --save of a stopped or saved VM does nothing; of a starting one is one line', async () => {
    for (const state of ['poweroff', 'aborted', 'saved']) {
      const m = await savedMachine((dir) => [{ when: argsStart('showvminfo'), answer: vmInfo(state, dir) }])
      await m.d.stop({ save: true })
      expect(lines(m.calls), state).toEqual(['showvminfo default --machinereadable'])
    }
    const starting = await savedMachine((dir) => [{ when: argsStart('showvminfo'), answer: () => ({ stdout: fixture('showvminfo-running.txt', dir).replace('VMState="running"', 'VMState="starting"') }) }])
    expect(await errorLineAsync(() => starting.d.stop({ save: true }))).toBe(`"default" is Starting: only a running VM's state can be saved: run "machine stop default" to power it off`)
    expect(lines(starting.calls)).toEqual(['showvminfo default --machinereadable'])
  })

  it('a savestate VirtualBox refuses is one line with its reason, saying the VM still runs', async () => {
    const m = await savedMachine((dir) => [
      { when: argsStart('showvminfo'), answer: vmInfo('running', dir) },
      { when: argsStart('controlvm', 'default', 'savestate'), answer: { fail: 'VBoxManage: error: Failed to save the machine state (VERR_DISK_FULL)\nVBoxManage: error: Details: code VBOX_E_IPRT_ERROR (0x80bb0005), component ConsoleWrap, interface IConsole\n' } },
    ])
    expect(await errorLineAsync(() => m.d.stop({ save: true }))).toBe(
      'The state of "default" could not be saved: VBoxManage controlvm savestate failed: Failed to save the machine state (VERR_DISK_FULL); it is still running: run "machine stop default" to power it off instead',
    )
  })

  it('stop of a saved VM discards its state, saying so; kill discards it too', async () => {
    const m = await savedMachine((dir) => [{ when: argsStart('showvminfo'), answer: vmInfo('saved', dir) }, { when: argsStart('discardstate'), answer: {} }])
    await m.d.stop()
    expect(lines(m.calls)).toEqual(['showvminfo default --machinereadable', 'discardstate default'])
    expect(m.said).toEqual(['Discarding the saved state of "default": its next start boots it afresh'])
  })

  it('start of a saved VM: its adapter checked, startvm restores it, no modifyvm, then the guest clock is set', async () => {
    let state = 'saved'
    const m = await savedMachine((dir) => [
      ...savedVmRules(dir, () => state),
      { when: argsStart('startvm'), answer: () => ((state = 'running'), { stdout: fixture('startvm.txt') }) },
    ])
    const ports = [m.s.ctx.config.SSHPort, m.s.ctx.config.EnginePort]
    await m.d.start()
    expect(lines(m.calls)).toEqual([
      'showvminfo default --machinereadable',
      'list hostonlyifs',
      'startvm default --type headless',
      // the VM's log, read for a VT-x/AMD-V failure; then its state (a VM saved while paused may come back paused)
      'showvminfo default --machinereadable',
      'showvminfo default --machinereadable',
    ])
    expect([m.s.ctx.config.SSHPort, m.s.ctx.config.EnginePort]).toEqual(ports)
    // No guest answers here: the clock's resync is attempted over SSH, and its failure said.
    expect(m.said).toEqual([expect.stringMatching(/^The clock of "default" could not be set after the resume \(.+\): it is behind by the time it was saved$/)])
  })

  it('start of a saved VM still restoring after startvm is waited for; one that comes back paused is resumed', async () => {
    // What showvminfo says after startvm, one call each: "restoring" is VirtualBox's VMState while it reads the state file.
    const after = ['restoring', 'restoring', 'paused']
    let state = 'saved'
    const m = await savedMachine((dir) => [
      { when: argsStart('showvminfo'), answer: () => ({ stdout: fixture('showvminfo-running.txt', dir).replace('VMState="running"', `VMState="${state === 'started' ? (after.shift() ?? 'paused') : state}"`) }) },
      { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs.txt') } },
      { when: argsStart('startvm'), answer: () => ((state = 'started'), { stdout: fixture('startvm.txt') }) },
      { when: argsStart('controlvm', 'default', 'resume'), answer: () => ((state = 'running'), {}) },
    ])
    await m.d.start()
    expect(lines(m.calls).slice(2)).toEqual([
      'startvm default --type headless',
      // the VM's log read for a VT-x problem (restoring), then its state polled until restored (restoring, paused)
      'showvminfo default --machinereadable',
      'showvminfo default --machinereadable',
      'showvminfo default --machinereadable',
      'controlvm default resume',
    ])
  })

  it('a forwarded port taken while saved: the VM is restored, then that forward moved with controlvm natpf1 (a saved VM refuses modifyvm)', async () => {
    let state = 'saved'
    const m = await savedMachine((dir) => [
      ...savedVmRules(dir, () => state),
      { when: argsStart('startvm'), answer: () => ((state = 'running'), { stdout: fixture('startvm.txt') }) },
      { when: argsStart('controlvm', 'default', 'natpf1'), answer: () => (state === 'running' ? {} : { fail: fixture('error-not-running.txt') }) },
    ])
    const oldSsh = Number(m.s.ctx.config.SSHPort)
    const engine = m.s.ctx.config.EnginePort
    await occupy(oldSsh)
    await m.d.start()
    const newSsh = Number(m.s.ctx.config.SSHPort)
    expect(newSsh).not.toBe(oldSsh)
    expect(m.s.ctx.config.EnginePort).toBe(engine)
    expect(lines(m.calls)).toEqual([
      'showvminfo default --machinereadable',
      'list hostonlyifs',
      'startvm default --type headless',
      'showvminfo default --machinereadable',
      'showvminfo default --machinereadable',
      'controlvm default natpf1 delete ssh',
      `controlvm default natpf1 ssh,tcp,127.0.0.1,${newSsh},,22`,
    ])
    expect(m.said[0]).toBe(`Port(s) of "default" were taken: SSH now on 127.0.0.1:${newSsh}, engine on 127.0.0.1:${engine}`)
  })

  it('a restore VirtualBox refuses (its older NAT engine: a forward that cannot bind) discards the state, moves the forward and boots', async () => {
    let state = 'saved'
    const m = await savedMachine((dir) => [
      ...savedVmRules(dir, () => state),
      { when: argsStart('startvm'), answer: { fail: fixture('error-nat-redir.txt') }, times: 1 },
      { when: argsStart('discardstate'), answer: () => ((state = 'poweroff'), {}) },
      { when: argsStart('modifyvm'), answer: {} },
      { when: argsStart('startvm'), answer: () => ((state = 'running'), { stdout: fixture('startvm.txt') }) },
    ])
    const oldSsh = Number(m.s.ctx.config.SSHPort)
    await occupy(oldSsh)
    await m.d.start()
    const newSsh = Number(m.s.ctx.config.SSHPort)
    expect(lines(m.calls)).toEqual([
      'showvminfo default --machinereadable',
      'list hostonlyifs',
      'startvm default --type headless',
      // the VM's log, read for a VT-x/AMD-V problem behind the failure (none)
      'showvminfo default --machinereadable',
      'discardstate default',
      'list hostonlyifs',
      'modifyvm default --natpf1 delete ssh',
      `modifyvm default --natpf1 ssh,tcp,127.0.0.1,${newSsh},,22`,
      'startvm default --type headless',
      'showvminfo default --machinereadable',
    ])
    // The ports are looked at once, before the restore (once the VM runs, its own forwards hold them).
    expect(m.said).toEqual([
      `Port(s) of "default" were taken: SSH now on 127.0.0.1:${newSsh}, engine on 127.0.0.1:${m.s.ctx.config.EnginePort}`,
      'The saved state of "default" cannot be resumed (VirtualBox could not restore it: VBoxManage startvm failed: NAT#0: configuration error: failed to set up redirection of 50022 to 10.0.2.15:22. Probably a conflict with existing services or other rules (VERR_NAT_REDIR_SETUP).): discarding it and booting afresh',
    ])
  })

  it('a host-only adapter re-made under another name: the saved card cannot move, so the state is discarded and the VM boots on it', async () => {
    let state = 'saved'
    const m = await savedMachine((dir) => [
      ...savedVmRules(dir, () => state),
      { when: argsStart('discardstate'), answer: () => ((state = 'poweroff'), {}) },
      { when: argsStart('modifyvm'), answer: {} },
      { when: argsStart('startvm'), answer: () => ((state = 'running'), { stdout: fixture('startvm.txt') }) },
    ])
    // Recorded at create as another adapter, since removed (VirtualBox lists vboxnet0 for the CIDR now).
    m.s.ctx.config.HostOnlyAdapter = 'vboxnet7'
    await m.d.start()
    expect(lines(m.calls)).toEqual([
      'showvminfo default --machinereadable',
      'list hostonlyifs',
      'discardstate default',
      'list hostonlyifs',
      'modifyvm default --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 vboxnet0 --cableconnected2 on --macaddress2 080027A83802',
      'startvm default --type headless',
      'showvminfo default --machinereadable',
    ])
    expect(m.said).toEqual([
      'The saved state of "default" cannot be resumed (its host-only adapter vboxnet7 is gone, and a saved VM\'s network cards cannot be changed): discarding it and booting afresh',
      'The host-only adapter of "default" is now vboxnet0',
    ])
  })

  it('a restore failing for the host (no VT-x) keeps the state for after the fix: one line, no discardstate', async () => {
    const m = await savedMachine((dir) => [
      { when: argsStart('showvminfo'), answer: vmInfo('saved', dir) },
      { when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs.txt') } },
      { when: argsStart('startvm'), answer: { fail: fixture('error-vtx.txt') } },
    ])
    expect(await errorLineAsync(() => m.d.start())).toMatch(/^VBoxManage startvm failed: VT-x is not available \(VERR_VMX_NO_VMX\): enable hardware virtualization/)
    expect(lines(m.calls)).not.toContain('discardstate default')
  })
})

describe('virtualbox rm', () => {
  it('powers a running VM off, unregisters and deletes it (retrying while its session is still locked), and forgets its address', async () => {
    let unregister = 0
    const { s, d, calls, journal } = await created((dir) => [
      { when: argsStart('showvminfo'), answer: vmInfo('running', dir) },
      { when: argsStart('controlvm'), answer: {} },
      { when: argsStart('unregistervm'), answer: () => (++unregister === 1 ? { fail: fixture('error-locked.txt') } : {}) },
      { when: argsStart('closemedium'), answer: {} },
    ])
    await d.remove(journal)
    expect(lines(calls)).toEqual([
      'showvminfo default --machinereadable',
      'controlvm default poweroff',
      'unregistervm default --delete',
      'unregistervm default --delete',
      `closemedium disk ${join(s.dir, 'disk.vdi')} --delete`,
    ])
    expect(existsSync(join(s.store, 'networks', 'vbox-192.168.56.1-24'))).toBe(false)
    // Again: harmless (the VM is gone).
    const again = driverOf(s, [{ when: argsStart('showvminfo'), answer: notFound }])
    await again.d.remove(journal)
    expect(lines(again.calls)).toEqual(['showvminfo default --machinereadable'])
  })

  it('removes a host-only adapter it created (and its DHCP server) with the last machine, not before', async () => {
    const cidr = { 'virtualbox-hostonly-cidr': '192.168.57.1/24' }
    const makeRules = (dir: string): Rule[] => {
      let listed = 0
      return createRules(dir, [
        { when: argsStart('list', 'hostonlyifs'), answer: () => ({ stdout: fixture(++listed <= 3 ? 'list-hostonlyifs.txt' : 'list-hostonlyifs-new.txt') }) },
        { when: argsStart('hostonlyif', 'create'), answer: { stdout: fixture('hostonlyif-create.txt') } },
      ])
    }
    const a = await setup(cidr)
    const da = driverOf(a, makeRules(a.dir))
    const ja = await createMachine(da.d)
    expect(a.ctx.config).toMatchObject({ HostOnlyIP: '192.168.57.2', HostOnlyAdapter: 'vboxnet2' })
    // A second machine of the same store joins the adapter the first one made, with the next address.
    const bCtx = (await makeDriverContext(definition, { 'virtualbox-image': a.image, 'virtualbox-no-share': true, ...cidr }, ENV, a.store, 'second')) as unknown as DriverContext<typeof options>
    const b: Setup = { ...a, ctx: bCtx, dir: bCtx.machineDir }
    const db = driverOf(b, [{ when: argsStart('list', 'hostonlyifs'), answer: { stdout: fixture('list-hostonlyifs-new.txt') } }, ...createRules(b.dir)])
    const jb = await createMachine(db.d)
    expect(bCtx.config).toMatchObject({ HostOnlyIP: '192.168.57.3', HostOnlyAdapter: 'vboxnet2' })
    expect(lines(db.calls).some((l) => l.startsWith('hostonlyif'))).toBe(false)

    const rules = (dir: string, name: string): Rule[] => [
      { when: argsStart('showvminfo'), answer: { stdout: fixture('showvminfo-poweroff.txt', dir).replaceAll('"default', `"${name}`).replaceAll('/default', `/${name}`) } },
      { when: argsStart('list', 'dhcpservers'), answer: { stdout: fixture('list-dhcpservers.txt') } },
      { when: () => true, answer: {} },
    ]
    const ra = driverOf(a, rules(a.dir, 'default'))
    await ra.d.remove(ja)
    expect(lines(ra.calls).filter((l) => /hostonlyif|dhcpserver/.test(l))).toEqual([])
    const rb = driverOf(b, rules(b.dir, 'second'))
    await rb.d.remove(jb)
    expect(lines(rb.calls).slice(3)).toEqual(['list dhcpservers', 'dhcpserver remove --netname HostInterfaceNetworking-vboxnet2', 'hostonlyif remove vboxnet2'])
    expect(existsSync(join(a.store, 'networks', 'vbox-192.168.57.1-24'))).toBe(false)
  })

  it('leaves a VM whose settings are outside the machine directory alone, in one line', async () => {
    const { d, calls, journal } = await created(() => [{ when: argsStart('showvminfo'), answer: vmInfo('running', '/Users/someone-else/VirtualBox VMs/default') }])
    expect(await errorLineAsync(() => d.remove(journal))).toBe(
      'The VirtualBox VM "default" is not this machine\'s (its settings are in /Users/someone-else/VirtualBox VMs/default/default/default.vbox): it was left alone: remove it in VirtualBox if it should go, then run "machine rm default" again',
    )
    expect(lines(calls)).toEqual(['showvminfo default --machinereadable'])
  })
})

describe('virtualbox rm: whose VM it is', () => {
  it('knows its VM when VirtualBox reports the machine directory by its real path (a symlinked store)', async () => {
    const { symlink } = await import('node:fs/promises')
    const real = await tempDir('vbox-real-')
    const link = join(await tempDir('vbox-link-'), 'store')
    await symlink(real, link)
    const ctx = (await makeDriverContext(definition, { 'virtualbox-no-share': true }, ENV, link, 'default')) as unknown as DriverContext<typeof options>
    // VirtualBox resolves the symlink: its CfgFile names the real directory.
    const realDir = join(real, 'machines', 'default')
    const r = recordedVBoxManage([{ when: argsStart('showvminfo'), answer: vmInfo('poweroff', realDir) }, { when: () => true, answer: {} }])
    const d = new VirtualBoxDriver(ctx, { vbm: r.vbm, platform: 'linux' })
    await d.remove(new MemoryJournal())
    expect(lines(r.calls)).toEqual(['showvminfo default --machinereadable', 'unregistervm default --delete'])
  })
})
