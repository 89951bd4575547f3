/**
 * The fake VBoxManage (test/helpers/fake-vboxmanage.ts) behaves as the real tool does, as far as
 * the virtualbox driver's tests rely on it: outputs in the real formats, the real refusals and
 * exit codes, state kept between calls (also under concurrent calls), failure injection. And the
 * fake hypervisor (fake-virtualbox.ts) serves a started VM's guest over SSH with the host key
 * from the VM's seed, and stops it when the VM is powered off. Each call runs the wrapper as a
 * process, as the CLI does.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, vi } from 'vitest'
import { generateHostKey } from '../../src/driver-kit/keys.js'
import { buildNoCloudSeed } from '../../src/driver-kit/seed-image.js'
import { fakeVirtualBox, portOpen, sshExec, startHypervisor, type FakeVirtualBox } from '../helpers/fake-virtualbox.js'
import { freePort, makeKey } from '../helpers/sshd.js'
import { tempDir } from '../helpers/tmp.js'

const NOT_FOUND = /^VBoxManage: error: Could not find a registered machine named 'ghost'\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND \(0x80bb0001\)/

async function newVm(vb: FakeVirtualBox, name = 'vm1'): Promise<{ base: string; uuid: string }> {
  const base = await tempDir('machine-vbox-base-')
  const r = await vb.run(['createvm', '--name', name, '--register', '--basefolder', base])
  expect(r.code, r.stderr).toBe(0)
  const uuid = /^UUID: (\S+)$/m.exec(r.stdout)![1]!
  return { base, uuid }
}

const vmState = async (vb: FakeVirtualBox, name = 'vm1'): Promise<string> => /^VMState="(\w+)"$/m.exec((await vb.run(['showvminfo', name, '--machinereadable'])).stdout)?.[1] ?? 'none'

describe('fake VBoxManage', () => {
  it('prints its version as the real one does', async () => {
    const vb = await fakeVirtualBox()
    const r = await vb.run(['--version'])
    expect(r).toEqual({ code: 0, stdout: '7.1.4r165100\n', stderr: '' })
  })

  it('refuses an unknown subcommand or option with a syntax error (exit 2) and changes nothing', async () => {
    const vb = await fakeVirtualBox()
    const bad = await vb.run(['frobnicate'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/\nSyntax error: Invalid command 'frobnicate'\n$/)
    await newVm(vb)
    const before = vb.state()
    const opt = await vb.run(['modifyvm', 'vm1', '--memory', '2048', '--bogus', 'on'])
    expect(opt.code).toBe(2)
    expect(opt.stderr).toMatch(/^Usage:\n\nVBoxManage modifyvm .*\n\nSyntax error: Unknown option: --bogus\n$/s)
    const value = await vb.run(['modifyvm', 'vm1', '--nic2', 'wifi'])
    expect(value).toMatchObject({ code: 1, stderr: "VBoxManage: error: Invalid nic2 argument 'wifi'\n" })
    // docker-machine passed `controlvm NAME resume --type headless`: the real tool takes no more words.
    expect((await vb.run(['controlvm', 'vm1', 'resume', '--type', 'headless'])).code).not.toBe(0)
    expect({ ...vb.state(), counts: {} }).toEqual({ ...before, counts: {} })
  })

  it('creates, registers, starts, pauses, saves, powers off and deletes a VM with the real outputs', async () => {
    const vb = await fakeVirtualBox()
    const { base, uuid } = await newVm(vb)
    const settings = join(base, 'vm1', 'vm1.vbox')
    expect(existsSync(settings)).toBe(true)
    expect((await vb.run(['createvm', '--name', 'vm1', '--register', '--basefolder', base])).stderr).toContain(`VBoxManage: error: Machine settings file '${settings}' already exists\n`)
    expect((await vb.run(['list', 'vms'])).stdout).toBe(`"vm1" {${uuid}}\n`)
    expect(await vmState(vb)).toBe('poweroff')

    // Disk and seed, as a driver attaches them.
    await vb.run(['storagectl', 'vm1', '--name', 'SATA', '--add', 'sata', '--hostiocache', 'on'])
    const disk = join(base, 'vm1', 'disk.vdi')
    const made = await vb.run(['createmedium', 'disk', '--filename', disk, '--size', '20000', '--format', 'VDI'])
    expect(made.stdout).toMatch(/^0%\.\.\.10%.*100%\nMedium created\. UUID: [0-9a-f-]{36}\n$/)
    const iso = join(base, 'seed.iso')
    await writeFile(iso, 'not really an iso')
    const missing = await vb.run(['storageattach', 'vm1', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'dvddrive', '--medium', join(base, 'nope.iso')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`VBoxManage: error: Could not find file for the medium '${join(base, 'nope.iso')}' (VERR_FILE_NOT_FOUND)`)
    expect((await vb.run(['storageattach', 'vm1', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'dvddrive', '--medium', iso])).code).toBe(0)
    expect((await vb.run(['storageattach', 'vm1', '--storagectl', 'SATA', '--port', '1', '--device', '0', '--type', 'hdd', '--medium', disk])).code).toBe(0)
    expect((await vb.run(['closemedium', 'disk', disk])).stderr).toMatch(/Cannot close medium .* still attached/)
    const info = (await vb.run(['showvminfo', 'vm1', '--machinereadable'])).stdout
    expect(info).toContain(`"SATA-0-0"="${iso}"\n`)
    expect(info).toContain(`"SATA-1-0"="${disk}"\n`)
    expect(info).toMatch(/^storagecontrollername0="SATA"$/m)

    const start = await vb.run(['startvm', 'vm1', '--type', 'headless'])
    expect(start).toEqual({ code: 0, stdout: 'Waiting for VM "vm1" to power on...\nVM "vm1" has been successfully started.\n', stderr: '' })
    expect(readFileSync(join(base, 'vm1', 'Logs', 'VBox.log'), 'utf8')).toContain('VT-x')
    expect((await vb.run(['list', 'runningvms'])).stdout).toBe(`"vm1" {${uuid}}\n`)
    expect((await vb.run(['startvm', 'vm1'])).stderr).toContain("VBoxManage: error: The machine 'vm1' is already locked by a session")
    expect((await vb.run(['modifyvm', 'vm1', '--memory', '512'])).stderr).toContain("VBoxManage: error: The machine 'vm1' is already locked for a session")
    expect((await vb.run(['unregistervm', 'vm1', '--delete'])).stderr).toContain("VBoxManage: error: Cannot unregister the machine 'vm1' while it is locked")

    await vb.run(['controlvm', 'vm1', 'pause'])
    expect(await vmState(vb)).toBe('paused')
    await vb.run(['controlvm', 'vm1', 'resume'])
    expect(await vmState(vb)).toBe('running')
    await vb.run(['controlvm', 'vm1', 'savestate'])
    expect(await vmState(vb)).toBe('saved')
    await vb.run(['startvm', 'vm1', '--type', 'headless'])
    expect(await vmState(vb)).toBe('running')
    const off = await vb.run(['controlvm', 'vm1', 'poweroff'])
    expect(off).toMatchObject({ code: 0, stdout: '0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n' })
    expect(await vmState(vb)).toBe('poweroff')
    expect((await vb.run(['controlvm', 'vm1', 'poweroff'])).stderr).toBe("VBoxManage: error: Machine 'vm1' is not currently running\n")

    // --delete takes the hard disk, the logs and the settings, never the DVD image.
    expect((await vb.run(['unregistervm', 'vm1', '--delete'])).code).toBe(0)
    expect(existsSync(disk)).toBe(false)
    expect(existsSync(settings)).toBe(false)
    expect(existsSync(join(base, 'vm1', 'Logs'))).toBe(false)
    expect(existsSync(iso)).toBe(true)
    expect(vb.state().vms).toEqual([])
    // Its media were in its own registry: forgotten with it.
    expect(vb.state().media).toEqual([])
    const gone = await vb.run(['showvminfo', 'ghost', '--machinereadable'])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(NOT_FOUND)
    expect((await vb.run(['closemedium', 'dvd', iso])).code).toBe(0)
  })

  it('takes the two-word serial port options, opens the console file at start, and discards a saved state', async () => {
    const vb = await fakeVirtualBox()
    const { base } = await newVm(vb)
    const consoleLog = join(base, 'console.log')
    expect((await vb.run(['modifyvm', 'vm1', '--uart1', '0x3F8', '4', '--uartmode1', 'file', consoleLog, '--boot1', 'disk'])).code).toBe(0)
    expect((await vb.run(['modifyvm', 'vm1', '--uartmode1', 'file'])).code).toBe(2)
    expect((await vb.run(['modifyvm', 'vm1', '--uartmode1', 'file', 'relative.log'])).stderr).toContain('must be absolute')
    expect(existsSync(consoleLog)).toBe(false)
    await vb.run(['startvm', 'vm1', '--type', 'headless'])
    expect(existsSync(consoleLog)).toBe(true)
    expect((await vb.run(['discardstate', 'vm1'])).code).toBe(1)
    await vb.run(['controlvm', 'vm1', 'savestate'])
    expect((await vb.run(['discardstate', 'vm1'])).code).toBe(0)
    expect(await vmState(vb)).toBe('poweroff')
    expect((await vb.run(['discardstate', 'vm1'])).stderr).toBe('VBoxManage: error: Machine in invalid state PoweredOff -- not saved\n')
  })

  it('powers a guest off some time after the ACPI power button, unless the guest ignores it', async () => {
    const vb = await fakeVirtualBox()
    await newVm(vb)
    await vb.run(['startvm', 'vm1', '--type', 'headless'])
    const slow = { FAKE_VBOX_ACPI_MS: '2000' }
    const pressed = Date.now()
    expect((await vb.run(['controlvm', 'vm1', 'acpipowerbutton'], slow)).code).toBe(0)
    const st = (await vb.run(['showvminfo', 'vm1', '--machinereadable'], slow)).stdout
    if (Date.now() - pressed < 1900) expect(st).toContain('VMState="running"')
    await sleep(2100)
    expect((await vb.run(['showvminfo', 'vm1', '--machinereadable'], slow)).stdout).toContain('VMState="poweroff"')
    await vb.run(['startvm', 'vm1'])
    await vb.run(['controlvm', 'vm1', 'acpipowerbutton'], { FAKE_VBOX_ACPI: 'ignore' })
    await sleep(700)
    expect((await vb.run(['showvminfo', 'vm1', '--machinereadable'], { FAKE_VBOX_ACPI: 'ignore' })).stdout).toContain('VMState="running"')
  })

  it('adds, shows and deletes NAT port forwards in the real rule syntax', async () => {
    const vb = await fakeVirtualBox()
    await newVm(vb)
    expect((await vb.run(['modifyvm', 'vm1', '--nic1', 'nat', '--nictype1', '82540EM', '--cableconnected1', 'on'])).code).toBe(0)
    expect((await vb.run(['modifyvm', 'vm1', '--natpf1', 'ssh,tcp,127.0.0.1,52022,,22'])).code).toBe(0)
    expect((await vb.run(['modifyvm', 'vm1', '--natpf1', 'ssh,tcp,127.0.0.1,52023,,22'])).stderr).toContain('VBoxManage: error: A NAT rule of this name already exists')
    expect((await vb.run(['modifyvm', 'vm1', '--natpf1', 'ssh;tcp;52023;22'])).stderr).toContain("Invalid NAT rule: 'ssh;tcp;52023;22'")
    await vb.run(['modifyvm', 'vm1', '--natpf1=docker,tcp,127.0.0.1,52376,,2376'])
    const info = (await vb.run(['showvminfo', 'vm1', '--machinereadable'])).stdout
    expect(info).toContain('nic1="nat"\nnictype1="82540EM"\nnicspeed1="0"\n')
    // Sorted by name, as VirtualBox keeps them.
    expect(info).toContain('Forwarding(0)="docker,tcp,127.0.0.1,52376,,2376"\nForwarding(1)="ssh,tcp,127.0.0.1,52022,,22"\n')
    expect((await vb.run(['modifyvm', 'vm1', '--natpf1', 'delete', 'ssh'])).code).toBe(0)
    expect((await vb.run(['modifyvm', 'vm1', '--natpf1', 'delete', 'ssh'])).code).toBe(1)
    expect((await vb.run(['showvminfo', 'vm1', '--machinereadable'])).stdout).toContain('Forwarding(0)="docker,tcp,127.0.0.1,52376,,2376"\n')
  })

  it('resizes VDI disks only, as VirtualBox does', async () => {
    const vb = await fakeVirtualBox()
    const dir = await tempDir('machine-vbox-disk-')
    const raw = join(dir, 'image.raw')
    await writeFile(raw, Buffer.alloc(3 * 2 ** 20))
    const conv = await vb.run(['convertfromraw', raw, join(dir, 'disk.vmdk'), '--format', 'VMDK'])
    expect(conv.stdout).toBe(`Converting from raw image file="${raw}" to file="${join(dir, 'disk.vmdk')}"...\nCreating dynamic image with size 3145728 bytes (3MB)...\n`)
    const vmdk = await vb.run(['modifymedium', 'disk', join(dir, 'disk.vmdk'), '--resize', '20000'])
    expect(vmdk.code).toBe(1)
    expect(vmdk.stderr).toBe('VBoxManage: error: Resize medium operation for this format is not implemented yet!\n')
    await vb.run(['convertfromraw', raw, join(dir, 'disk.vdi'), '--format', 'VDI'])
    expect((await vb.run(['modifymedium', 'disk', join(dir, 'disk.vdi'), '--resize', '20000'])).code).toBe(0)
    expect((await vb.run(['showmediuminfo', 'disk', join(dir, 'disk.vdi')])).stdout).toMatch(/^Capacity:\s+20000 MBytes$/m)
    expect((await vb.run(['modifymedium', 'disk', join(dir, 'disk.vdi'), '--resize', '100'])).code).toBe(1)
  })

  it('makes host-only adapters and DHCP servers, refusing ranges networks.conf does not allow', async () => {
    const vb = await fakeVirtualBox()
    expect((await vb.run(['list', 'hostonlyifs'])).stdout).toBe('')
    const made = await vb.run(['hostonlyif', 'create'])
    expect(made.stdout).toMatch(/100%\nInterface 'vboxnet0' was successfully created\n$/)
    expect((await vb.run(['hostonlyif', 'create'])).stdout).toContain("Interface 'vboxnet1'")
    expect((await vb.run(['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.59.1', '--netmask', '255.255.255.0'])).code).toBe(0)
    // docker-machine's old default is outside VirtualBox ≥ 6.1.28's default range.
    const denied = await vb.run(['hostonlyif', 'ipconfig', 'vboxnet1', '--ip', '192.168.99.1', '--netmask', '255.255.255.0'])
    expect(denied.code).toBe(1)
    expect(denied.stderr).toContain('VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)')
    const list = (await vb.run(['list', 'hostonlyifs'])).stdout
    expect(list).toMatch(/^Name: {12}vboxnet0\nGUID: {12}\S+\nDHCP: {12}Disabled\nIPAddress: {7}192\.168\.59\.1\nNetworkMask: {5}255\.255\.255\.0\n/)
    expect(list).toContain('VBoxNetworkName: HostInterfaceNetworking-vboxnet1\n\n')

    expect((await vb.run(['dhcpserver', 'add', '--netname', 'HostInterfaceNetworking-vboxnet0', '--ip', '192.168.59.2', '--netmask', '255.255.255.0', '--lowerip', '192.168.59.100', '--upperip', '192.168.59.254', '--enable'])).code).toBe(0)
    expect((await vb.run(['dhcpserver', 'add', '--network=HostInterfaceNetworking-vboxnet0', '--server-ip=192.168.59.2', '--netmask=255.255.255.0', '--lower-ip=192.168.59.100', '--upper-ip=192.168.59.254', '--enable'])).stderr).toBe('VBoxManage: error: DHCP server already exists\n')
    expect((await vb.run(['list', 'dhcpservers'])).stdout).toMatch(/^NetworkName: {4}HostInterfaceNetworking-vboxnet0\nDhcpd IP: {7}192\.168\.59\.2\nLowerIPAddress: 192\.168\.59\.100\nUpperIPAddress: 192\.168\.59\.254\nNetworkMask: {4}255\.255\.255\.0\nEnabled: {8}Yes\n/)
    await vb.run(['dhcpserver', 'modify', '--interface', 'vboxnet0', '--disable'])
    expect((await vb.run(['list', 'dhcpservers'])).stdout).toContain('Enabled:        No\n')
    expect((await vb.run(['dhcpserver', 'remove', '--netname', 'HostInterfaceNetworking-vboxnet0'])).code).toBe(0)
    expect((await vb.run(['dhcpserver', 'remove', '--netname', 'HostInterfaceNetworking-vboxnet0'])).stderr).toBe('VBoxManage: error: DHCP server does not exist\n')
    expect((await vb.run(['hostonlyif', 'remove', 'vboxnet1'])).code).toBe(0)
    expect((await vb.run(['hostonlyif', 'remove', 'vboxnet1'])).stderr).toContain("Could not find a host interface named 'vboxnet1'")

    const wide = await fakeVirtualBox({ networksConf: '* 192.168.99.0/24 10.0.0.0/8\n' })
    await wide.run(['hostonlyif', 'create'])
    expect((await wide.run(['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.99.1', '--netmask', '255.255.255.0'])).code).toBe(0)
  })

  it('refuses to start a VM whose host-only adapter is gone, and says so when VT-x is missing', async () => {
    const vb = await fakeVirtualBox()
    const { base } = await newVm(vb)
    await vb.run(['modifyvm', 'vm1', '--nic2', 'hostonly', '--hostonlyadapter2', 'vboxnet7'])
    const r = await vb.run(['startvm', 'vm1', '--type', 'headless'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("Nonexistent host networking interface, name 'vboxnet7'")
    await vb.run(['modifyvm', 'vm1', '--nic2', 'none'])
    const vtx = await vb.run(['startvm', 'vm1', '--type', 'headless'], { FAKE_VBOX_NO_VTX: '1' })
    expect(vtx.stderr).toContain('VBoxManage: error: VT-x is not available (VERR_VMX_NO_VMX)')
    expect(readFileSync(join(base, 'vm1', 'Logs', 'VBox.log'), 'utf8')).toContain('VERR_VMX_NO_VMX')
    expect(await vmState(vb)).toBe('poweroff')
  })

  it('keeps shared folders, guest properties and extra data', async () => {
    const vb = await fakeVirtualBox()
    await newVm(vb)
    expect((await vb.run(['sharedfolder', 'add', 'vm1', '--name', 'hosthome', '--hostpath', '/home', '--automount'])).code).toBe(0)
    expect((await vb.run(['sharedfolder', 'add', 'vm1', '--name', 'rel', '--hostpath', 'home'])).stderr).toContain("Shared folder path 'home' is not absolute")
    expect((await vb.run(['showvminfo', 'vm1', '--machinereadable'])).stdout).toContain('SharedFolderNameMachineMapping1="hosthome"\nSharedFolderPathMachineMapping1="/home"\n')
    expect((await vb.run(['sharedfolder', 'remove', 'vm1', '--name', 'hosthome'])).code).toBe(0)
    expect((await vb.run(['guestproperty', 'get', 'vm1', '/VirtualBox/GuestInfo/Net/1/V4/IP'])).stdout).toBe('No value set!\n')
    await vb.run(['guestproperty', 'set', 'vm1', '/VirtualBox/GuestAdd/SharedFolders/MountPrefix', '/'])
    expect((await vb.run(['guestproperty', 'get', 'vm1', '/VirtualBox/GuestAdd/SharedFolders/MountPrefix'])).stdout).toBe('Value: /\n')
    await vb.run(['setextradata', 'vm1', 'VBoxInternal2/SharedFoldersEnableSymlinksCreate/hosthome', '1'])
    expect((await vb.run(['getextradata', 'vm1', 'VBoxInternal2/SharedFoldersEnableSymlinksCreate/hosthome'])).stdout).toBe('Value: 1\n')
  })

  it('fails the nth call of a subcommand on request, like the real tool, changing nothing', async () => {
    const vb = await fakeVirtualBox()
    await newVm(vb)
    await vb.run(['storagectl', 'vm1', '--name', 'SATA', '--add', 'sata'])
    const dir = await tempDir('machine-vbox-media-')
    for (const f of ['a.iso', 'b.iso', 'c.iso']) await writeFile(join(dir, f), 'x')
    const env = { FAKE_VBOX_FAIL: 'storageattach:2' }
    const attach = (f: string, port: number) => vb.run(['storageattach', 'vm1', '--storagectl', 'SATA', '--port', String(port), '--device', '0', '--type', 'dvddrive', '--medium', join(dir, f)], env)
    expect((await attach('a.iso', 0)).code).toBe(0)
    const second = await attach('b.iso', 1)
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/^VBoxManage: error: .+\nVBoxManage: error: Details: code /)
    expect((await attach('c.iso', 2)).code).toBe(0)
    expect(Object.values(vb.state().vms[0]!.attachments).map((a) => a.medium)).toEqual([join(dir, 'a.iso'), join(dir, 'c.iso')])
    // A controlvm action by name; and a failed startvm as on a VM that dies at once.
    await vb.run(['startvm', 'vm1'])
    expect((await vb.run(['controlvm', 'vm1', 'acpipowerbutton'], { FAKE_VBOX_FAIL: 'controlvm:acpipowerbutton' })).code).toBe(1)
    expect((await vb.run(['controlvm', 'vm1', 'poweroff'], { FAKE_VBOX_FAIL: 'controlvm:acpipowerbutton' })).code).toBe(0)
    const st = await vb.run(['startvm', 'vm1'], { FAKE_VBOX_FAIL: 'startvm' })
    expect(st.stderr).toContain('VBoxManage: error: Failed to open a session for the virtual machine vm1.')
    expect(await vmState(vb)).toBe('poweroff')
  })

  it('loses no change when many calls run at once', async () => {
    const vb = await fakeVirtualBox()
    const base = await tempDir('machine-vbox-base-')
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => vb.run(['createvm', '--name', `p${i}`, '--register', '--basefolder', base])))
    expect(rs.map((r) => r.code)).toEqual(rs.map(() => 0))
    const ifs = await Promise.all(Array.from({ length: 6 }, () => vb.run(['hostonlyif', 'create'])))
    expect(ifs.map((r) => /'(vboxnet\d)'/.exec(r.stdout)?.[1]).sort()).toEqual(['vboxnet0', 'vboxnet1', 'vboxnet2', 'vboxnet3', 'vboxnet4', 'vboxnet5'])
    expect(vb.state().vms.map((v) => v.name).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `p${i}`).sort())
  }, 60_000)
})

const FIXTURES = join(import.meta.dirname, 'fixtures', 'virtualbox')
const fixture = (f: string): string => readFileSync(join(FIXTURES, f), 'utf8')
/** The keys of `showvminfo --machinereadable`-like lines, in order (a line without "=" is its own key). */
const keys = (text: string): string[] => text.split('\n').filter(Boolean).map((l) => (l.includes('=') ? l.slice(0, l.indexOf('=')) : l.split(':')[0]!))
const RECORDED_DIR = '/Users/ada/.docker/machine/machines/default'

describe('fake VBoxManage agrees with the recorded outputs (test/drivers/fixtures/virtualbox)', () => {
  it('in createvm, startvm, showvminfo in each state, media, host-only and DHCP listings, and the errors', async () => {
    const vb = await fakeVirtualBox()
    const dir = await tempDir('machine-vbox-fixture-')
    const norm = (t: string): string => t.replaceAll(dir, RECORDED_DIR).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
    const ok = async (args: string[]): Promise<string> => {
      const r = await vb.run(args)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
      return r.stdout
    }
    expect((await vb.run(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+r\d+$/)
    expect(fixture('version-7.0.txt').trim()).toMatch(/^\d+\.\d+\.\d+r\d+$/)
    expect((await vb.run(['showvminfo', 'default', '--machinereadable'])).stderr).toBe(fixture('error-not-found.txt'))

    // The driver's create, as the fake saw the CLI make it.
    const raw = join(dir, 'image.raw')
    await writeFile(raw, Buffer.alloc(2 * 2 ** 20))
    expect(norm(await ok(['convertfromraw', raw, join(dir, 'disk.vdi'), '--format', 'VDI']))).toBe(norm(fixture('convertfromraw.txt').replace(/file="[^"]*\.raw"/, `file="${raw}"`).replace(/size \d+ bytes \(\d+MB\)/, 'size 2097152 bytes (2MB)')))
    expect(keys(await ok(['showmediuminfo', 'disk', join(dir, 'disk.vdi')]))).toEqual(keys(fixture('showmediuminfo.txt')))
    expect(norm(await ok(['createvm', '--basefolder', dir, '--name', 'default', '--register']))).toBe(norm(fixture('createvm.txt')))
    await ok(['modifyvm', 'default', '--firmware', 'bios', '--bioslogofadein', 'off', '--bioslogofadeout', 'off', '--bioslogodisplaytime', '0', '--biosbootmenu', 'disabled', '--ostype', 'Debian_64', '--cpus', '1', '--memory', '1024', '--acpi', 'on', '--ioapic', 'on', '--rtcuseutc', 'on', '--natdnshostresolver1', 'off', '--natdnsproxy1', 'on', '--cpuhotplug', 'off', '--pae', 'on', '--hpet', 'on', '--hwvirtex', 'on', '--nestedpaging', 'on', '--largepages', 'on', '--vtxvpid', 'on', '--accelerate3d', 'off', '--boot1', 'disk', '--boot2', 'dvd', '--uart1', '0x3F8', '4', '--uartmode1', 'file', join(dir, 'console.log')])
    await ok(['modifyvm', 'default', '--nic1', 'nat', '--nictype1', '82540EM', '--cableconnected1', 'on', '--macaddress1', '0800277A1B2C'])
    await ok(['modifyvm', 'default', '--natpf1', 'ssh,tcp,127.0.0.1,50022,,22'])
    await ok(['modifyvm', 'default', '--natpf1', 'docker,tcp,127.0.0.1,50376,,2376'])
    expect((await ok(['hostonlyif', 'create'])).replace('vboxnet0', 'vboxnet2')).toBe(fixture('hostonlyif-create.txt'))
    expect((await vb.run(['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.99.1', '--netmask', '255.255.255.0'])).stderr).toBe(fixture('error-accessdenied.txt'))
    await ok(['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '192.168.56.1', '--netmask', '255.255.255.0'])
    expect(keys((await ok(['list', 'hostonlyifs'])))).toEqual(keys(fixture('list-hostonlyifs-new.txt').split('\n\n')[0]!))
    await ok(['dhcpserver', 'add', '--netname', 'HostInterfaceNetworking-vboxnet0', '--ip', '192.168.56.100', '--netmask', '255.255.255.0', '--lowerip', '192.168.56.101', '--upperip', '192.168.56.254', '--enable'])
    expect(await ok(['list', 'dhcpservers'])).toBe(`${fixture('list-dhcpservers.txt').split('\n\n')[0]}\n\n`)
    await ok(['modifyvm', 'default', '--nic2', 'hostonly', '--nictype2', '82540EM', '--nicpromisc2', 'deny', '--hostonlyadapter2', 'vboxnet0', '--cableconnected2', 'on', '--macaddress2', '080027A83802'])
    await ok(['storagectl', 'default', '--name', 'SATA', '--add', 'sata', '--hostiocache', 'on'])
    await writeFile(join(dir, 'seed.iso'), 'seed')
    await ok(['storageattach', 'default', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'dvddrive', '--medium', join(dir, 'seed.iso')])
    await ok(['storageattach', 'default', '--storagectl', 'SATA', '--port', '1', '--device', '0', '--type', 'hdd', '--medium', join(dir, 'disk.vdi')])
    await ok(['sharedfolder', 'add', 'default', '--name', 'Users', '--hostpath', '/Users', '--automount'])
    expect(await ok(['startvm', 'default', '--type', 'headless'])).toBe(fixture('startvm.txt'))

    const running = await ok(['showvminfo', 'default', '--machinereadable'])
    expect(keys(running)).toEqual(keys(fixture('showvminfo-running.txt')))
    // Values the driver reads, as recorded (UUIDs, paths and times aside).
    const recorded = new Set(norm(fixture('showvminfo-running.txt')).split('\n'))
    for (const k of ['VMState', 'Forwarding(0)', 'Forwarding(1)', 'uart1', 'uartmode1', 'CfgFile', 'LogFldr', 'nic1', 'nic2', 'hostonlyadapter2', 'macaddress2', '"SATA-0-0"', '"SATA-1-0"', 'memory', 'cpus', 'boot1', 'firmware']) {
      const line = norm(running).split('\n').find((l) => l.startsWith(`${k}=`))
      expect(recorded.has(line!), `${line} is not in the recorded output`).toBe(true)
    }
    expect((await vb.run(['unregistervm', 'default', '--delete'])).stderr).toBe(fixture('error-locked.txt'))
    expect(await ok(['controlvm', 'default', 'savestate'])).toBe(fixture('controlvm-savestate.txt'))
    expect(keys(await ok(['showvminfo', 'default', '--machinereadable']))).toEqual(keys(fixture('showvminfo-saved.txt')))
    // A saved VM's settings cannot change (the Context line names the setter: not compared), nor
    // its NAT rules through controlvm, which needs a running VM.
    const firstTwo = (t: string) => t.split('\n').slice(0, 2).join('\n')
    expect(firstTwo((await vb.run(['modifyvm', 'default', '--memory', '2048'])).stderr)).toBe(firstTwo(fixture('error-not-mutable.txt')))
    expect((await vb.run(['modifyvm', 'default', '--natpf1', 'delete', 'ssh'])).code).toBe(1)
    expect((await vb.run(['controlvm', 'default', 'natpf1', 'delete', 'ssh'])).stderr).toBe(fixture('error-not-running.txt'))
    await ok(['discardstate', 'default'])
    expect(keys(await ok(['showvminfo', 'default', '--machinereadable']))).toEqual(keys(fixture('showvminfo-poweroff.txt')))

    const failed = await vb.run(['hostonlyif', 'create'], { FAKE_VBOX_FAIL: 'hostonlyif:create' })
    expect(failed.stdout + failed.stderr).toBe(fixture('error-hostonlyif-create.txt'))
  }, 120_000)
})

describe('fake hypervisor', () => {
  it('serves a started VM over SSH with the seed host key and user, and stops it on poweroff', async () => {
    const vb = await fakeVirtualBox()
    const hv = startHypervisor(vb)
    const { base } = await newVm(vb, 'g1')
    const dir = join(base, 'g1')
    await mkdir(dir, { recursive: true })
    const userKey = await makeKey(join(dir, 'id_user'))
    const hostKey = await generateHostKey('g1-host')
    const userData = `#cloud-config\n${JSON.stringify({ users: [{ name: 'docker', ssh_authorized_keys: [readFileSync(`${userKey}.pub`, 'utf8').trim()] }], ssh_keys: { ed25519_private: hostKey.privateKey, ed25519_public: hostKey.publicKey } })}\n`
    await writeFile(join(dir, 'seed.iso'), buildNoCloudSeed({ userData, instanceId: 'i-1', hostname: 'g1' }))
    const port = await freePort()
    for (const args of [
      ['modifyvm', 'g1', '--nic1', 'nat', '--natpf1', `ssh,tcp,127.0.0.1,${port},,22`],
      ['storagectl', 'g1', '--name', 'SATA', '--add', 'sata'],
      ['storageattach', 'g1', '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'dvddrive', '--medium', join(dir, 'seed.iso')],
      ['startvm', 'g1', '--type', 'headless'],
    ]) {
      const r = await vb.run(args)
      expect(r.code, r.stderr).toBe(0)
    }
    await hv.settled()
    expect(await sshExec(port, 'docker', userKey, hostKey.publicKey, 'echo hello from $(cat /etc/hostname)')).toBe('hello from g1\n')
    // poweroff returns once the guest is down.
    expect((await vb.run(['controlvm', 'g1', 'poweroff'])).code).toBe(0)
    expect(await portOpen(port)).toBe(false)
    // The disk survives a restart; unregistering removes it.
    const root = hv.guests.values().next().value!.disk.root
    await vb.run(['startvm', 'g1'])
    await hv.settled()
    expect(await sshExec(port, 'docker', userKey, hostKey.publicKey, 'echo again')).toBe('again\n')
    // A VM process that dies: "aborted", nothing listens; it starts again from there.
    await hv.crash('g1')
    expect(await vmState(vb, 'g1')).toBe('aborted')
    expect(await portOpen(port)).toBe(false)
    expect((await vb.run(['controlvm', 'g1', 'poweroff'])).stderr).toBe("VBoxManage: error: Machine 'g1' is not currently running\n")
    await vb.run(['startvm', 'g1', '--type', 'headless'])
    await hv.settled()
    expect(await sshExec(port, 'docker', userKey, hostKey.publicKey, 'echo back')).toBe('back\n')
    // Saved: nothing listens, and startvm resumes the guest (no boot), on its forwards as they are.
    expect((await vb.run(['controlvm', 'g1', 'savestate'])).code).toBe(0)
    expect(await portOpen(port)).toBe(false)
    await vb.run(['startvm', 'g1', '--type', 'headless'])
    await hv.settled()
    expect(await sshExec(port, 'docker', userKey, hostKey.publicKey, 'echo resumed')).toBe('resumed\n')
    // A forward moved on the running VM is served on its new port.
    const moved = await freePort()
    for (const args of [['controlvm', 'g1', 'natpf1', 'delete', 'ssh'], ['controlvm', 'g1', 'natpf1', `ssh,tcp,127.0.0.1,${moved},,22`]]) expect((await vb.run(args)).code).toBe(0)
    await hv.settled()
    await vi.waitFor(async () => expect(await sshExec(moved, 'docker', userKey, hostKey.publicKey, 'echo moved')).toBe('moved\n'), { timeout: 10_000, interval: 100 })
    expect(await portOpen(port)).toBe(false)
    // Saved, then its state discarded: the next start boots.
    await vb.run(['controlvm', 'g1', 'savestate'])
    await vb.run(['discardstate', 'g1'])
    await hv.settled()
    await vb.run(['startvm', 'g1', '--type', 'headless'])
    await hv.settled()
    expect(await sshExec(moved, 'docker', userKey, hostKey.publicKey, 'echo booted')).toBe('booted\n')
    await vb.run(['controlvm', 'g1', 'poweroff'])
    await vb.run(['unregistervm', 'g1', '--delete'])
    await hv.settled()
    expect(hv.guests.size).toBe(0)
    expect(existsSync(root)).toBe(false)
    // A forward's delete and add may be seen apart (two "forwards" events) or together.
    expect(hv.events.filter((e, i) => !e.startsWith('unregister') && e !== hv.events[i - 1])).toEqual(['boot g1', 'poweroff g1', 'boot g1', 'poweroff g1', 'boot g1', 'save g1', 'resume g1', 'forwards g1', 'save g1', 'discard g1', 'boot g1', 'poweroff g1'])
  }, 60_000)
})
