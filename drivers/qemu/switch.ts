/**
 * The Ethernet switch of a qemu network (`--qemu-network NAME`): one small detached Node process
 * per network, forwarding the frames of its VMs' second NICs between their UDP endpoints.
 *
 * Each VM's cluster NIC is a UDP tunnel (`-netdev socket,udp=…,localaddr=…`) with its local end
 * on 127.0.0.1:<its port> and its remote end on 127.0.0.1:<the switch's port>: QEMU sends each Ethernet frame as one UDP datagram
 * to the switch, which learns which endpoint each source MAC is behind and sends a frame for a
 * known MAC to that endpoint only, and a broadcast, multicast or unknown-destination frame to
 * every other endpoint (flooding). Everything is on the loopback interface: the socket is bound to
 * 127.0.0.1, and only datagrams from 127.0.0.1 and from a port the network lists as one of its
 * VMs are taken; nothing is ever sent anywhere else, so no frame can leave the host. No root is
 * needed. Why this design and what it costs is measured in docs/drivers/qemu.md.
 *
 * This file is also the switch process's entry point (`node switch.js NETWORK_DIR [PORT]`) and
 * so imports nothing but Node's own modules (it runs from the sources under tests too).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export const SWITCH_HOST = '127.0.0.1'
/** Files in the network's directory: its members (written by the driver) and the switch's pid and port. */
export const STATE_FILE = 'network.json'
export const SWITCH_FILE = 'switch.json'
/** A learned MAC is forgotten after this long without a frame from it (as bridges do, 300 s). */
export const MAC_AGEING_MS = 300_000
/** An unknown sender makes the switch re-read its members at most this often. */
const RELOAD_EVERY_MS = 200

export interface SwitchCounters {
  forwarded: number
  flooded: number
  /** Datagrams dropped: not from 127.0.0.1, not from a member's port, or too short for a frame. */
  refused: number
}

export interface SwitchOptions {
  /** Port to bind on 127.0.0.1 (0: any free one). */
  port: number
  /** The members' endpoint ports, asked again when a datagram comes from an unknown port. */
  members: () => Iterable<number>
  now?: () => number
}

export interface RunningSwitch {
  port: number
  counters: SwitchCounters
  /** Ask for the members again now (SIGHUP in the process). */
  reload(): void
  close(): Promise<void>
}

const macOf = (frame: Buffer, at: number): string => frame.subarray(at, at + 6).toString('hex')
const isGroup = (frame: Buffer, at: number): boolean => ((frame[at] ?? 0) & 1) === 1

/** Start a switch on 127.0.0.1 (see the file comment). */
export function startSwitch(o: SwitchOptions): Promise<RunningSwitch> {
  const now = o.now ?? Date.now
  const sock: Socket = createSocket({ type: 'udp4' })
  let allowed = new Set<number>()
  let loadedAt = -Infinity
  const macs = new Map<string, { port: number; seen: number }>()
  const counters: SwitchCounters = { forwarded: 0, flooded: 0, refused: 0 }

  const reload = (): void => {
    loadedAt = now()
    try {
      allowed = new Set(o.members())
    } catch {
      // A half-written or missing members file: keep the last good list.
    }
    for (const [mac, e] of macs) if (!allowed.has(e.port)) macs.delete(mac)
  }
  const send = (frame: Buffer, port: number): void => sock.send(frame, port, SWITCH_HOST)

  sock.on('message', (frame: Buffer, from: RemoteInfo) => {
    if (from.address !== SWITCH_HOST || frame.length < 14) return void counters.refused++
    if (!allowed.has(from.port) && now() - loadedAt >= RELOAD_EVERY_MS) reload()
    if (!allowed.has(from.port)) return void counters.refused++
    const t = now()
    if (!isGroup(frame, 6)) macs.set(macOf(frame, 6), { port: from.port, seen: t })
    const dst = isGroup(frame, 0) ? undefined : macs.get(macOf(frame, 0))
    if (dst && t - dst.seen < MAC_AGEING_MS && allowed.has(dst.port)) {
      // A frame for a MAC behind its own sender (a bridge in the guest) is not sent back.
      if (dst.port !== from.port) {
        counters.forwarded++
        send(frame, dst.port)
      }
      return
    }
    counters.flooded++
    for (const port of allowed) if (port !== from.port) send(frame, port)
  })
  // Sending to a VM that is stopped only fails later (ICMP unreachable): nothing to do about it.
  sock.on('error', () => undefined)

  return new Promise((resolve, reject) => {
    sock.once('error', reject)
    sock.bind({ address: SWITCH_HOST, port: o.port, exclusive: true }, () => {
      sock.off('error', reject)
      reload()
      resolve({
        port: sock.address().port,
        counters,
        reload,
        close: () => new Promise((r) => sock.close(() => r())),
      })
    })
  })
}

interface MemberRecord {
  port?: unknown
  /** Its VM's pid file (QEMU's -pidfile), to tell whether any VM of the network still runs. */
  pidFile?: unknown
}

const readMembers = (networkDir: string): MemberRecord[] =>
  Object.values((JSON.parse(readFileSync(join(networkDir, STATE_FILE), 'utf8')) as { members?: Record<string, MemberRecord> }).members ?? {})

/** The members' endpoint ports from a network's state file (see network.ts). */
export function memberPorts(networkDir: string): number[] {
  return readMembers(networkDir)
    .map((m) => Number(m.port))
    .filter((p) => Number.isInteger(p) && p > 0 && p < 65536)
}

/** Does any member's VM process run? (A reused pid counts as running: the switch errs on staying.) */
function anyVmRuns(networkDir: string): boolean {
  let members: MemberRecord[]
  try {
    members = readMembers(networkDir)
  } catch {
    return !!existsSync(join(networkDir, STATE_FILE)) // unreadable for a moment: keep going
  }
  return members.some((m) => {
    try {
      const pid = Number(readFileSync(String(m.pidFile), 'utf8').trim())
      if (!Number.isInteger(pid) || pid <= 0) return false
      process.kill(pid, 0)
      return true
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM'
    }
  })
}

/** The process: bind (the port asked for, else any), record pid and port, run until told to stop. */
async function main(networkDir: string, wanted: number): Promise<void> {
  const members = () => memberPorts(networkDir)
  // Handlers first: a SIGHUP (a VM joining) that came before them would end the process.
  let sw: RunningSwitch | undefined
  let stopping = false
  const file = join(networkDir, SWITCH_FILE)
  const stop = () => {
    if (stopping) return
    stopping = true
    void (sw ? sw.close() : Promise.resolve()).then(() => {
      // Our record only: a switch started after us (after a crash of ours) keeps its own.
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid === process.pid) rmSync(file, { force: true })
      } catch {
        // gone already
      }
      process.exit(0)
    })
  }
  process.on('SIGHUP', () => sw?.reload())
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  try {
    sw = await startSwitch({ port: wanted, members })
  } catch (e) {
    // The port the network had is taken: any other (the VMs started from now on use it).
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || wanted === 0) throw e
    process.stderr.write(`port ${wanted} on ${SWITCH_HOST} is taken: using another\n`)
    sw = await startSwitch({ port: 0, members })
  }
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ pid: process.pid, port: sw.port })}\n`, { mode: 0o600 })
  renameSync(`${file}.tmp`, file)
  // The driver stops the switch when the last VM stops through it; a VM that ends otherwise
  // (powered off from inside, killed) is noticed here: with no VM running on two checks in a row,
  // and with the network's directory gone (the store deleted by hand), the switch stops itself.
  const every = Number(process.env.MACHINE_QEMU_SWITCH_CHECK_MS) || 10_000
  let idle = 0
  setInterval(() => {
    if (!existsSync(join(networkDir, STATE_FILE))) return stop()
    idle = anyVmRuns(networkDir) ? 0 : idle + 1
    if (idle >= 2) stop()
  }, every)
}

const invoked = process.argv[1]
if (invoked && import.meta.url === pathToFileURL(invoked).href) {
  const [dir, port] = process.argv.slice(2)
  if (!dir) {
    process.stderr.write('usage: switch NETWORK_DIR [PORT]\n')
    process.exit(2)
  }
  main(dir, Number(port) || 0).catch((e: unknown) => {
    process.stderr.write(`switch: ${(e as Error).message}\n`)
    process.exit(1)
  })
}
