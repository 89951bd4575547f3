/**
 * Pure parsing of the qemu driver's option values (no I/O): shared by the option declarations
 * (validation at flag-parsing time) and the driver.
 */

export type GuestArch = 'x86_64' | 'aarch64'
export type Accel = 'kvm' | 'hvf' | 'whpx' | 'tcg'
export type AccelRequest = Accel | 'auto'

export interface PortForward {
  proto: 'tcp' | 'udp'
  host: number
  guest: number
}

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }

/** qcow2 and raw images larger than this are a typo (QEMU's own limits are far off and fail late). */
export const MAX_DISK_BYTES = 64 * 2 ** 40

export const MIN_MEMORY_MB = 256

/**
 * The largest guest memory accepted: the host's RAM. QEMU allocates guest memory lazily, so a
 * small guest on a smaller host still boots (the default 2048 MB on a 1 GB CI runner): below
 * 4096 MB anything is allowed.
 */
export const maxMemoryMb = (hostTotalBytes: number): number => Math.max(4096, Math.floor(hostTotalBytes / 2 ** 20))

/** Why `v` is not a usable --qemu-memory (MB) on a host with `hostTotalBytes` of RAM, or undefined. */
export function memoryProblem(v: unknown, hostTotalBytes: number): string | undefined {
  const max = maxMemoryMb(hostTotalBytes)
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < MIN_MEMORY_MB || v > max) {
    return `must be a whole number of MB from ${MIN_MEMORY_MB} to ${max} (this host has ${Math.floor(hostTotalBytes / 2 ** 20)} MB)`
  }
  return undefined
}

/** "20G", "512M", "1.5T", or a bare number of MB (docker-machine's disk sizes are in MB). */
export function parseDiskSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT])?(?:i?B)?\s*$/i.exec(s)
  if (!m) throw new Error(`"${s}" is not a size (use e.g. 20G, 512M, or a number of MB)`)
  const n = Number(m[1])
  const bytes = Math.floor(n * (UNITS[(m[2] ?? 'M').toUpperCase()] ?? 2 ** 20))
  if (bytes < 2 ** 30) throw new Error(`"${s}" is too small (at least 1G)`)
  if (bytes > MAX_DISK_BYTES) throw new Error(`"${s}" is too large (at most 64T)`)
  return bytes
}

const portNum = (s: string, what: string, spec: string): number => {
  const n = Number(s)
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new Error(`"${spec}": ${what} port must be 1-65535`)
  return n
}

/** "8080:80", "5353:53/udp". The host side always binds 127.0.0.1. */
export function parsePortForward(spec: string): PortForward {
  const m = /^(\d+):(\d+)(?:\/(tcp|udp))?$/i.exec(spec.trim())
  if (!m) throw new Error(`"${spec}" is not a port forward (use host:guest, e.g. 8080:80 or 5353:53/udp)`)
  return {
    host: portNum(m[1]!, 'host', spec),
    guest: portNum(m[2]!, 'guest', spec),
    proto: (m[3]?.toLowerCase() as 'tcp' | 'udp' | undefined) ?? 'tcp',
  }
}

export const formatSize = (bytes: number): string =>
  bytes % 2 ** 30 === 0 ? `${bytes / 2 ** 30}G` : bytes % 2 ** 20 === 0 ? `${bytes / 2 ** 20}M` : `${bytes}`

/** Guest architecture name used by qemu-system-<arch>, from Node's process.arch. */
export const archOfNode = (a: string): GuestArch | undefined => (a === 'x64' ? 'x86_64' : a === 'arm64' ? 'aarch64' : undefined)
