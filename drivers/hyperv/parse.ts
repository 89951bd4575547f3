/**
 * Reading what the scripts print: ConvertTo-Json of Get-VM, Get-VMSwitch and the adapters'
 * IPAddresses (fixtures in test/drivers/fixtures/hyperv/), Hyper-V's VM states in `ls`'s
 * vocabulary, and which address of a guest to use. Pure.
 */
import type { MachineState } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { parseIpv4 } from '../../src/driver-kit/ipv4.js'

/** JSON printed by a script, with a clear error when it is something else (a profile's banner, a truncated answer). */
export function parseJson(stdout: string, what: string): unknown {
  const text = stdout.replace(/^\uFEFF/, '').trim()
  try {
    return text === '' ? [] : (JSON.parse(text) as unknown)
  } catch {
    throw new MachineError('hyperv-bad-output', `Could not read the answer of PowerShell to ${what}: ${JSON.stringify(text.slice(0, 120))}`)
  }
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === null || v === undefined ? [] : [v])
const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v))

export interface Probe {
  module: boolean
  administrator: boolean
  hyperVAdministrator: boolean
}

export function parseProbe(stdout: string): Probe {
  const o = parseJson(stdout, 'the Hyper-V checks') as Record<string, unknown>
  return { module: o.Module === true, administrator: o.Administrator === true, hyperVAdministrator: o.HyperVAdministrator === true }
}

export interface VSwitch {
  name: string
  /** "External", "Internal", "Private" ([string] of the enum; older output: 2, 1, 0). */
  type: string
}

const SWITCH_TYPES: Record<string, string> = { '0': 'Private', '1': 'Internal', '2': 'External' }

export function parseSwitches(stdout: string): VSwitch[] {
  return asArray(parseJson(stdout, 'Get-VMSwitch')).map((s) => {
    const o = s as Record<string, unknown>
    const t = str(o.SwitchType)
    return { name: str(o.Name), type: SWITCH_TYPES[t] ?? t }
  })
}

export interface VmInfo {
  name: string
  path: string
  state: string
}

/** The VM Get-VM found, or undefined when it found none. */
export function parseVm(stdout: string): VmInfo | undefined {
  const first = asArray(parseJson(stdout, 'Get-VM'))[0] as Record<string, unknown> | undefined
  return first ? { name: str(first.Name), path: str(first.Path), state: str(first.State) } : undefined
}

/** Hyper-V's VMState names (Microsoft.HyperV.PowerShell.VMState) as `ls` shows states. */
export function machineState(state: string): MachineState {
  switch (state) {
    case 'Running':
    case 'RunningCritical':
      return 'Running'
    case 'Off':
    case 'OffCritical':
      return 'Stopped'
    case 'Starting':
    case 'StartingCritical':
    case 'Resuming':
    case 'ResumingCritical':
    case 'Reset':
    case 'ResetCritical':
      return 'Starting'
    case 'Stopping':
    case 'StoppingCritical':
    case 'Saving':
    case 'SavingCritical':
    case 'FastSaving':
    case 'FastSavingCritical':
    case 'Pausing':
    case 'PausingCritical':
      return 'Stopping'
    case 'Saved':
    case 'SavedCritical':
    case 'FastSaved':
    case 'FastSavedCritical':
      return 'Saved'
    case 'Paused':
    case 'PausedCritical':
      return 'Paused'
    default:
      return 'Error'
  }
}

export function parseAddresses(stdout: string): string[] {
  return asArray(parseJson(stdout, 'Get-VMNetworkAdapter')).map(str).filter(Boolean)
}

/**
 * The address to reach the guest at: IPv4 before IPv6 (docker-machine took the first one, which
 * could be IPv6: its issue 4441), never a link-local one (169.254/16, fe80::/10: an address the
 * guest gave itself without DHCP answering).
 */
export function pickAddress(addresses: readonly string[]): string | undefined {
  const v4 = addresses.filter((a) => {
    const n = parseIpv4(a)
    return n !== undefined && n >>> 16 !== 0xa9fe && n !== 0
  })
  if (v4[0]) return v4[0]
  return addresses.find((a) => a.includes(':') && !/^fe[89ab][0-9a-f]:/i.test(a))
}
