/**
 * Golden transcripts of the hyperv driver: the exact PowerShell script bodies of pre-create
 * checks, create, state, start, stop, kill and rm, and of stop --save, resume and discarding a
 * saved state, with an injected runner replaying recorded cmdlet output
 * (test/drivers/fixtures/hyperv/). Hyper-V itself cannot run here; the end-to-end tests run the
 * built CLI against the stateful fake powershell.exe instead.
 */
import { existsSync, readFileSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DriverContext, DriverDefinition } from '../../src/driver-kit/contract.js'
import { makeDriverContext } from '../../src/driver-kit/conformance.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import hyperv from '../../drivers/hyperv/index.js'
import { HyperVDriver } from '../../drivers/hyperv/driver.js'
import type { options } from '../../drivers/hyperv/options.js'
import { cmdletOf, psFailure, type PowerShell } from '../../drivers/hyperv/powershell.js'
import { errorLineAsync } from '../helpers/errors.js'
import { tempDir } from '../helpers/tmp.js'
import { readIso } from '../e2e/image/iso-reader.js'

const definition = hyperv as unknown as DriverDefinition
const FIXTURES = join(import.meta.dirname, 'fixtures', 'hyperv')
const RECORDED_DIR = 'C:\\\\Users\\\\ada\\\\.docker\\\\machine\\\\machines\\\\default'
const fixture = (name: string, machineDir?: string): string => {
  const text = readFileSync(join(FIXTURES, name), 'utf8')
  // The VM's folder (<machine dir>\\hyperv\\<name>, as New-VM -Path makes it) in this host's spelling.
  return machineDir ? text.split(`${RECORDED_DIR}\\\\hyperv\\\\default`).join(`${machineDir}/hyperv/default`) : text
}
const ENV = { MACHINE_POLL_INTERVAL_MS: '1', MACHINE_HYPERV_IP_TIMEOUT_MS: '50' }
const LAN = 'LAN (Intel® Ethernet Connection I219-V)'

type Answer = { stdout?: string; fail?: string }
/** Which call a body is: the first Hyper-V cmdlet it runs (Stop-VM -TurnOff apart), or the probe. */
const keyOf = (body: string): string => (body.startsWith('$p = ') ? 'probe' : body.includes('-TurnOff') ? 'Stop-VM -TurnOff' : cmdletOf(body))

/** A runner answering by cmdlet (an array answers successive calls, its last one after), recording every body. */
function recorded(answers: Record<string, Answer | Answer[]>) {
  const calls: string[] = []
  const seen: Record<string, number> = {}
  const ps: PowerShell = async (body) => {
    calls.push(body)
    const key = keyOf(body)
    const a = answers[key]
    const n = (seen[key] = (seen[key] ?? 0) + 1)
    const ans = Array.isArray(a) ? a[Math.min(n, a.length) - 1] : a
    if (ans?.fail !== undefined) throw psFailure(body, ans.fail, 1)
    return { stdout: ans?.stdout ?? '', stderr: '' }
  }
  return { ps, calls }
}

async function setup(flags: Record<string, unknown> = {}) {
  const store = await tempDir('hyperv-store-')
  const image = join(await tempDir('hyperv-image-'), 'debian-12-generic-amd64.raw')
  const raw = Buffer.alloc(1024 * 1024)
  raw.writeUInt16LE(0xaa55, 510)
  await writeFile(image, raw)
  const ctx = (await makeDriverContext(definition, { 'hyperv-image': image, ...flags }, ENV, store, 'default')) as unknown as DriverContext<typeof options>
  return { ctx, dir: ctx.machineDir, image }
}

const ok = (name: string, dir?: string): Answer => ({ stdout: fixture(name, dir) })
/** Get-VM of a VM Hyper-V does not have: its error, exit 1. */
const NONE: Answer = { fail: fixture('error-not-found.txt') }
const createAnswers = (dir: string, extra: Record<string, Answer | Answer[]> = {}): Record<string, Answer | Answer[]> => ({
  probe: ok('probe-hyperv-admin.json'),
  'Get-VMSwitch': ok('get-vmswitch.json'),
  'Get-VM': [NONE, ok('get-vm-running.json', dir)],
  'Get-VMNetworkAdapter': [ok('adapter-ips-none.json'), ok('adapter-ips.json')],
  ...extra,
})

async function createMachine(d: HyperVDriver, journal = new MemoryJournal()): Promise<MemoryJournal> {
  await d.preCreateCheck()
  await d.create(journal)
  return journal
}

describe('hyperv create: the golden transcript', () => {
  it('checks, makes the VHDX, creates and configures a generation 2 VM, starts it and waits for its IPv4 address', async () => {
    const s = await setup()
    const { ps, calls } = recorded(createAnswers(s.dir))
    const d = new HyperVDriver(s.ctx, { ps })
    await createMachine(d)
    const dir = s.dir
    expect(calls).toEqual([
      "$p = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent(); ConvertTo-Json -Compress -InputObject @{ Module = [bool](@(Get-Module -ListAvailable -Name Hyper-V).Count); Administrator = $p.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator); HyperVAdministrator = $p.IsInRole([Security.Principal.SecurityIdentifier]'S-1-5-32-578') }",
      "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VMSwitch | Select-Object Name, @{ Name = 'SwitchType'; Expression = { [string]$_.SwitchType } })",
      "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VM -Name 'default' | Select-Object Name, Path, @{ Name = 'State'; Expression = { [string]$_.State } })",
      `Hyper-V\\Convert-VHD -Path '${dir}/disk.vhd' -DestinationPath '${dir}/disk.vhdx' -VHDType Dynamic`,
      `Hyper-V\\Resize-VHD -Path '${dir}/disk.vhdx' -SizeBytes 20971520000`,
      `Hyper-V\\New-VM -Name 'default' -Path '${dir}/hyperv' -Generation 2 -MemoryStartupBytes 1073741824 -VHDPath '${dir}/disk.vhdx' -SwitchName '${LAN}' | Out-Null`,
      "Hyper-V\\Set-VM -Name 'default' -ProcessorCount 1 -CheckpointType Disabled -AutomaticStopAction ShutDown",
      "Hyper-V\\Set-VMMemory -VMName 'default' -DynamicMemoryEnabled $true",
      "Hyper-V\\Set-VMFirmware -VMName 'default' -EnableSecureBoot On -SecureBootTemplate MicrosoftUEFICertificateAuthority",
      `Hyper-V\\Add-VMDvdDrive -VMName 'default' -Path '${dir}/seed.iso'`,
      "Hyper-V\\Start-VM -Name 'default'",
      // No address yet: the VM is asked whether it still runs, then the adapter again.
      "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VMNetworkAdapter -VMName 'default' | ForEach-Object { $_.IPAddresses })",
      "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VM -Name 'default' | Select-Object Name, Path, @{ Name = 'State'; Expression = { [string]$_.State } })",
      "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VMNetworkAdapter -VMName 'default' | ForEach-Object { $_.IPAddresses })",
    ])
    // The fixed VHD made on the way is gone; the seed and the VHDX's source were made.
    expect(existsSync(join(dir, 'disk.vhd'))).toBe(false)
    expect(existsSync(join(dir, 'seed.iso'))).toBe(true)
    // The seed: our user and key, the pinned host key, and the KVP daemon that reports the address to Hyper-V.
    const joliet = readIso(readFileSync(join(dir, 'seed.iso'))).find((v) => v.kind === 'joliet')!
    expect(joliet.volumeId).toBe('cidata')
    const user = JSON.parse(joliet.files.get('user-data')!.toString('utf8').replace(/^#cloud-config\n/, '')) as Record<string, unknown>
    expect(user.packages).toEqual(['hyperv-daemons'])
    expect((user.ssh_keys as Record<string, string>).ed25519_public).toBe((s.ctx.config.SSHHostKeys as string[])[0])
    expect((user.users as Array<{ ssh_authorized_keys: string[] }>)[0]!.ssh_authorized_keys[0]).toBe(readFileSync(join(dir, 'id_rsa.pub'), 'utf8').trim())
    expect(s.ctx.config).toMatchObject({ IPAddress: '192.168.1.57', VSwitch: LAN, SSHUser: 'docker', SSHPort: 22 })
    expect(await d.sshInfo()).toMatchObject({ host: '192.168.1.57', port: 22, user: 'docker', hostKeys: s.ctx.config.SSHHostKeys })
    expect(await d.engineUrl()).toBe('tcp://192.168.1.57:2376')
  })

  it('flags reach the scripts: switch, memory, CPUs, disk, static MAC, VLAN, dynamic memory off', async () => {
    const s = await setup({ 'hyperv-virtual-switch': 'default switch', 'hyperv-memory': 2048, 'hyperv-cpu-count': 2, 'hyperv-disk-size': 30000, 'hyperv-static-macaddress': '00:15:5d:01:02:03', 'hyperv-vlan-id': 42, 'hyperv-disable-dynamic-memory': true })
    const { ps, calls } = recorded(createAnswers(s.dir))
    await createMachine(new HyperVDriver(s.ctx, { ps }))
    const configure = calls.slice(calls.findIndex((c) => c.includes('Resize-VHD')), calls.findIndex((c) => c.includes('Start-VM')))
    expect(configure).toEqual([
      `Hyper-V\\Resize-VHD -Path '${s.dir}/disk.vhdx' -SizeBytes 31457280000`,
      // The switch's own spelling, found case-insensitively.
      `Hyper-V\\New-VM -Name 'default' -Path '${s.dir}/hyperv' -Generation 2 -MemoryStartupBytes 2147483648 -VHDPath '${s.dir}/disk.vhdx' -SwitchName 'Default Switch' | Out-Null`,
      "Hyper-V\\Set-VM -Name 'default' -ProcessorCount 2 -CheckpointType Disabled -AutomaticStopAction ShutDown",
      "Hyper-V\\Set-VMMemory -VMName 'default' -DynamicMemoryEnabled $false",
      "Hyper-V\\Set-VMFirmware -VMName 'default' -EnableSecureBoot On -SecureBootTemplate MicrosoftUEFICertificateAuthority",
      "Hyper-V\\Set-VMNetworkAdapter -VMName 'default' -StaticMacAddress '00155D010203'",
      "Hyper-V\\Set-VMNetworkAdapterVlan -VMName 'default' -Access -VlanId 42",
      `Hyper-V\\Add-VMDvdDrive -VMName 'default' -Path '${s.dir}/seed.iso'`,
    ])
  })

  it('a VHDX image is converted from where it is (no copy); a qcow2 one is refused with what to give instead', async () => {
    const s = await setup()
    const vhdx = join(await tempDir('hyperv-image-'), 'my image.vhdx')
    await writeFile(vhdx, Buffer.concat([Buffer.from('vhdxfile'), Buffer.alloc(1024)]))
    const ctx = (await makeDriverContext(definition, { 'hyperv-image': vhdx }, ENV, await tempDir('hyperv-store-'), 'default')) as unknown as DriverContext<typeof options>
    const { ps, calls } = recorded(createAnswers(ctx.machineDir))
    await createMachine(new HyperVDriver(ctx, { ps }))
    expect(calls).toContain(`Hyper-V\\Convert-VHD -Path '${vhdx}' -DestinationPath '${ctx.machineDir}/disk.vhdx' -VHDType Dynamic`)
    expect(existsSync(vhdx)).toBe(true)

    const qcow = join(await tempDir('hyperv-image-'), 'x.qcow2')
    await writeFile(qcow, Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb]), Buffer.alloc(1024)]))
    const qctx = (await makeDriverContext(definition, { 'hyperv-image': qcow }, ENV, await tempDir('hyperv-store-'), 'default')) as unknown as DriverContext<typeof options>
    const q = recorded(createAnswers(qctx.machineDir))
    expect(await errorLineAsync(() => createMachine(new HyperVDriver(qctx, { ps: q.ps })))).toMatch(/^Hyper-V cannot read the qcow2 image .*x\.qcow2: give a raw, VHD or VHDX image with --hyperv-image/)
    void s
  })

  it('a failure at any step of create is rolled back: exactly what was made goes, nothing is left', async () => {
    const steps = ['Convert-VHD', 'Resize-VHD', 'New-VM', 'Set-VM', 'Set-VMMemory', 'Set-VMFirmware', 'Add-VMDvdDrive', 'Start-VM']
    for (const step of steps) {
      const s = await setup()
      const vmMade = steps.indexOf(step) >= steps.indexOf('Set-VM')
      const { ps, calls } = recorded(createAnswers(s.dir, { [step]: { fail: `The operation failed because of ${step}.` }, 'Get-VM': [NONE, vmMade ? ok('get-vm-off.json', s.dir) : NONE] }))
      const d = new HyperVDriver(s.ctx, { ps })
      const journal = new MemoryJournal()
      expect(await errorLineAsync(() => createMachine(d, journal)), step).toBe(`Hyper-V ${step} failed: The operation failed because of ${step}.`)
      const before = calls.length
      await d.remove(journal)
      const rollback = calls.slice(before).map(keyOf)
      expect(rollback, step).toEqual(vmMade ? ['Get-VM', 'Remove-VM'] : ['Get-VM'])
      expect(journal.entries(), step).toEqual([])
      expect((await readdir(s.dir)).filter((f) => !/^id_rsa/.test(f)), step).toEqual([])
    }
  })

  it('an address never reported is one line with the bound and what to check; a VM that stops meanwhile says so', async () => {
    const s = await setup()
    const never = recorded(createAnswers(s.dir, { 'Get-VMNetworkAdapter': ok('adapter-ips-none.json') }))
    expect(await errorLineAsync(() => createMachine(new HyperVDriver(s.ctx, { ps: never.ps })))).toBe(
      `"default" got no IP address on the switch "${LAN}" within 0 s: an External switch needs a DHCP server on its network (with --hyperv-vlan-id, on that VLAN; "Default Switch" always has one), and the guest reports its address only once cloud-init has installed hyperv-daemons from its package mirror: see the VM's console in Hyper-V Manager`,
    )
    const t = await setup()
    const off = recorded(createAnswers(t.dir, { 'Get-VMNetworkAdapter': ok('adapter-ips-none.json'), 'Get-VM': [NONE, ok('get-vm-off.json', t.dir)] }))
    expect(await errorLineAsync(() => createMachine(new HyperVDriver(t.ctx, { ps: off.ps })))).toMatch(/^The Hyper-V VM "default" is Off instead of running: look at its console in Hyper-V Manager/)
  })

  it('IPv4 is preferred; with only IPv6 the global address is used (never a link-local one), bracketed in the URL', async () => {
    const s = await setup()
    const { ps } = recorded(createAnswers(s.dir, { 'Get-VMNetworkAdapter': ok('adapter-ips-ipv6-only.json') }))
    const d = new HyperVDriver(s.ctx, { ps })
    await createMachine(d)
    expect(await d.engineUrl()).toBe('tcp://[2001:db8:1::57]:2376')
  })
})

describe('hyperv pre-create checks', () => {
  const check = async (answers: Record<string, Answer | Answer[]>, flags: Record<string, unknown> = {}) => {
    const s = await setup(flags)
    const r = recorded({ probe: ok('probe-hyperv-admin.json'), 'Get-VMSwitch': ok('get-vmswitch.json'), 'Get-VM': NONE, ...answers })
    const line = await errorLineAsync(() => new HyperVDriver(s.ctx, { ps: r.ps }).preCreateCheck())
    return { line, calls: r.calls.map(keyOf) }
  }

  it('no Hyper-V module, not an administrator: one line each with the fix', async () => {
    expect(await check({ probe: ok('probe-no-module.json') })).toEqual({
      line: 'The Hyper-V PowerShell module is not installed: turn on Hyper-V with its PowerShell module, as administrator: Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V -All (Windows 10/11 Pro or Enterprise; on Windows Server: Install-WindowsFeature Hyper-V -IncludeManagementTools), then reboot',
      calls: ['probe'],
    })
    expect((await check({ probe: ok('probe-user.json') })).line).toBe(
      'Hyper-V commands need a member of "Hyper-V Administrators" or an administrator: run as a member of the "Hyper-V Administrators" group (as administrator: Add-LocalGroupMember -SID S-1-5-32-578 -Member $env:USERNAME, then sign out and in) or from an elevated terminal',
    )
  })

  it('no External switch: how to make one, and that "Default Switch" can serve; a named switch that is missing lists those there are', async () => {
    expect((await check({ 'Get-VMSwitch': ok('get-vmswitch-default-only.json') })).line).toBe(
      'Hyper-V has no External virtual switch; the switches here: "Default Switch" (Internal): make one as administrator: New-VMSwitch -Name "External" -NetAdapterName (Get-NetAdapter -Physical | Where-Object Status -eq Up | Select-Object -First 1).Name -AllowManagementOS $true; or pass --hyperv-virtual-switch "Default Switch" (NAT: the machine is reachable from this computer only, and its address changes when Windows restarts: the certificates are then remade on start)',
    )
    expect((await check({}, { 'hyperv-virtual-switch': 'Wi-Fi' })).line).toMatch(/^Hyper-V has no virtual switch named "Wi-Fi"; the switches here: "Default Switch" \(Internal\), "LAN \(Intel® Ethernet Connection I219-V\)" \(External\): give one of them/)
    // ConvertTo-Json of the enum itself (numbers) is read too.
    const s = await setup()
    const r = recorded({ probe: ok('probe-hyperv-admin.json'), 'Get-VMSwitch': ok('get-vmswitch-enum-numbers.json'), 'Get-VM': NONE })
    await new HyperVDriver(s.ctx, { ps: r.ps }).preCreateCheck()
    expect(s.ctx.config.VSwitch).toBe('External')
  })

  it('a VM of that name already in Hyper-V is refused before anything is made', async () => {
    expect(await check({ 'Get-VM': ok('get-vm-running.json') })).toEqual({
      line: 'Hyper-V already has a VM named "default": choose another machine name, or remove that VM in Hyper-V Manager',
      calls: ['probe', 'Get-VMSwitch', 'Get-VM'],
    })
  })

  it('--hyperv-boot2docker-url is answered with what replaces it', async () => {
    await expect(setup({ 'hyperv-boot2docker-url': 'https://example.invalid/boot2docker.iso' })).rejects.toThrow(
      /boot2docker is no longer used \(it ended in 2020\): give a cloud image with --hyperv-image URL instead/,
    )
  })
})

describe('hyperv state, start, stop, kill, rm', () => {
  const driver = async (answers: Record<string, Answer | Answer[]>) => {
    const s = await setup()
    s.ctx.config.IPAddress = '192.168.1.50'
    const r = recorded(answers)
    return { d: new HyperVDriver(s.ctx, { ps: r.ps }), calls: r.calls, s }
  }

  it('state: Get-VM’s State names in ls’s words; a VM gone is one line with what to do', async () => {
    for (const [f, want] of [['get-vm-running.json', 'Running'], ['get-vm-off.json', 'Stopped'], ['get-vm-saved.json', 'Saved']] as const) {
      const { d, calls } = await driver({ 'Get-VM': ok(f) })
      expect(await d.state()).toBe(want)
      expect(calls).toEqual(["ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VM -Name 'default' | Select-Object Name, Path, @{ Name = 'State'; Expression = { [string]$_.State } })"])
    }
    const { d } = await driver({ 'Get-VM': NONE })
    expect(await errorLineAsync(() => d.state())).toBe('Hyper-V has no VM named "default": it was removed outside machine: run "machine rm default" to forget it')
  })

  it('start: Start-VM, then the (new) address is read and saved; a running VM is only asked its address', async () => {
    const { d, calls, s } = await driver({ 'Get-VM': ok('get-vm-off.json'), 'Get-VMNetworkAdapter': ok('adapter-ips.json') })
    await d.start()
    expect(calls.map(keyOf)).toEqual(['Get-VM', 'Start-VM', 'Get-VMNetworkAdapter'])
    expect(calls[1]).toBe("Hyper-V\\Start-VM -Name 'default'")
    expect(s.ctx.config.IPAddress).toBe('192.168.1.57')
    const running = await driver({ 'Get-VM': ok('get-vm-running.json'), 'Get-VMNetworkAdapter': ok('adapter-ips.json') })
    await running.d.start()
    expect(running.calls.map(keyOf)).toEqual(['Get-VM', 'Get-VMNetworkAdapter'])
  })

  it('stop: Stop-VM -Force (a guest shutdown); when it fails or passes its bound, the VM is turned off; a stopped one is left', async () => {
    const { d, calls } = await driver({ 'Get-VM': ok('get-vm-running.json') })
    await d.stop()
    expect(calls.slice(1)).toEqual(["Hyper-V\\Stop-VM -Name 'default' -Force"])
    const stuck = await driver({ 'Get-VM': ok('get-vm-running.json'), 'Stop-VM': { fail: "'default' failed to change state. The operation timed out." } })
    await stuck.d.stop()
    expect(stuck.calls.slice(1)).toEqual(["Hyper-V\\Stop-VM -Name 'default' -Force", "Hyper-V\\Stop-VM -Name 'default' -TurnOff -Force"])
    const off = await driver({ 'Get-VM': ok('get-vm-off.json') })
    await off.d.stop()
    expect(off.calls.map(keyOf)).toEqual(['Get-VM'])
  })

  it('kill: Stop-VM -TurnOff -Force; a stopped VM is left', async () => {
    const { d, calls } = await driver({ 'Get-VM': ok('get-vm-running.json') })
    await d.kill()
    expect(calls.slice(1)).toEqual(["Hyper-V\\Stop-VM -Name 'default' -TurnOff -Force"])
    const off = await driver({ 'Get-VM': ok('get-vm-off.json') })
    await off.d.kill()
    expect(off.calls.map(keyOf)).toEqual(['Get-VM'])
  })

  it('rm: turned off, Remove-VM -Force, then its files; a VM whose files lie elsewhere is left alone; a VM already gone is fine', async () => {
    const s = await setup()
    await writeFile(join(s.dir, 'disk.vhdx'), 'x')
    await writeFile(join(s.dir, 'seed.iso'), 'x')
    const r = recorded({ 'Get-VM': ok('get-vm-running.json', s.dir) })
    await new HyperVDriver(s.ctx, { ps: r.ps }).remove(new MemoryJournal())
    expect(r.calls.slice(1)).toEqual(["Hyper-V\\Stop-VM -Name 'default' -TurnOff -Force", "Hyper-V\\Remove-VM -Name 'default' -Force"])
    expect(await readdir(s.dir)).toEqual([])

    // Get-VM refused for want of rights: said so, and nothing is deleted (the VM is not taken for gone).
    const denied = await setup()
    await writeFile(join(denied.dir, 'disk.vhdx'), 'x')
    const d2 = recorded({ 'Get-VM': { fail: fixture('error-permission.txt') } })
    expect(await errorLineAsync(() => new HyperVDriver(denied.ctx, { ps: d2.ps }).remove(new MemoryJournal()))).toMatch(/^Hyper-V Get-VM failed: You do not have the required permission.*Hyper-V Administrators/)
    expect(existsSync(join(denied.dir, 'disk.vhdx'))).toBe(true)

    const other = await driver({ 'Get-VM': ok('get-vm-elsewhere.json') })
    expect(await errorLineAsync(() => other.d.remove(new MemoryJournal()))).toBe(
      'The Hyper-V VM "default" is not this machine\'s (its files are in D:\\Hyper-V\\default): it was left alone: remove it in Hyper-V Manager if it should go, then run "machine rm default" again',
    )
    expect(other.calls.map(keyOf)).toEqual(['Get-VM'])
    const gone = await driver({ 'Get-VM': NONE })
    await gone.d.remove(new MemoryJournal())
    expect(gone.calls.map(keyOf)).toEqual(['Get-VM'])
  })
})

describe('hyperv stop --save, resume, and discarding a saved state', () => {
  const GET_VM = "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VM -Name 'default' | Select-Object Name, Path, @{ Name = 'State'; Expression = { [string]$_.State } })"
  const ADAPTER = "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VMNetworkAdapter -VMName 'default' | ForEach-Object { $_.IPAddresses })"
  const SAVE = "Hyper-V\\Save-VM -Name 'default' -Confirm:$false"
  const DISCARD = "Hyper-V\\Remove-VMSavedState -VMName 'default' -Confirm:$false"
  /** A driver on recorded answers whose log lines are kept. */
  const driver = async (answers: Record<string, Answer | Answer[]>, env: NodeJS.ProcessEnv = {}) => {
    const s = await setup()
    s.ctx.config.IPAddress = '192.168.1.50'
    s.ctx.env = { ...s.ctx.env, ...env }
    const logs: string[] = []
    s.ctx.log = { info: (l: string) => logs.push(l), debug: () => undefined }
    const r = recorded(answers)
    return { d: new HyperVDriver(s.ctx, { ps: r.ps }), calls: r.calls, s, logs }
  }

  it('the capability is declared: lifecycle lets --save through to this driver', () => {
    expect(definition.capabilities?.saveState).toBe(true)
  })

  it('stop --save of a running VM flushes the guest\'s disks over SSH, then is Save-VM and nothing else (no shutdown, no turn-off)', async () => {
    const { d, calls, logs } = await driver({ 'Get-VM': ok('get-vm-running.json'), 'Get-VMNetworkAdapter': ok('adapter-ips.json') })
    await d.stop({ save: true })
    // The adapter read is sshInfo's, for the flush's SSH session.
    expect(calls).toEqual([GET_VM, ADAPTER, SAVE])
    // No guest here (no key was ever made): the flush is tried, its failure one line, and the save goes on.
    expect(logs).toEqual([
      '"default" could not be asked to flush its disks before saving (the machine has no SSH port or key): saving it anyway',
      'Saving the state of "default" (Hyper-V Save-VM)',
    ])
  })

  it('a paused VM is saved as it is, without resuming it first', async () => {
    const { d, calls } = await driver({ 'Get-VM': ok('get-vm-paused.json') })
    await d.stop({ save: true })
    expect(calls).toEqual([GET_VM, SAVE])
  })

  it('stop --save of a stopped or already saved VM changes nothing; of a VM between states it is one line', async () => {
    for (const f of ['get-vm-off.json', 'get-vm-saved.json']) {
      const { d, calls } = await driver({ 'Get-VM': ok(f) })
      await d.stop({ save: true })
      expect(calls, f).toEqual([GET_VM])
    }
    const starting = await driver({ 'Get-VM': ok('get-vm-starting.json') })
    expect(await errorLineAsync(() => starting.d.stop({ save: true }))).toBe(
      '"default" is Starting: only a running or paused VM\'s state can be saved: wait for it to settle, or run "machine stop default" to power it off',
    )
    expect(starting.calls).toEqual([GET_VM])
  })

  it('a Save-VM that fails is one line with Hyper-V\'s reason and the state the VM is left in', async () => {
    const { d, calls } = await driver({ 'Get-VM': ok('get-vm-running.json'), 'Get-VMNetworkAdapter': ok('adapter-ips.json'), 'Save-VM': { fail: fixture('error-save-no-space.txt') } })
    expect(await errorLineAsync(() => d.stop({ save: true }))).toBe(
      'The state of "default" could not be saved (Hyper-V Save-VM failed: \'default\' failed to save. There is not enough space on the disk. (0x80070070)); it is Running: run "machine stop default" to power it off instead',
    )
    expect(calls).toEqual([GET_VM, ADAPTER, SAVE, GET_VM])
  })

  it('start of a saved VM is Start-VM (Hyper-V resumes it), the address read again, then the clock set over SSH (its failure said)', async () => {
    const { d, calls, s, logs } = await driver({ 'Get-VM': ok('get-vm-saved.json'), 'Get-VMNetworkAdapter': ok('adapter-ips.json') }, { MACHINE_HYPERV_CLOCK_SYNC_MS: '200' })
    await d.start()
    // The second adapter read is sshInfo's, for the clock's SSH session. Nothing of create is redone.
    expect(calls).toEqual([GET_VM, "Hyper-V\\Start-VM -Name 'default'", ADAPTER, ADAPTER])
    expect(s.ctx.config.IPAddress).toBe('192.168.1.57')
    expect(logs[0]).toBe('Resuming "default" from its saved state')
    // No guest here (no key was ever made): the clock is tried, and its failure is one line, not an error.
    expect(logs.at(-1)).toBe('The clock of "default" could not be set after the resume (the machine has no SSH port or key): it is behind by the time it was saved')
  })

  it('start of a stopped VM boots it and leaves the clock alone', async () => {
    const { d, calls, logs } = await driver({ 'Get-VM': ok('get-vm-off.json'), 'Get-VMNetworkAdapter': ok('adapter-ips.json') })
    await d.start()
    expect(calls.map(keyOf)).toEqual(['Get-VM', 'Start-VM', 'Get-VMNetworkAdapter'])
    expect(logs.filter((l) => /clock|Resuming/.test(l))).toEqual([])
  })

  it('stop and kill of a saved VM discard its state with Remove-VMSavedState, said in one line (the next start boots)', async () => {
    for (const op of ['stop', 'kill'] as const) {
      const { d, calls, logs } = await driver({ 'Get-VM': ok('get-vm-saved.json') })
      await d[op]()
      expect(calls, op).toEqual([GET_VM, DISCARD])
      expect(logs, op).toEqual(['Discarding the saved state of "default": its next start boots it afresh'])
    }
  })

  it('rm of a saved VM drops its state, then Remove-VM, then its files', async () => {
    const s = await setup()
    await writeFile(join(s.dir, 'disk.vhdx'), 'x')
    const r = recorded({ 'Get-VM': ok('get-vm-saved.json', s.dir) })
    await new HyperVDriver(s.ctx, { ps: r.ps }).remove(new MemoryJournal())
    expect(r.calls).toEqual([GET_VM, DISCARD, "Hyper-V\\Remove-VM -Name 'default' -Force"])
    expect(await readdir(s.dir)).toEqual([])
  })

  it('a hostile machine name never reaches Save-VM or Remove-VMSavedState (they take wildcards)', async () => {
    const s = await setup()
    const ctx = (await makeDriverContext(definition, { 'hyperv-image': s.image }, ENV, await tempDir('hyperv-store-'), 'x*')) as unknown as DriverContext<typeof options>
    const r = recorded({ 'Get-VM': ok('get-vm-running.json') })
    expect(await errorLineAsync(() => new HyperVDriver(ctx, { ps: r.ps }).stop({ save: true }))).toBe('"x*" cannot be a Hyper-V VM name here: use letters, digits, "." and "-"')
    expect(r.calls).toEqual([])
  })
})
