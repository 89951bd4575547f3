/**
 * The qemu network's switch (drivers/qemu/switch.ts) with real UDP sockets on 127.0.0.1 standing
 * in for the VMs' UDP tunnel ends: frames forwarded, MACs learned, broadcasts flooded, and
 * datagrams from anything but a member's loopback endpoint refused.
 */
import { spawn } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { STATE_FILE, SWITCH_FILE, startSwitch, type RunningSwitch } from '../../drivers/qemu/switch.js'
import { ensureBuilt, ROOT } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

interface Vm {
  sock: Socket
  port: number
  got: Buffer[]
}

const opened: Array<{ close(): unknown }> = []
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close()
})

async function vm(address = '127.0.0.1'): Promise<Vm> {
  const sock = createSocket('udp4')
  const got: Buffer[] = []
  sock.on('message', (m) => got.push(m))
  await new Promise<void>((r) => sock.bind({ address, port: 0 }, () => r()))
  opened.push({ close: () => new Promise<void>((r) => sock.close(() => r())) })
  return { sock, port: sock.address().port, got }
}

async function sw(members: () => number[]): Promise<RunningSwitch> {
  const s = await startSwitch({ port: 0, members })
  opened.push(s)
  return s
}

const mac = (n: number): Buffer => Buffer.from([0x52, 0x54, 0x00, 0xa8, 0x63, n])
const BROADCAST = Buffer.alloc(6, 0xff)
/** An Ethernet frame: destination, source, an IPv4 ethertype and a payload naming it. */
const frame = (dst: Buffer, src: Buffer, text: string): Buffer => Buffer.concat([dst, src, Buffer.from([0x08, 0x00]), Buffer.from(text)])
const send = (from: Vm, to: number, f: Buffer): Promise<void> =>
  new Promise((r, j) => from.sock.send(f, to, '127.0.0.1', (e) => (e ? j(e) : r())))
const payloads = (v: Vm): string[] => v.got.map((b) => b.subarray(14).toString())
/** Loopback delivery is immediate, but asynchronous: give the event loop a few turns. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50))

describe('qemu network switch', () => {
  it('binds its port on 127.0.0.1', async () => {
    const s = await sw(() => [])
    expect(s.port).toBeGreaterThan(0)
    const other = createSocket('udp4')
    opened.push({ close: () => new Promise<void>((r) => other.close(() => r())) })
    // The port is taken on 127.0.0.1.
    const bind = new Promise((resolve, reject) => {
      other.once('error', reject)
      other.bind({ address: '127.0.0.1', port: s.port, exclusive: true }, () => resolve(undefined))
    })
    await expect(bind).rejects.toThrow(/EADDRINUSE/)
  })

  it('floods a broadcast to every other member, learns the sender, and then sends unicast to one member only', async () => {
    const [a, b, c] = [await vm(), await vm(), await vm()]
    const s = await sw(() => [a.port, b.port, c.port])

    await send(a, s.port, frame(BROADCAST, mac(2), 'who-has b'))
    await settle()
    expect(payloads(b)).toEqual(['who-has b'])
    expect(payloads(c)).toEqual(['who-has b'])
    expect(payloads(a)).toEqual([]) // never back to the sender

    // b answers a: a's MAC was learned from the broadcast, so only a gets it.
    await send(b, s.port, frame(mac(2), mac(3), 'b is-at'))
    await settle()
    expect(payloads(a)).toEqual(['b is-at'])
    expect(payloads(c)).toEqual(['who-has b'])

    // Both learned now: a → b reaches b only, byte for byte.
    const f = frame(mac(3), mac(2), 'ping')
    await send(a, s.port, f)
    await settle()
    expect(b.got.at(-1)).toEqual(f)
    expect(payloads(c)).toEqual(['who-has b'])
    expect(s.counters).toMatchObject({ flooded: 1, forwarded: 2, refused: 0 })
  })

  it('floods a frame for a MAC it has not learned, and multicast', async () => {
    const [a, b, c] = [await vm(), await vm(), await vm()]
    const s = await sw(() => [a.port, b.port, c.port])
    await send(a, s.port, frame(mac(9), mac(2), 'to nobody known'))
    await send(a, s.port, frame(Buffer.from([0x33, 0x33, 0, 0, 0, 1]), mac(2), 'ipv6 all-nodes'))
    await settle()
    for (const v of [b, c]) expect(payloads(v)).toEqual(['to nobody known', 'ipv6 all-nodes'])
    expect(s.counters.flooded).toBe(2)
  })

  it('refuses datagrams from a port that is not a member, short datagrams, and forgets a member that left', async () => {
    const [a, b, stranger] = [await vm(), await vm(), await vm()]
    let members = [a.port, b.port]
    const s = await sw(() => members)

    await send(stranger, s.port, frame(BROADCAST, mac(7), 'let me in'))
    await send(a, s.port, Buffer.from('short'))
    await settle()
    expect(payloads(a)).toEqual([])
    expect(payloads(b)).toEqual([])
    expect(s.counters.refused).toBe(2)

    // Registered later: the switch asks for the members again when an unknown port sends
    // (at most every 200 ms), or at once on reload (SIGHUP in the process).
    members = [a.port, b.port, stranger.port]
    s.reload()
    await send(stranger, s.port, frame(BROADCAST, mac(7), 'member now'))
    await settle()
    expect(payloads(a)).toEqual(['member now'])
    expect(payloads(b)).toEqual(['member now'])

    // b leaves: nothing is sent to it any more, learned or flooded, and it is refused.
    await send(b, s.port, frame(BROADCAST, mac(3), 'b here'))
    await settle()
    members = [a.port, stranger.port]
    s.reload()
    await send(a, s.port, frame(mac(3), mac(2), 'to b'))
    await send(b, s.port, frame(BROADCAST, mac(3), 'b again'))
    await settle()
    expect(payloads(b)).toEqual(['member now'])
    expect(payloads(stranger)).toEqual(['b here', 'to b'])
    expect(payloads(a)).toEqual(['member now', 'b here'])
  })

  it('never sends to a member endpoint that is not on 127.0.0.1 (ports are loopback ports by construction)', async () => {
    // A datagram from another local address (127.0.0.2 reaches the same loopback device) with a
    // member's port number is not that member: refused.
    const a = await vm()
    const s = await sw(() => [a.port])
    const elsewhere = await vm('127.0.0.2').catch(() => undefined)
    if (!elsewhere) return // no 127.0.0.2 on this host (macOS): nothing to check
    await send(elsewhere, s.port, frame(BROADCAST, mac(5), 'from 127.0.0.2'))
    await settle()
    expect(s.counters.refused).toBe(1)
  })
})

describe('the switch as the driver starts it: its own process, from the built bundle', () => {
  it('dist/bundle/drivers/qemu/switch.js runs, records its pid and port, and removes the record on SIGTERM', async () => {
    ensureBuilt()
    const dir = await tempDir('machine-switch-')
    const [a, b] = [await vm(), await vm()]
    writeFileSync(join(dir, STATE_FILE), `${JSON.stringify({ subnet: '192.168.99.0/24', members: { a: { port: a.port }, b: { port: b.port } } })}\n`)
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'bundle', 'drivers', 'qemu', 'switch.js'), dir, '0'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    const file = join(dir, SWITCH_FILE)
    for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50))
    expect(stderr).toBe('')
    const rec = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; port: number }
    expect(rec.pid).toBe(child.pid)
    expect(rec.port).toBeGreaterThan(0)
    // It switches: a broadcast from one member reaches the other.
    await new Promise<void>((r) => a.sock.send(frame(BROADCAST, mac(1), 'hello b'), rec.port, '127.0.0.1', () => r()))
    for (let i = 0; i < 100 && b.got.length === 0; i++) await new Promise((r) => setTimeout(r, 20))
    expect(b.got.map((f) => f.subarray(14).toString())).toEqual(['hello b'])
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(existsSync(file)).toBe(false)
  })
})
