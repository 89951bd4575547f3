/**
 * The verdict on a hardware accelerator, remembered per host so `--qemu-accel auto` does not
 * boot a probe kernel on every create. A verdict belongs to one host kernel, one QEMU binary and
 * version, and one guest architecture: a kernel or QEMU update makes the next create probe again.
 * Only definitive verdicts are kept (a guest kernel booted, or did not); "the firmware ran" is
 * not one, the first boot's watchdog decides and records it.
 */
import { readFile } from 'node:fs/promises'
import { release } from 'node:os'
import { join } from 'node:path'
import { writeFileAtomic } from '../../src/driver-kit/fs.js'
import type { GuestArch } from './settings.js'

export interface AccelVerdict {
  usable: boolean
  /** Why, in words shown to the user ("a guest kernel booted under KVM in 1.2 s"). */
  reason: string
  /** How it was established: a probe kernel, a machine's disk booted for a moment, or a machine's own first boot (the watchdog). */
  proof: 'probe-kernel' | 'probe-disk' | 'boot' | 'probe-firmware'
  /** ISO date of the check. */
  checkedAt: string
}

interface CacheFile {
  version: 1
  hosts: Record<string, AccelVerdict>
}

export const ACCEL_CACHE_FILE = 'qemu-accel.json'

export const accelCachePath = (cacheDir: string): string => join(cacheDir, ACCEL_CACHE_FILE)

/** What a verdict is valid for: this host's kernel, the QEMU binary and its version, the guest arch. */
export const accelCacheKey = (o: { accel: string; binary: string; qemuVersion: string; arch: GuestArch; hostKernel?: string }): string =>
  [o.accel, `host-kernel ${o.hostKernel ?? release()}`, `${o.binary} ${o.qemuVersion}`, o.arch].join(' | ')

async function readCache(cacheDir: string): Promise<CacheFile> {
  try {
    const j = JSON.parse(await readFile(accelCachePath(cacheDir), 'utf8')) as Partial<CacheFile>
    if (j && j.version === 1 && j.hosts && typeof j.hosts === 'object') return { version: 1, hosts: j.hosts }
  } catch {
    // Missing or unreadable: probe again (the cache only saves time, it is never the truth).
  }
  return { version: 1, hosts: {} }
}

export async function readVerdict(cacheDir: string, key: string): Promise<AccelVerdict | undefined> {
  const v = (await readCache(cacheDir)).hosts[key]
  return v && typeof v.usable === 'boolean' && typeof v.reason === 'string' ? v : undefined
}

export async function writeVerdict(cacheDir: string, key: string, v: Omit<AccelVerdict, 'checkedAt'>): Promise<void> {
  const c = await readCache(cacheDir)
  c.hosts[key] = { ...v, checkedAt: new Date().toISOString() }
  await writeFileAtomic(accelCachePath(cacheDir), `${JSON.stringify(c, null, 2)}\n`, 0o644)
}
