/**
 * VBoxManage's output formats, read as the real tool prints them (recorded samples in
 * test/drivers/fixtures/virtualbox/). Pure functions: no I/O.
 */
import type { MachineState } from '../../src/driver-kit/contract.js'
import { maskBits, parseIpv4 } from '../../src/driver-kit/ipv4.js'

/** `showvminfo --machinereadable`: key=value lines; keys and values may be quoted ("SATA-0-0"="…"). */
export function parseMachineReadable(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const raw of text.split(/\r?\n/)) {
    const m = /^("(?:[^"\\]|\\.)*"|[^=]+)=(.*)$/.exec(raw)
    if (!m) continue // VirtualBox 7 also prints a stray "Encryption:     disabled" line here
    out.set(unquote(m[1]!), unquote(m[2]!))
  }
  return out
}

function unquote(s: string): string {
  const t = s.trim()
  if (t.length < 2 || !t.startsWith('"') || !t.endsWith('"')) return t
  // VirtualBox >= 6.1 escapes backslashes, quotes and newlines inside quoted values.
  return t.slice(1, -1).replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
}

/** VMState values (VirtualBox's MachineState, lower-cased by VBoxManage) in `ls`'s words. */
export function machineState(vmState: string | undefined): MachineState {
  switch (vmState) {
    case 'running':
      return 'Running'
    case 'paused':
      return 'Paused'
    case 'saved':
      return 'Saved'
    case 'poweroff':
    case 'aborted':
    case 'aborted-saved':
      return 'Stopped'
    case 'starting':
    case 'restoring':
      return 'Starting'
    case 'stopping':
    case 'saving':
      return 'Stopping'
    case 'gurumeditation':
      return 'Error'
    default:
      return ''
  }
}

/** "Key:   value" blocks separated by blank lines (list hostonlyifs, list dhcpservers, showmediuminfo). */
export function parseColonBlocks(text: string): Array<Map<string, string>> {
  const blocks: Array<Map<string, string>> = []
  let cur = new Map<string, string>()
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '') {
      if (cur.size) blocks.push(cur)
      cur = new Map()
      continue
    }
    // Indented lines are sub-settings (a DHCP server's options): not read.
    if (/^\s/.test(raw)) continue
    const m = /^([^:]+):\s*(.*)$/.exec(raw)
    if (m) cur.set(m[1]!.trim().toLowerCase(), m[2]!.trim())
  }
  if (cur.size) blocks.push(cur)
  return blocks
}

export interface HostOnlyIf {
  /** vboxnet0; on Windows "VirtualBox Host-Only Ethernet Adapter #2". */
  name: string
  ip: string
  /** Prefix length of NetworkMask (undefined for the 0f000000 mask VirtualBox misreports right after a create). */
  bits: number | undefined
  dhcp: boolean
  status: string
  /** HostInterfaceNetworking-<name>: what a DHCP server names it by. */
  networkName: string
}

/** `list hostonlyifs`. */
export function parseHostOnlyIfs(text: string): HostOnlyIf[] {
  return parseColonBlocks(text)
    .filter((b) => b.has('name'))
    .map((b) => ({
      name: b.get('name')!,
      ip: b.get('ipaddress') ?? '',
      bits: maskBits(b.get('networkmask') ?? ''),
      dhcp: (b.get('dhcp') ?? 'Disabled') !== 'Disabled',
      status: b.get('status') ?? '',
      networkName: b.get('vboxnetworkname') ?? `HostInterfaceNetworking-${b.get('name')!}`,
    }))
}

export interface DhcpServer {
  networkName: string
  ip: string
  lower: string
  upper: string
  enabled: boolean
}

/** `list dhcpservers`: VirtualBox < 6.1 says "IP:"/"lowerIPAddress:", later ones "Dhcpd IP:"/"LowerIPAddress:". */
export function parseDhcpServers(text: string): DhcpServer[] {
  return parseColonBlocks(text)
    .filter((b) => b.has('networkname'))
    .map((b) => ({
      networkName: b.get('networkname')!,
      ip: b.get('dhcpd ip') ?? b.get('ip') ?? '',
      lower: b.get('loweripaddress') ?? '',
      upper: b.get('upperipaddress') ?? '',
      enabled: b.get('enabled') === 'Yes',
    }))
}

/** "7.0.14r161095" (or "5.2.44_Ubuntur139111", "6.1.50_Debian") → its numbers. */
export function parseVersion(text: string): { major: number; minor: number; patch: number; raw: string } | undefined {
  const raw = text.trim().split(/\r?\n/).pop()?.trim() ?? ''
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(raw)
  if (!m) return undefined
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), raw }
}

/** `hostonlyif create`: "Interface 'vboxnet1' was successfully created". */
export const createdInterface = (stdout: string): string | undefined => /Interface '(.+)' was successfully created/.exec(stdout)?.[1]

/** `createvm`: "UUID: 3f1b…". */
export const createdUuid = (stdout: string): string | undefined => /^UUID:\s*([0-9a-f-]{36})\s*$/im.exec(stdout)?.[1]

/** `showmediuminfo disk <path>`: "Capacity: 2048 MBytes" in MB. */
export function mediumCapacityMb(text: string): number | undefined {
  const m = /^Capacity:\s*(\d+)\s*MBytes/im.exec(text)
  return m ? Number(m[1]) : undefined
}

/** The forwarded host port of a NAT rule (`Forwarding(0)="ssh,tcp,127.0.0.1,50022,,22"`). */
export function forwardedPort(info: Map<string, string>, rule: string): number | undefined {
  for (const [k, v] of info) {
    if (!/^Forwarding\(\d+\)$/.test(k)) continue
    const [name, , , port] = v.split(',')
    if (name === rule && port && /^\d+$/.test(port)) return Number(port)
  }
  return undefined
}

export const isIpv4 = (s: string): boolean => parseIpv4(s) !== undefined
