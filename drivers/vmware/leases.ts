/**
 * The guest's address from VMware's own DHCP server (vmnet-dhcpd, an ISC dhcpd), for when vmrun
 * cannot tell it (no VMware Tools in the guest yet, or `getGuestIPAddress` timed out). As
 * docker-machine's vmware driver did: first a fixed address for the MAC in a vmnet's dhcpd.conf
 * (`host … { hardware ethernet …; fixed-address …; }`), then the lease for the MAC that ends
 * last in the leases files. Bridged guests get their address from the LAN's DHCP server, which
 * is not here: only vmrun can tell theirs.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const norm = (mac: string): string => mac.trim().toLowerCase()

/** ISC dhcpd leases text: the address of the lease for `mac` that ends last ("ends never" beats every date). */
export function addressFromLeases(text: string, mac: string): string | undefined {
  return latestLease(text, mac)?.ip
}

/** The lease for `mac` that ends last, with its end (ms since the epoch; Infinity for "never"). */
function latestLease(text: string, mac: string): { ip: string; ends: number } | undefined {
  const want = norm(mac)
  let best: { ip: string; ends: number } | undefined
  for (const block of text.matchAll(/^lease\s+(\d{1,3}(?:\.\d{1,3}){3})\s*\{([\s\S]*?)^\}/gm)) {
    const body = block[2]!
    const hw = /^\s*hardware ethernet\s+([0-9A-Fa-f:]+)\s*;/m.exec(body)?.[1]
    if (!hw || norm(hw) !== want) continue
    // "ends 5 2026/12/04 23:58:30;" (weekday, UTC) or "ends never;"
    const endsRaw = /^\s*ends\s+(?:\d\s+(\d{4})\/(\d{2})\/(\d{2})\s+(\d{2}):(\d{2}):(\d{2})|(never))\s*;/m.exec(body)
    let ends = 0
    if (endsRaw?.[7]) ends = Infinity
    else if (endsRaw) ends = Date.UTC(+endsRaw[1]!, +endsRaw[2]! - 1, +endsRaw[3]!, +endsRaw[4]!, +endsRaw[5]!, +endsRaw[6]!)
    // Later in the file wins a tie: dhcpd appends the newest state of a lease.
    if (!best || ends >= best.ends) best = { ip: block[1]!, ends }
  }
  return best
}

/** dhcpd.conf text: the fixed-address of a top-level `host` block for `mac`. */
export function addressFromDhcpConf(text: string, mac: string): string | undefined {
  const want = norm(mac)
  for (const block of text.matchAll(/^\s*host\s+\S+\s*\{([^{}]*)\}/gm)) {
    const body = block[1]!
    const hw = /hardware ethernet\s+([0-9A-Fa-f:]+)\s*;/.exec(body)?.[1]
    const ip = /fixed-address\s+(\d{1,3}(?:\.\d{1,3}){3})\s*;/.exec(body)?.[1]
    if (hw && ip && norm(hw) === want) return ip
  }
  return undefined
}

/** `dir`'s entries matching `re`, joined to it; none when it cannot be read. */
function entries(dir: string, re: RegExp): string[] {
  try {
    return readdirSync(dir).filter((n) => re.test(n)).sort().map((n) => join(dir, n))
  } catch {
    return []
  }
}

/** Where each VMware keeps its vmnet DHCP configuration and leases (docker-machine's vmware_<os>.go). */
export function dhcpFiles(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): { conf: string[]; leases: string[] } {
  if (platform === 'darwin') {
    const prefs = '/Library/Preferences/VMware Fusion'
    return { conf: entries(prefs, /^vmnet\d+$/).map((d) => join(d, 'dhcpd.conf')), leases: entries('/var/db/vmware', /\.leases$/) }
  }
  if (platform === 'win32') {
    const dir = join(env.ALLUSERSPROFILE ?? env.ProgramData ?? 'C:\\ProgramData', 'VMware')
    return { conf: [join(dir, 'vmnetdhcp.conf')], leases: [join(dir, 'vmnetdhcp.leases')] }
  }
  const vmnets = entries('/etc/vmware', /^vmnet\d+$/)
  return { conf: vmnets.map((d) => join(d, 'dhcpd', 'dhcpd.conf')), leases: vmnets.map((d) => join(d, 'dhcpd', 'dhcpd.leases')) }
}

const read = (f: string): string => {
  try {
    return readFileSync(f, 'utf8')
  } catch {
    return ''
  }
}

/** The address VMware's DHCP gave `mac`, from its files; undefined when none has it. */
export function addressFromDhcpFiles(files: { conf: string[]; leases: string[] }, mac: string): string | undefined {
  for (const f of files.conf) {
    const ip = addressFromDhcpConf(read(f), mac)
    if (ip) return ip
  }
  // One leases file per vmnet: the MAC's newest lease in any of them (a VM moved from NAT to host-only has both).
  let best: { ip: string; ends: number } | undefined
  for (const f of files.leases) {
    const l = latestLease(read(f), mac)
    if (l && (!best || l.ends >= best.ends)) best = l
  }
  return best?.ip
}
