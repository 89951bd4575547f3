/**
 * The host-only network the machines share (NIC 2), without docker-machine's old failures:
 *  - an adapter whose address and mask match --virtualbox-hostonly-cidr is reused; else one is
 *    created, and waited for (bounded) until `list hostonlyifs` shows it (VirtualBox bug 14040:
 *    `hostonlyif create` may fail yet make the adapter, or make it and not list it at once);
 *  - a CIDR whose network overlaps a host interface (or another host-only adapter) is refused
 *    with one line naming both, before anything is made;
 *  - each machine gets a fixed address, set in its cloud-init network-config, so it never changes
 *    across restarts (docker-machine's DHCP addresses did, and broke certificates): the lowest
 *    free host address, skipping the host's own and any DHCP server's range on that network;
 *  - no DHCP server is added (no guest needs one); the adapter (and the DHCP server VirtualBox
 *    may have attached to it) is removed with the last machine, only when this tool created it.
 *
 * State, per CIDR: <store>/networks/vbox-<ip>-<bits>/hostonly.json (members and ownership),
 * changed under the kit's network lock so that concurrent creates agree.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm } from 'node:fs/promises'
import type { NetworkInterfaceInfo } from 'node:os'
import { join } from 'node:path'
import type { DriverLogger, Journal } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { writeFileAtomic } from '../../src/driver-kit/fs.js'
import { cidrContains, formatIpv4, parseCidr, parseIpv4, prefixMask } from '../../src/driver-kit/ipv4.js'
import { networkDir, withNetworkLock } from '../../src/driver-kit/network.js'
import { sleep } from '../../src/driver-kit/wait.js'
import { VBoxManageError, type VBoxManage } from './client.js'
import { VBOX_ALLOWED_RANGE } from './options.js'
import { createdInterface, parseDhcpServers, parseHostOnlyIfs, type DhcpServer, type HostOnlyIf } from './parse.js'

export interface HostOnlyCidr {
  /** The host's address on the network (the adapter's IP). */
  ip: string
  bits: number
  /** Network address, e.g. 192.168.56.0. */
  network: string
  netmask: string
}

export function parseHostOnlyCidr(cidr: string): HostOnlyCidr {
  const c = parseCidr(cidr)
  if (!c) throw new MachineError('invalid-option', `--virtualbox-hostonly-cidr "${cidr}" is not an IPv4 CIDR`)
  const mask = prefixMask(c.bits)
  return { ip: formatIpv4(c.base), bits: c.bits, network: formatIpv4((c.base & mask) >>> 0), netmask: formatIpv4(mask) }
}

const netOf = (c: HostOnlyCidr): string => `${c.network}/${c.bits}`

/** Two networks overlap when either contains the other's network address. */
function overlaps(aNet: string, aBits: number, bNet: string, bBits: number): boolean {
  return cidrContains(`${aNet}/${aBits}`, bNet) || cidrContains(`${bNet}/${bBits}`, aNet)
}

/** The adapter with the host's address and mask (a mask VirtualBox misreports right after a create counts as matching). */
export function matchingAdapter(ifs: readonly HostOnlyIf[], c: HostOnlyCidr): HostOnlyIf | undefined {
  return ifs.find((i) => i.ip === c.ip && (i.bits === c.bits || i.bits === undefined))
}

/**
 * What the CIDR's network collides with, as one line, or undefined: a host interface (not a
 * host-only adapter) on an overlapping network, or another host-only adapter on it.
 */
export function collision(c: HostOnlyCidr, hostIfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, adapters: readonly HostOnlyIf[]): string | undefined {
  const adapterIps = new Set(adapters.map((a) => a.ip).filter(Boolean))
  const mine = matchingAdapter(adapters, c)
  for (const a of adapters) {
    if (a === mine || !a.ip || a.bits === undefined || a.ip.startsWith('169.254.')) continue
    const aNet = formatIpv4((parseIpv4(a.ip)! & prefixMask(a.bits)) >>> 0)
    if (overlaps(c.network, c.bits, aNet, a.bits)) {
      return `--virtualbox-hostonly-cidr ${c.ip}/${c.bits} overlaps the host-only adapter ${a.name} (${a.ip}/${a.bits}): give its address exactly (${a.ip}/${a.bits}) to share it, or a network apart from it`
    }
  }
  for (const [name, infos] of Object.entries(hostIfaces)) {
    for (const i of infos ?? []) {
      if (i.family !== 'IPv4' || i.internal || adapterIps.has(i.address)) continue
      const bits = Number(i.cidr?.split('/')[1] ?? 32)
      const iNet = formatIpv4((parseIpv4(i.address)! & prefixMask(bits)) >>> 0)
      if (overlaps(c.network, c.bits, iNet, bits)) {
        return `--virtualbox-hostonly-cidr ${c.ip}/${c.bits} collides with the host interface ${name} (${i.address}/${bits}): choose another network for --virtualbox-hostonly-cidr, e.g. inside ${VBOX_ALLOWED_RANGE}`
      }
    }
  }
  return undefined
}

/**
 * The lowest free guest address on the network: not the network, broadcast or host address,
 * not `taken`, and outside the range (and address) of any DHCP server serving that network.
 */
export function pickGuestAddress(c: HostOnlyCidr, taken: ReadonlySet<string>, dhcp: readonly DhcpServer[]): string {
  const base = parseIpv4(c.network)!
  const size = 2 ** (32 - c.bits)
  const ranges = dhcp
    .filter((d) => d.enabled && cidrContains(netOf(c), d.ip))
    .map((d) => [parseIpv4(d.lower) ?? 0, parseIpv4(d.upper) ?? -1, parseIpv4(d.ip) ?? 0] as const)
  for (let n = base + 1; n < base + size - 1; n++) {
    const ip = formatIpv4(n)
    if (ip === c.ip || taken.has(ip)) continue
    if (ranges.some(([lo, hi, server]) => (n >= lo && n <= hi) || n === server)) continue
    return ip
  }
  throw new MachineError('hostonly-full', `The host-only network ${netOf(c)} has no free address left`, {
    hint: 'remove a machine from it, or use a larger --virtualbox-hostonly-cidr',
  })
}

/** A MAC for VirtualBox's 08:00:27 range from an address's last three bytes: unique on the network, and readable. */
export function macForAddress(ip: string): string {
  const n = parseIpv4(ip) ?? 0
  return `080027${(n & 0xffffff).toString(16).padStart(6, '0').toUpperCase()}`
}

/** `08002738A801` → `08:00:27:38:a8:01` (cloud-init's form). */
export const colonMac = (mac: string): string => (mac.toLowerCase().match(/../g) ?? []).join(':')

export interface Member {
  ip: string
  machineDir: string
}

export interface HostOnlyState {
  cidr: string
  /** The adapter the members use. */
  adapter?: string
  /** True when this tool created the adapter: it is removed with the last member. */
  adapterCreated?: boolean
  members: Record<string, Member>
}

/** How long an adapter VirtualBox made may take to appear in `list hostonlyifs`. */
export const ADAPTER_WAIT = { tries: 10, intervalMs: 1000 }

export class HostOnlyNetwork {
  readonly cidr: HostOnlyCidr
  readonly name: string
  readonly dir: string
  private readonly vbm: VBoxManage
  private readonly storePath: string
  private readonly log: DriverLogger
  private readonly waitMs: number

  constructor(o: { storePath: string; cidr: string; vbm: VBoxManage; log: DriverLogger; pollMs?: number }) {
    this.cidr = parseHostOnlyCidr(o.cidr)
    this.name = `vbox-${this.cidr.ip}-${this.cidr.bits}`
    this.dir = networkDir(o.storePath, this.name)
    this.storePath = o.storePath
    this.vbm = o.vbm
    this.log = o.log
    this.waitMs = o.pollMs ?? ADAPTER_WAIT.intervalMs
  }

  private get file(): string {
    return join(this.dir, 'hostonly.json')
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return withNetworkLock(this.storePath, this.name, 120_000, fn)
  }

  async read(): Promise<HostOnlyState> {
    try {
      const s = JSON.parse(await readFile(this.file, 'utf8')) as Partial<HostOnlyState>
      return { cidr: `${this.cidr.ip}/${this.cidr.bits}`, ...s, members: { ...s.members } }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { cidr: `${this.cidr.ip}/${this.cidr.bits}`, members: {} }
      throw new MachineError('network-corrupt', `${this.file} cannot be read: ${(e as Error).message}`, { hint: 'remove the file if no machine uses this network any more' })
    }
  }

  private async write(s: HostOnlyState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    await writeFileAtomic(this.file, `${JSON.stringify(s, null, 2)}\n`)
  }

  async adapters(): Promise<HostOnlyIf[]> {
    return parseHostOnlyIfs((await this.vbm(['list', 'hostonlyifs'])).stdout)
  }

  /** Refuse a CIDR colliding with a host interface or another adapter (pre-create: nothing is made). */
  async check(hostIfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): Promise<void> {
    const problem = collision(this.cidr, hostIfaces, await this.adapters())
    if (problem) throw new MachineError('hostonly-collision', problem)
  }

  /**
   * The machine's fixed address on the network: the one it has, else the lowest free one. Members
   * whose machine directory is gone (a create rolled back before its journal listed them) are dropped.
   */
  join(machine: string, machineDir: string): Promise<string> {
    return this.locked(async () => {
      const s = await this.read()
      const had = s.members[machine]
      if (had) return had.ip
      for (const [n, m] of Object.entries(s.members)) if (!existsSync(m.machineDir)) delete s.members[n]
      const dhcp = parseDhcpServers((await this.vbm(['list', 'dhcpservers'])).stdout)
      const ip = pickGuestAddress(this.cidr, new Set(Object.values(s.members).map((m) => m.ip)), dhcp)
      s.members[machine] = { ip, machineDir }
      await this.write(s)
      return ip
    })
  }

  /**
   * The adapter for the network: an existing one with the host's address and mask, else a new
   * one (journaled before it is made, with the adapters that existed, so a rollback finds it even
   * when VirtualBox failed to name it). Returns its name.
   */
  ensureAdapter(journal: Journal | undefined, signal: AbortSignal): Promise<string> {
    return this.locked(async () => {
      const before = await this.adapters()
      const found = matchingAdapter(before, this.cidr)
      const s = await this.read()
      if (found) {
        if (s.adapter !== found.name) {
          // A different adapter than recorded (re-created outside this tool): not ours to remove.
          if (s.adapter) s.adapterCreated = false
          s.adapter = found.name
          await this.write(s)
        }
        return found.name
      }
      const problem = collision(this.cidr, {}, before)
      if (problem) throw new MachineError('hostonly-collision', problem)
      if (!cidrContains(VBOX_ALLOWED_RANGE, this.cidr.ip)) {
        this.log.info(`${this.cidr.ip}/${this.cidr.bits} is outside ${VBOX_ALLOWED_RANGE}: VirtualBox >= 6.1.28 refuses it unless /etc/vbox/networks.conf lists it (e.g. "* ${this.cidr.network}/${this.cidr.bits}")`)
      }
      if (process.platform === 'win32') this.log.info('Windows may ask for permission to create a network adapter; the prompt is sometimes minimised in the taskbar')
      await journal?.record({ kind: 'hostonlyif', id: netOf(this.cidr), data: { before: before.map((a) => a.name), network: this.name } })
      let named: string | undefined
      try {
        named = createdInterface((await this.vbm(['hostonlyif', 'create'], { signal })).stdout)
      } catch (e) {
        // VirtualBox bug 14040: the command fails, yet the adapter appears shortly after.
        if (!(e instanceof VBoxManageError)) throw e
        this.log.info(`VirtualBox reported a failure creating a host-only adapter (${e.message}); checking whether it was made anyway (VirtualBox bug 14040)`)
      }
      const made = await this.waitForNew(before, named, signal)
      await journal?.update('hostonlyif', netOf(this.cidr), { name: made.name })
      s.adapter = made.name
      s.adapterCreated = true
      await this.write(s)
      await this.vbm(['hostonlyif', 'ipconfig', made.name, '--ip', this.cidr.ip, '--netmask', this.cidr.netmask], { signal })
      return made.name
    })
  }

  private async waitForNew(before: readonly HostOnlyIf[], named: string | undefined, signal: AbortSignal): Promise<HostOnlyIf> {
    const old = new Set(before.map((a) => a.name))
    for (let i = 0; i < ADAPTER_WAIT.tries; i++) {
      const now = await this.adapters()
      const made = now.find((a) => (named ? a.name === named : !old.has(a.name)))
      if (made) return made
      await sleep(this.waitMs, signal)
    }
    throw new MachineError('hostonly-not-visible', `The host-only adapter ${named ? `${named} ` : ''}VirtualBox just created does not appear in "VBoxManage list hostonlyifs" (VirtualBox bug 14040)`, {
      hint: 'reinstall VirtualBox (or reboot so that its network driver reloads), then try again',
    })
  }

  /**
   * `machine` goes: forget it; with the last member, the adapter (and a DHCP server on it) is
   * removed when this tool created it. `pending`: an adapter a rolled-back create was making
   * (from its journal entry), found by name or, unnamed, as an unconfigured newcomer.
   */
  leave(machine: string, pending?: { name?: string; before?: string[] }): Promise<void> {
    return this.locked(async () => {
      const s = await this.read()
      delete s.members[machine]
      let remove: string | undefined
      if (pending && !s.adapterCreated) {
        const old = new Set(pending.before ?? [])
        const now = await this.adapters()
        remove = pending.name ?? now.find((a) => !old.has(a.name) && (a.ip === '' || a.ip === this.cidr.ip || a.ip.startsWith('169.254.')))?.name
        if (remove && !now.some((a) => a.name === remove)) remove = undefined
      }
      if (Object.keys(s.members).length === 0 && s.adapterCreated && s.adapter) {
        remove = s.adapter
        delete s.adapter
        delete s.adapterCreated
      }
      if (remove) await this.removeAdapter(remove)
      if (Object.keys(s.members).length === 0) await rm(this.dir, { recursive: true, force: true })
      else await this.write(s)
    })
  }

  private async removeAdapter(name: string): Promise<void> {
    this.log.info(`Removing the host-only adapter ${name} (made for these machines, now unused)`)
    const dhcp = parseDhcpServers((await this.vbm(['list', 'dhcpservers'])).stdout).find((d) => d.networkName === `HostInterfaceNetworking-${name}`)
    if (dhcp) await this.vbm(['dhcpserver', 'remove', '--netname', dhcp.networkName])
    try {
      await this.vbm(['hostonlyif', 'remove', name])
    } catch (e) {
      if (!(e instanceof VBoxManageError && /could not be found|VBOX_E_OBJECT_NOT_FOUND/i.test(e.stderr))) throw e
    }
  }
}
