/**
 * Every PowerShell script the hyperv driver runs: a fixed set of one-line templates, each filled
 * only with psQuote'd literals and numbers. Keeping them few and fixed is what lets the golden
 * transcripts pin them and the fake powershell.exe recognise each one strictly.
 *
 * Cmdlets are module-qualified (Hyper-V\Get-VM), as docker-machine did: VMware PowerCLI has its
 * own Get-VM/Start-VM, and whichever module loaded last would win otherwise. Structured answers
 * go through ConvertTo-Json -InputObject @(…), so an empty or one-element result is still a JSON
 * array, and enums are converted to [string] first (ConvertTo-Json writes them as numbers).
 */
import { MachineError } from '../../src/driver-kit/errors.js'
import { psQuote } from './powershell.js'

/**
 * A VM name as the Hyper-V cmdlets take it: their -Name/-VMName parameters are wildcard patterns,
 * so only the store's name characters are let through (a "*" would match every VM).
 */
export function vmName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$/.test(name)) {
    throw new MachineError('invalid-name', `${JSON.stringify(name)} cannot be a Hyper-V VM name here`, { hint: 'use letters, digits, "." and "-"' })
  }
  return psQuote(name, 'VM name')
}

const path = (p: string) => psQuote(p, 'path')

export const MB = 1024 * 1024

export const scripts = {
  /** Is the Hyper-V module there, and is the user an administrator or in Hyper-V Administrators (S-1-5-32-578)? */
  probe: (): string =>
    "$p = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent(); ConvertTo-Json -Compress -InputObject @{ Module = [bool](@(Get-Module -ListAvailable -Name Hyper-V).Count); Administrator = $p.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator); HyperVAdministrator = $p.IsInRole([Security.Principal.SecurityIdentifier]'S-1-5-32-578') }",
  switches: (): string =>
    "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VMSwitch | Select-Object Name, @{ Name = 'SwitchType'; Expression = { [string]$_.SwitchType } })",
  /**
   * The VM of that name. A missing VM is Hyper-V's "unable to find a virtual machine" error, not
   * an empty answer: -ErrorAction SilentlyContinue would hide a permission error the same way,
   * and rm would then take a VM it cannot see for gone.
   */
  vm: (name: string): string =>
    `ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VM -Name ${vmName(name)} | Select-Object Name, Path, @{ Name = 'State'; Expression = { [string]$_.State } })`,
  /** The addresses the guest's integration services report on its network adapters. */
  addresses: (name: string): string =>
    `ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VMNetworkAdapter -VMName ${vmName(name)} | ForEach-Object { $_.IPAddresses })`,
  convertVhd: (src: string, dest: string): string => `Hyper-V\\Convert-VHD -Path ${path(src)} -DestinationPath ${path(dest)} -VHDType Dynamic`,
  resizeVhd: (vhd: string, sizeMb: number): string => `Hyper-V\\Resize-VHD -Path ${path(vhd)} -SizeBytes ${Math.trunc(sizeMb) * MB}`,
  newVm: (name: string, dir: string, memoryMb: number, vhd: string, switchName: string): string =>
    `Hyper-V\\New-VM -Name ${vmName(name)} -Path ${path(dir)} -Generation 2 -MemoryStartupBytes ${Math.trunc(memoryMb) * MB} -VHDPath ${path(vhd)} -SwitchName ${psQuote(switchName, 'switch name')} | Out-Null`,
  /** CPUs; no checkpoints (Windows 10/11 would take one at every start, leaving .avhdx files); shut down with the host. */
  setVm: (name: string, cpus: number): string =>
    `Hyper-V\\Set-VM -Name ${vmName(name)} -ProcessorCount ${Math.trunc(cpus)} -CheckpointType Disabled -AutomaticStopAction ShutDown`,
  setMemory: (name: string, dynamic: boolean): string => `Hyper-V\\Set-VMMemory -VMName ${vmName(name)} -DynamicMemoryEnabled $${dynamic}`,
  /** Secure boot with the template that trusts Linux shims (signed by Microsoft's UEFI CA), not Windows' default. */
  setFirmware: (name: string): string =>
    `Hyper-V\\Set-VMFirmware -VMName ${vmName(name)} -EnableSecureBoot On -SecureBootTemplate MicrosoftUEFICertificateAuthority`,
  setMac: (name: string, mac: string): string => `Hyper-V\\Set-VMNetworkAdapter -VMName ${vmName(name)} -StaticMacAddress ${psQuote(mac, 'MAC address')}`,
  setVlan: (name: string, vlan: number): string => `Hyper-V\\Set-VMNetworkAdapterVlan -VMName ${vmName(name)} -Access -VlanId ${Math.trunc(vlan)}`,
  addDvd: (name: string, iso: string): string => `Hyper-V\\Add-VMDvdDrive -VMName ${vmName(name)} -Path ${path(iso)}`,
  start: (name: string): string => `Hyper-V\\Start-VM -Name ${vmName(name)}`,
  /** A shutdown through the guest's integration services; -Force: no confirmation prompt. */
  stop: (name: string): string => `Hyper-V\\Stop-VM -Name ${vmName(name)} -Force`,
  kill: (name: string): string => `Hyper-V\\Stop-VM -Name ${vmName(name)} -TurnOff -Force`,
  /**
   * `stop --save`: the VM's memory and devices written to its runtime state file, in Hyper-V's
   * folder of the VM (State becomes Saved); Start-VM resumes it. -Confirm:$false: a prompt cannot
   * be answered under -NonInteractive, whatever the cmdlet's confirm impact.
   */
  save: (name: string): string => `Hyper-V\\Save-VM -Name ${vmName(name)} -Confirm:$false`,
  /** The saved state dropped (State becomes Off; the next Start-VM boots). Windows 10 / Server 2016 and later. */
  discardSavedState: (name: string): string => `Hyper-V\\Remove-VMSavedState -VMName ${vmName(name)} -Confirm:$false`,
  /** The VM's registration and configuration; its disks are files the driver deletes itself. */
  remove: (name: string): string => `Hyper-V\\Remove-VM -Name ${vmName(name)} -Force`,
} as const

export type ScriptName = keyof typeof scripts
