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

/** "20G", "512M", "1.5T", or a bare number of MB (docker-machine's disk sizes are in MB). */
export function parseDiskSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT])?(?:i?B)?\s*$/i.exec(s)
  if (!m) throw new Error(`"${s}" is not a size (use e.g. 20G, 512M, or a number of MB)`)
  const n = Number(m[1])
  const bytes = Math.floor(n * (UNITS[(m[2] ?? 'M').toUpperCase()] ?? 2 ** 20))
  if (bytes < 2 ** 30) throw new Error(`"${s}" is too small (at least 1G)`)
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
