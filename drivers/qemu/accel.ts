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

export function chooseAccel(requested: AccelRequest, f: AccelFacts): AccelChoice {
  if (requested !== 'auto') return { accel: requested, reason: `--qemu-accel ${requested} was given` }
  if (f.hostArch !== f.guestArch) {
    return {
      accel: 'tcg',
      reason: `a ${f.guestArch} guest on a ${f.hostArch ?? process.arch} host can only be emulated`,
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
      return { accel: 'whpx', reason: 'Windows Hypervisor Platform (QEMU falls back to tcg if it is not enabled)' }
    default:
      return { accel: 'tcg', reason: `no hardware accelerator is supported on ${f.platform}` }
  }
}

/** Does the kvm probe's debug-console output show the guest's firmware ran? */
export const firmwareRan = (debugOutput: string): boolean => /SeaBIOS|BdsDxe|UEFI|Booting/i.test(debugOutput)
