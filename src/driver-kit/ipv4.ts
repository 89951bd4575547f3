// IPv4 addresses and CIDR prefixes as 32-bit numbers: what drivers check subnets and pick
// addresses with (azure's subnets, virtualbox's host-only network).

export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  if (!m) return undefined
  const o = m.slice(1).map(Number)
  if (o.some((x) => x > 255)) return undefined
  return (((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!) >>> 0
}

export const formatIpv4 = (n: number): string => [24, 16, 8, 0].map((sh) => (n >>> sh) & 255).join('.')

/** The netmask of a prefix length as a number (24 → 0xffffff00). */
export const prefixMask = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0)

/** "255.255.255.0" → 24; undefined for a mask that is not a run of ones. */
export function maskBits(mask: string): number | undefined {
  const n = parseIpv4(mask)
  if (n === undefined) return undefined
  for (let bits = 0; bits <= 32; bits++) if (prefixMask(bits) === n) return bits
  return undefined
}

export function parseCidr(s: string): { base: number; bits: number } | undefined {
  const [ip, bitsText, ...rest] = s.split('/')
  if (rest.length || ip === undefined || bitsText === undefined || !/^\d{1,2}$/.test(bitsText)) return undefined
  const base = parseIpv4(ip)
  const bits = Number(bitsText)
  if (base === undefined || bits > 32) return undefined
  return { base, bits }
}

export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr)
  const a = parseIpv4(ip)
  if (!c || a === undefined) return false
  const mask = prefixMask(c.bits)
  return ((a & mask) >>> 0) === ((c.base & mask) >>> 0)
}
