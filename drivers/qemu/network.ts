/**
 * A qemu network (`--qemu-network NAME`): the host-local Ethernet segment a set of VMs share
 * through their second NIC, so that they reach each other (a swarm's nodes) where QEMU's user
 * networking isolates each VM behind its own NAT (every guest is 10.0.2.15 there).
 *
 *   <store>/networks/NAME/network.json   the subnet, the switch's port, and per member machine
 *                                        its address, MAC, directory and current UDP port
 *   <store>/networks/NAME/switch.json    the running switch's pid and port (written by it)
 *   <store>/networks/NAME/switch.log     the switch's stderr
 *
 * Each network has its own /24, chosen when its first machine joins and kept in network.json:
 * "default" has docker-machine's VirtualBox host-only 192.168.99.0/24, any other name the
 * lowest 192.168.N.0/24 (N from 100) no other network of the store has. The segments are
 * isolated from each other anyway (one switch each, and a VM is on one network at most); what
 * their own subnets buy is an address that says which network (and cluster) it is on, in
 * `docker node ls`, certificates and logs, with no two machines of the store alike.
 *
 * A machine joins when it is created (an address and a MAC for good, kept across stop/start),
 * the switch (switch.ts) is started when one of its VMs starts and is not running, stopped when
 * the last running VM stops, and the directory goes with the last member's `rm`. A switch that
 * died is found dead (pid and command line) and started again at the next VM start, on the same
 * port when it is free, so the VMs still running reach it again without a restart.
 */
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DriverLogger } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { writeFileAtomic } from '../../src/driver-kit/fs.js'
import { isValidNetworkName, networkDir, withAllNetworksLock, withNetworkLock } from '../../src/driver-kit/network.js'
import { packageDir } from '../../src/driver-kit/templates.js'
import { sleep } from '../../src/driver-kit/wait.js'
import { commandLineHas, killHard, processState, readPid, isOurQemu } from './client.js'
import { FILES } from './files.js'
import { STATE_FILE, SWITCH_FILE, SWITCH_HOST } from './switch.js'

/** The prefix length of every qemu network. */
export const PREFIX = 24
/**
 * "default"'s subnet, docker-machine's VirtualBox host-only network: outside swarm's overlay pool
 * (10.0.0.0/8) and the bridges Docker makes first (172.17-31.0.0/16); Docker skips a pool that
 * overlaps a route of the guest, so its later 192.168.x.0/20 bridges go around these.
 */
export const DEFAULT_SUBNET = `192.168.99.0/${PREFIX}`
/** Third octets for the other networks' subnets: 192.168.100.0/24 up. */
const FIRST_OTHER = 100
const LAST_OTHER = 254
/** Host numbers handed out: .1 is kept for a host-side address, should one ever be added. */
const FIRST_HOST = 2
const LAST_HOST = 254

export interface Member {
  /** The machine's address on the network (its cluster address). */
  ip: string
  mac: string
  /** The machine's directory: a member whose directory is gone was rolled back and is dropped. */
  machineDir: string
  /** Its VM's pid file: the switch stops itself when no member's VM runs. */
  pidFile?: string
  /** The UDP port on 127.0.0.1 of its VM's cluster NIC, set at each start. */
  port?: number
}

export interface NetworkState {
  subnet: string
  /** The port the switch was last on, asked for again when it is restarted. */
  switchPort?: number
  members: Record<string, Member>
}

export const emptyState = (subnet: string = DEFAULT_SUBNET): NetworkState => ({ subnet, members: {} })

/** "192.168.99.0/24" → "192.168.99", the part every member's address starts with. */
export function subnetBase(subnet: string): string {
  const m = /^192\.168\.(\d{1,3})\.0\/24$/.exec(subnet)
  if (!m || Number(m[1]) > 255) throw new MachineError('network-corrupt', `The network's subnet "${subnet}" is not a 192.168.N.0/24`)
  return `192.168.${m[1]}`
}

/**
 * The subnet of a new network `name`, given the subnets the store's other networks have: "default"
 * has DEFAULT_SUBNET, every other name the lowest 192.168.N.0/24 (N from 100) none of them has.
 */
export function chooseSubnet(name: string, taken: readonly string[]): string {
  if (name === 'default') return DEFAULT_SUBNET
  const used = new Set(taken)
  for (let n = FIRST_OTHER; n <= LAST_OTHER; n++) {
    const subnet = `192.168.${n}.0/${PREFIX}`
    if (!used.has(subnet)) return subnet
  }
  throw new MachineError('networks-full', `Every subnet from 192.168.${FIRST_OTHER}.0/24 to 192.168.${LAST_OTHER}.0/24 is taken by a qemu network of this store`, {
    hint: 'put the machine on a network that exists (--qemu-network NAME), or remove the machines of one you no longer use',
  })
}

/** A MAC per address (QEMU's 52:54:00 prefix, then the address's last three bytes): unique on a /24, and readable. */
export function macFor(ip: string): string {
  const bytes = ip.split('.').slice(1).map((n) => Number(n).toString(16).padStart(2, '0'))
  return ['52', '54', '00', ...bytes].join(':')
}

/**
 * The member record for `name`: the one it has, else `prefer` (the address its guest was made
 * with, when its record was lost) if free, else the lowest free address. Pure: the caller saves `state`.
 */
export function allocate(state: NetworkState, name: string, machineDir: string, prefer?: string): Member {
  const had = state.members[name]
  if (had) return had
  const taken = new Set(Object.values(state.members).map((m) => m.ip))
  const base = subnetBase(state.subnet)
  const hosts = Array.from({ length: LAST_HOST - FIRST_HOST + 1 }, (_, i) => `${base}.${FIRST_HOST + i}`)
  if (prefer && hosts.includes(prefer)) hosts.unshift(prefer)
  for (const ip of hosts) {
    if (taken.has(ip)) continue
    const m: Member = { ip, mac: macFor(ip), machineDir }
    state.members[name] = m
    return m
  }
  throw new MachineError('network-full', `The network ${state.subnet} has no free address left (${LAST_HOST - FIRST_HOST + 1} machines)`, {
    hint: 'remove a machine from it, or put the new machine on another --qemu-network',
  })
}

/**
 * A shell command for cloud-init's `bootcmd` (run at every boot, so the address is there again
 * after each start) that brings up the NIC with this MAC and gives it its address. It needs only
 * iproute2: it works whatever the image's network tooling, and also where the image has switched
 * cloud-init's own network rendering off (as the test image does).
 */
export function clusterNicCommand(mac: string, ip: string, prefix: number = PREFIX): string {
  return (
    'for d in /sys/class/net/*; do ' +
    `if [ "$(cat "$d/address" 2>/dev/null)" = "${mac}" ]; then ` +
    `ip link set dev "\${d##*/}" up && ip addr replace ${ip}/${prefix} dev "\${d##*/}"; fi; done`
  )
}

/** The guest's unit and script for a machine put on a network after it was made (clusterNicSetup). */
export const CLUSTER_NIC_UNIT = 'machine-cluster-nic.service'
export const CLUSTER_NIC_SCRIPT = '/usr/local/sbin/machine-cluster-nic'

/**
 * A root shell script, run over SSH, for a guest that was made without the network: its seed
 * (cloud-init's bootcmd) does not set the address, and cannot be changed without the host key
 * it holds. So a systemd unit does it at every boot from now on (ordered before the engine,
 * waiting up to 60 s for the NIC to appear), and it runs once now. Rerunning it changes nothing.
 */
export function clusterNicSetup(network: string, mac: string, ip: string, prefix: number = PREFIX): string {
  const script = [
    '#!/bin/sh',
    `# Written by machine: this host's address on its qemu network "${network}".`,
    `i=0; until grep -qsx ${mac} /sys/class/net/*/address || [ $i -ge 60 ]; do i=$((i + 1)); sleep 1; done`,
    clusterNicCommand(mac, ip, prefix),
    '',
  ].join('\n')
  const unit = [
    '[Unit]',
    `Description=Address on the qemu network "${network}" (written by machine)`,
    'After=network.target',
    'Before=docker.service',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${CLUSTER_NIC_SCRIPT}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n')
  // Quoted here-documents: nothing in them is expanded by the shell that writes them.
  return [
    'set -e',
    `cat > ${CLUSTER_NIC_SCRIPT} <<'MACHINE_EOF'`,
    script + 'MACHINE_EOF',
    `chmod 755 ${CLUSTER_NIC_SCRIPT}`,
    `cat > /etc/systemd/system/${CLUSTER_NIC_UNIT} <<'MACHINE_EOF'`,
    unit + 'MACHINE_EOF',
    'systemctl daemon-reload',
    `systemctl enable ${CLUSTER_NIC_UNIT}`,
    `systemctl restart ${CLUSTER_NIC_UNIT}`,
    '',
  ].join('\n')
}

/** A free UDP port on 127.0.0.1 for a VM's cluster NIC (QEMU binds it; a lost race is retried by the caller). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4')
    s.once('error', reject)
    s.bind({ address: SWITCH_HOST, port: 0, exclusive: true }, () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/**
 * The switch's entry point, run as its own Node process: the file beside this one (the sources
 * under tests, tsc's output), or the bundle's own copy (dist/bundle/drivers/qemu/switch.js, built
 * whole by scripts/bundle.mjs) when this code runs from a bundle chunk.
 */
function switchScript(): string {
  const candidates = [
    fileURLToPath(new URL('./switch.js', import.meta.url)),
    fileURLToPath(new URL('./switch.ts', import.meta.url)),
    join(packageDir(), 'dist', 'bundle', 'drivers', 'qemu', 'switch.js'),
  ]
  const found = candidates.find((f) => existsSync(f))
  if (!found) throw new MachineError('switch-missing', `The qemu network switch is not in the machine package (looked for ${candidates.join(', ')}): rebuild it (npm run build) or reinstall machine`)
  return found
}

/** Is `pid` the switch of the network in `dir` (not a reused pid)? */
async function isOurSwitch(pid: number, dir: string): Promise<boolean> {
  if ((await processState(pid)) !== 'alive') return false
  // Its command line names the network's directory (Linux, macOS); Windows trusts the pid.
  return (await commandLineHas(pid, dir)) ?? true
}

export class QemuNetwork {
  readonly name: string
  readonly dir: string
  private readonly storePath: string
  private readonly log: DriverLogger
  constructor(storePath: string, name: string, log: DriverLogger) {
    this.storePath = storePath
    this.name = name
    this.dir = networkDir(storePath, name)
    this.log = log
  }

  private get stateFile(): string {
    return join(this.dir, STATE_FILE)
  }
  private get switchFile(): string {
    return join(this.dir, SWITCH_FILE)
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return withNetworkLock(this.storePath, this.name, 30_000, fn)
  }

  async read(): Promise<NetworkState> {
    try {
      const s = JSON.parse(await readFile(this.stateFile, 'utf8')) as Partial<NetworkState>
      return { ...emptyState(), ...s, members: { ...s.members } }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState()
      throw new MachineError('network-corrupt', `${this.stateFile} cannot be read: ${(e as Error).message}`, {
        hint: `remove the machines on network "${this.name}", or the file if none is left`,
      })
    }
  }

  private async write(s: NetworkState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    await writeFileAtomic(this.stateFile, `${JSON.stringify(s, null, 2)}\n`)
  }

  /** Join (or find) `machine`: its address and MAC. Members whose machine directory is gone (a create rolled back before its journal had them) are dropped first. */
  join(machine: string, machineDir: string, prefer?: string): Promise<Member> {
    return this.locked(async () => {
      const s = await this.read()
      if (!existsSync(this.stateFile)) s.subnet = await this.newSubnet()
      for (const [n, m] of Object.entries(s.members)) if (n !== machine && !existsSync(m.machineDir)) delete s.members[n]
      const m = allocate(s, machine, machineDir, prefer)
      await this.write(s)
      return m
    })
  }

  /** The subnet of this network, made now: under the lock over all networks, so that two made at once differ. */
  private newSubnet(): Promise<string> {
    return withAllNetworksLock(this.storePath, 30_000, async () => {
      const subnet = chooseSubnet(this.name, await this.otherSubnets())
      // Written at once, so the next network made sees it taken.
      await this.write({ ...emptyState(subnet) })
      return subnet
    })
  }

  /** The subnets of the store's other networks (one whose state cannot be read takes none). */
  private async otherSubnets(): Promise<string[]> {
    const root = join(this.dir, '..')
    const names = await readdir(root).catch(() => [] as string[])
    const out: string[] = []
    for (const n of names) {
      if (n === this.name || !isValidNetworkName(n)) continue
      const subnet = await readFile(join(root, n, STATE_FILE), 'utf8')
        .then((t) => (JSON.parse(t) as Partial<NetworkState>).subnet)
        .catch(() => undefined)
      if (typeof subnet === 'string') out.push(subnet)
    }
    return out
  }

  /** The VM of `machine` is about to start with its cluster NIC on `port`: record it, and have the switch running. Returns the switch's port. */
  attach(machine: string, port: number): Promise<number> {
    return this.locked(async () => {
      const s = await this.read()
      const m = s.members[machine]
      if (!m) throw new MachineError('network-member-missing', `"${machine}" is not on network "${this.name}" (${this.stateFile})`)
      m.port = port
      m.pidFile = join(m.machineDir, FILES.pid)
      await this.write(s)
      return this.ensureSwitch(s, machine)
    })
  }

  /** `machine`'s VM runs: have the switch running (a crashed one is started again on its port). */
  ensure(machine: string): Promise<number> {
    return this.locked(async () => this.ensureSwitch(await this.read(), machine))
  }

  private async ensureSwitch(s: NetworkState, machine: string): Promise<number> {
    const running = await this.runningSwitch()
    if (running) {
      // The switch re-reads the members when a new port first sends; SIGHUP makes it now
      // (where there are signals: not on Windows).
      try {
        process.kill(running.pid, 'SIGHUP')
      } catch {
        // it re-reads on the first frame anyway
      }
      return running.port
    }
    const port = await this.startSwitch(s.switchPort ?? 0)
    if (s.switchPort && port !== s.switchPort) {
      const others = await this.liveMembers(s, machine)
      if (others.length) this.log.info(`The switch of network "${this.name}" moved to port ${port} (${s.switchPort} is taken): restart ${others.join(', ')} to reconnect`)
    }
    s.switchPort = port
    await this.write(s)
    return port
  }

  /** A VM of the network stopped: when none is running any more, stop the switch. */
  idle(): Promise<void> {
    return this.locked(async () => {
      if (!existsSync(this.stateFile)) return
      if ((await this.liveMembers(await this.read())).length === 0) await this.stopSwitch()
    })
  }

  /** `machine` is removed: forget it; with the last member, the switch and the directory go too. */
  leave(machine: string): Promise<void> {
    return this.locked(async () => {
      const s = await this.read()
      delete s.members[machine]
      if (Object.keys(s.members).length === 0) {
        await this.stopSwitch()
        await rm(this.dir, { recursive: true, force: true })
        return
      }
      await this.write(s)
      if ((await this.liveMembers(s)).length === 0) await this.stopSwitch()
    })
  }

  /** Members (other than `except`) whose QEMU is running. */
  private async liveMembers(s: NetworkState, except?: string): Promise<string[]> {
    const live: string[] = []
    for (const [n, m] of Object.entries(s.members)) {
      if (n === except) continue
      const pidFile = join(m.machineDir, FILES.pid)
      const pid = await readPid(pidFile)
      if (pid && (await processState(pid)) === 'alive' && (await isOurQemu(pid, pidFile))) live.push(n)
    }
    return live
  }

  /** The switch's pid and port while it runs (a dead one's file is removed). */
  async runningSwitch(): Promise<{ pid: number; port: number } | undefined> {
    let rec: { pid?: unknown; port?: unknown }
    try {
      rec = JSON.parse(await readFile(this.switchFile, 'utf8')) as typeof rec
    } catch {
      return undefined
    }
    const pid = Number(rec.pid)
    const port = Number(rec.port)
    if (Number.isInteger(pid) && pid > 0 && port > 0 && (await isOurSwitch(pid, this.dir))) return { pid, port }
    this.log.debug(`the switch of network "${this.name}" (pid ${String(rec.pid)}) is not running: starting it again`)
    await rm(this.switchFile, { force: true })
    return undefined
  }

  private async startSwitch(wanted: number): Promise<number> {
    await rm(this.switchFile, { force: true })
    const logFile = join(this.dir, 'switch.log')
    const log = await open(logFile, 'a', 0o600)
    let exited: number | null | undefined
    let child
    try {
      // Detached (its own session) and not waited for: it outlives this command, like the VMs.
      child = spawn(process.execPath, [switchScript(), this.dir, String(wanted)], { detached: true, stdio: ['ignore', 'ignore', log.fd] })
    } finally {
      await log.close()
    }
    child.once('exit', (code) => (exited = code))
    child.unref()
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      const r = await this.runningSwitch().catch(() => undefined)
      if (r && r.pid === child.pid) return r.port
      if (exited !== undefined) break
      await sleep(25)
    }
    if (exited === undefined && child.pid) killHard(child.pid)
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join('; ')
    throw new MachineError('switch-failed', `The switch of network "${this.name}" did not start${tail ? `: ${tail}` : ''}`, { hint: `see ${logFile}` })
  }

  private async stopSwitch(): Promise<void> {
    const r = await this.runningSwitch()
    if (r) {
      try {
        process.kill(r.pid, 'SIGTERM')
      } catch {
        // gone already
      }
      const deadline = Date.now() + 3000
      while (Date.now() < deadline && (await processState(r.pid)) === 'alive') await sleep(25)
      if ((await processState(r.pid)) === 'alive') killHard(r.pid)
    }
    await rm(this.switchFile, { force: true })
  }
}
