/**
 * Hardware virtualization: is VT-x/AMD-V available on this host (before create), is Hyper-V
 * holding it (Windows), and did the VM fail for want of it (its VBox.log, after a start).
 * The probes are injectable; the checks on their answers are pure.
 */
import { readFile } from 'node:fs/promises'
import { MachineError } from '../../src/driver-kit/errors.js'
import { run } from '../../src/driver-kit/run.js'
import { HYPERV_FIX, VTX_FIX } from './client.js'

export interface HostProbe {
  platform: NodeJS.Platform
  /** Linux: /proc/cpuinfo; macOS: `sysctl -n machdep.cpu.features machdep.cpu.leaf7_features kern.hv_support`; undefined when unreadable. */
  cpuFeatures(): Promise<string | undefined>
  /** Windows: is a hypervisor (Hyper-V) running under Windows? undefined when unknown. */
  hypervisorPresent(): Promise<boolean | undefined>
}

async function output(cmd: string, args: string[]): Promise<string | undefined> {
  const r = await run(cmd, args, { timeoutMs: 15_000 }).catch(() => undefined)
  return r && r.code === 0 ? r.stdout : undefined
}

export const realHostProbe = (platform: NodeJS.Platform = process.platform): HostProbe => ({
  platform,
  cpuFeatures: async () => {
    if (platform === 'linux') return readFile('/proc/cpuinfo', 'utf8').catch(() => undefined)
    if (platform === 'darwin') return output('sysctl', ['-n', 'machdep.cpu.features', 'kern.hv_support'])
    if (platform === 'win32') {
      const o = await output('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', '(Get-CimInstance Win32_Processor).VirtualizationFirmwareEnabled'])
      return o === undefined ? undefined : /True/i.test(o) ? 'vmx' : ''
    }
    return undefined
  },
  hypervisorPresent: async () => {
    if (platform !== 'win32') return false
    const o = await output('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', '(Get-CimInstance Win32_ComputerSystem).HypervisorPresent'])
    return o === undefined ? undefined : /True/i.test(o)
  },
})

/**
 * Does the host CPU offer VT-x/AMD-V? Linux: a "vmx" or "svm" flag; macOS: VMX among the CPU
 * features (Intel) or kern.hv_support 1 (Apple silicon, whose VirtualBox uses the Hypervisor
 * framework); unknown (undefined) when the features could not be read.
 */
export function hasVtx(platform: NodeJS.Platform, features: string | undefined): boolean | undefined {
  if (features === undefined) return undefined
  if (platform === 'darwin') return /\bVMX\b/.test(features) || /^\s*1\s*$/m.test(features)
  return /\b(vmx|svm)\b/i.test(features)
}

/** The pre-create check (skipped with --virtualbox-no-vtx-check). */
export async function checkVirtualization(probe: HostProbe, debug: (l: string) => void): Promise<void> {
  if (probe.platform === 'win32' && (await probe.hypervisorPresent())) {
    throw new MachineError('hyperv-enabled', 'Hyper-V is enabled on this computer, and VirtualBox cannot use VT-x/AMD-V alongside it', { hint: HYPERV_FIX })
  }
  const vtx = hasVtx(probe.platform, await probe.cpuFeatures())
  if (vtx === undefined) {
    debug('could not tell whether VT-x/AMD-V is available: going on')
    return
  }
  if (!vtx) throw new MachineError('vtx-unavailable', "This computer doesn't have VT-x/AMD-V available", { hint: VTX_FIX })
}

/** VBox.log lines that mean the VM could not use hardware virtualization (docker-machine's list, plus AMD-V's and Hyper-V's). */
const LOG_SIGNS: Array<[RegExp, 'vtx' | 'hyperv']> = [
  // Not "Falling back to raw-mode: VT-x is disabled in the BIOS…": VirtualBox < 6.1 went on without it.
  [/^(?!.*Falling back to raw-mode).*VT-x is disabled/, 'vtx'],
  [/the host CPU does NOT support HW virtualization/, 'vtx'],
  [/VERR_VMX_UNABLE_TO_START_VM|VERR_VMX_NO_VMX|VERR_SVM_NO_SVM|VERR_SVM_DISABLED|VERR_VMX_MSR_ALL_VMX_DISABLED/, 'vtx'],
  [/AMD-V is disabled in the BIOS/, 'vtx'],
  [/VERR_NEM_NOT_AVAILABLE|VERR_SUPDRV_NO_RAW_MODE_HYPER_V_ROOT/, 'hyperv'],
]

/** The VM's log says it failed for want of VT-x/AMD-V: one line with the fix, else undefined. */
export function vtxProblemInLog(log: string): MachineError | undefined {
  for (const line of log.split(/\r?\n/)) {
    for (const [re, kind] of LOG_SIGNS) {
      if (!re.test(line)) continue
      const seen = line.replace(/^\s*[\d:.]+\s+/, '').trim()
      return kind === 'hyperv'
        ? new MachineError('hyperv-enabled', `The VM could not start: Hyper-V holds the processor's virtualization (VBox.log: "${seen}")`, { hint: HYPERV_FIX })
        : new MachineError('vtx-unavailable', `The VM could not use VT-x/AMD-V (VBox.log: "${seen}")`, { hint: VTX_FIX })
    }
  }
  return undefined
}
