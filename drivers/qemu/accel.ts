/**
 * Which accelerator `--qemu-accel auto` picks, and why (pure: the facts are probed by client.ts).
 * A present /dev/kvm is not proof that KVM works (nested virtualisation without VMX/SVM exposes
 * the device but every guest aborts or hangs), so Linux needs a real probe result.
 */
import type { Accel, AccelRequest, GuestArch } from './settings.js'

export interface AccelFacts {
  platform: NodeJS.Platform
  hostArch: GuestArch | undefined
  guestArch: GuestArch
  /** Linux only: did a short VM under KVM really run guest code? */
  kvm?: { usable: boolean; reason: string }
  /** macOS only: kern.hv_support, or a remembered verdict that HVF hangs the guest here. */
  hvf?: { usable: boolean; reason: string }
}

export interface AccelChoice {
  accel: Accel
  reason: string
}

/** "an aarch64", "an x86_64", "a riscv64". */
const withArticle = (w: string): string => `${/^[aeiox]/i.test(w) ? 'an' : 'a'} ${w}`

/** Which platform offers each hardware accelerator, and for which guests (QEMU's WHPX is x86 only). */
const HARDWARE: Record<Exclude<Accel, 'tcg'>, { platform: NodeJS.Platform; os: string; guests: readonly GuestArch[] }> = {
  kvm: { platform: 'linux', os: 'Linux', guests: ['x86_64', 'aarch64'] },
  hvf: { platform: 'darwin', os: 'macOS', guests: ['x86_64', 'aarch64'] },
  whpx: { platform: 'win32', os: 'Windows', guests: ['x86_64'] },
}

/**
 * Why an explicitly requested accelerator cannot run this guest here, or undefined (the way out
 * is always `auto` or `tcg`). A hardware accelerator runs guests of the host's own architecture
 * only, on its own OS: asked otherwise, QEMU would fail later with a less direct message.
 */
export function accelProblem(requested: AccelRequest, f: Pick<AccelFacts, 'platform' | 'hostArch' | 'guestArch'>): string | undefined {
  if (requested === 'auto' || requested === 'tcg') return undefined
  const hw = HARDWARE[requested]
  if (f.platform !== hw.platform) return `--qemu-accel ${requested} is only available on ${hw.os}`
  if (!hw.guests.includes(f.guestArch)) return `QEMU's ${requested.toUpperCase()} runs ${hw.guests.join('/')} guests only, not ${f.guestArch}`
  if (f.hostArch !== f.guestArch) {
    return `--qemu-accel ${requested} cannot run ${withArticle(f.guestArch)} guest on ${withArticle(f.hostArch ?? process.arch)} host, only emulation can`
  }
  return undefined
}

export function chooseAccel(requested: AccelRequest, f: AccelFacts): AccelChoice {
  if (requested !== 'auto') return { accel: requested, reason: `--qemu-accel ${requested} was given` }
  if (f.hostArch !== f.guestArch) {
    return {
      accel: 'tcg',
      reason: `${withArticle(f.guestArch)} guest on ${withArticle(f.hostArch ?? process.arch)} host can only be emulated`,
    }
  }
  switch (f.platform) {
    case 'linux':
      if (f.kvm?.usable) return { accel: 'kvm', reason: f.kvm.reason }
      return { accel: 'tcg', reason: `KVM is not usable: ${f.kvm?.reason ?? 'not probed'}` }
    case 'darwin':
      if (f.hvf?.usable) return { accel: 'hvf', reason: f.hvf.reason }
      return { accel: 'tcg', reason: `HVF is not usable: ${f.hvf?.reason ?? 'not probed'}` }
    case 'win32':
      if (!HARDWARE.whpx.guests.includes(f.guestArch)) return { accel: 'tcg', reason: `QEMU's WHPX runs x86_64 guests only` }
      return { accel: 'whpx', reason: 'Windows Hypervisor Platform (QEMU falls back to tcg if it is not enabled)' }
    default:
      return { accel: 'tcg', reason: `no hardware accelerator is supported on ${f.platform}` }
  }
}

/** Does the kvm probe's debug-console output show the guest's firmware ran? */
export const firmwareRan = (debugOutput: string): boolean => /SeaBIOS|BdsDxe|UEFI|Booting/i.test(debugOutput)
