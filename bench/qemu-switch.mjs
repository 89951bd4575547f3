#!/usr/bin/env node
// Benchmark: the qemu network's switch (drivers/qemu/switch.ts) forwarding full-size Ethernet
// frames (1514 bytes) between two UDP endpoints on 127.0.0.1, the way two VMs' `-netdev dgram`
// NICs use it: round-trip latency (A → switch → B → switch → A, one frame in flight) and
// one-way throughput (A sends as fast as the switch keeps up, in windows of 64 frames), each
// next to the same exchange over one direct UDP hop (no switch) measured in the same run.
// Usage: node bench/qemu-switch.mjs [--seconds 3]   (runs the switch from the built dist/ or the source)
import { createSocket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const root = resolve(import.meta.dirname, '..')
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } })
const MS = Number(values.seconds) * 1000
const built = join(root, 'dist/drivers/qemu/switch.js')
const { startSwitch } = await import(existsSync(built) ? built : join(root, 'drivers/qemu/switch.ts'))

const bind = () =>
  new Promise((r) => {
    const s = createSocket('udp4')
    s.bind({ address: '127.0.0.1', port: 0 }, () => r(s))
  })
const frame = (dst, src) => Buffer.concat([Buffer.from([0x52, 0x54, 0, 0xa8, 0x63, dst]), Buffer.from([0x52, 0x54, 0, 0xa8, 0x63, src]), Buffer.from([8, 0]), Buffer.alloc(1500)])

async function measure(label, aSend, bSend) {
  const [a, b] = [await bind(), await bind()]
  const { aTo, bTo, close } = await aSend(a, b)
  // Echo on B: every frame A sends comes back.
  b.on('message', (m) => b.send(frame(2, 3), bTo(), '127.0.0.1'))
  // Prime the switch's MAC table (B's MAC learned from its first frame).
  await new Promise((r) => {
    a.once('message', r)
    a.send(frame(3, 2), aTo(), '127.0.0.1')
  })
  // Latency: ping-pong.
  let n = 0
  const t0 = process.hrtime.bigint()
  const end = Date.now() + MS
  await new Promise((r) => {
    const next = () => (Date.now() < end ? a.send(frame(3, 2), aTo(), '127.0.0.1') : r())
    a.on('message', () => {
      n++
      next()
    })
    next()
  })
  const rttUs = Number(process.hrtime.bigint() - t0) / 1000 / n
  a.removeAllListeners('message')
  b.removeAllListeners('message')
  // Throughput: windows of 64 frames A → B, B counts.
  let got = 0
  b.on('message', () => got++)
  const t1 = Date.now()
  let sent = 0
  while (Date.now() - t1 < MS) {
    const target = got + 64
    for (let i = 0; i < 64; i++, sent++) a.send(frame(3, 2), aTo(), '127.0.0.1')
    const deadline = Date.now() + 200
    while (got < target - 4 && Date.now() < deadline) await new Promise((r) => setImmediate(r))
  }
  await new Promise((r) => setTimeout(r, 100))
  const secs = (Date.now() - t1) / 1000
  const fps = got / secs
  console.log(`${label}: round trip ${rttUs.toFixed(0)} µs; ${Math.round(fps)} frames/s one way (${((fps * 1514 * 8) / 1e6).toFixed(0)} Mbit/s), ${(((sent - got) / sent) * 100).toFixed(1)} % lost`)
  await close()
  a.close()
  b.close()
  return { rttUs, fps }
}

const direct = await measure('direct UDP (no switch)', async (a, b) => ({ aTo: () => b.address().port, bTo: () => a.address().port, close: async () => {} }))
const viaSwitch = await measure('through the switch', async (a, b) => {
  const sw = await startSwitch({ port: 0, members: () => [a.address().port, b.address().port] })
  return { aTo: () => sw.port, bTo: () => sw.port, close: () => sw.close() }
})
console.log(`ratio: round trip ×${(viaSwitch.rttUs / direct.rttUs).toFixed(2)}, throughput ×${(viaSwitch.fps / direct.fps).toFixed(2)}`)
process.exit(0)
