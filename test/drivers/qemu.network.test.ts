/**
 * Two REAL TCG VMs (the Debian test image, 1 vCPU and 384 MB each) on one qemu network
 * (`--qemu-network`): each gets its fixed address on its second NIC, A reaches B's sshd at B's
 * cluster address through the switch, B keeps its address across stop/start and is reached
 * again, and after both are removed no process, UDP port, socket or file of theirs is left.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createSocket } from 'node:dgram'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from 'ssh2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import qemuDefinition from '../../drivers/qemu/index.js'
import { FILES } from '../../drivers/qemu/driver.js'
import type { Driver, DriverContext, DriverDefinition } from '../../src/driver-kit/contract.js'
import { makeDriverContext } from '../../src/driver-kit/conformance.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { consoleTail, ensureTestImage, waitForSshBanner } from '../e2e/image/test-image.js'
import { liveProcessesNaming } from '../helpers/processes.js'

const qemu: DriverDefinition = qemuDefinition
const BOOT_MS = 480_000
const NETWORK = 'clustertest'

interface Vm {
  ctx: DriverContext
  driver: Driver
  journal: MemoryJournal
}

let store = ''
let flags: Record<string, unknown> = {}
const vms: Record<string, Vm> = {}
const t0 = Date.now()
const timings: string[] = []
const mark = (what: string) => timings.push(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`)

async function make(name: string): Promise<Vm> {
  const ctx = await makeDriverContext(qemu, { ...flags, 'qemu-network': NETWORK }, { PATH: process.env.PATH, MACHINE_POLL_INTERVAL_MS: '500' }, store, name)
  ctx.log = { info: () => {}, debug: () => {} }
  return { ctx, driver: (await qemu.load()).createDriver(ctx), journal: new MemoryJournal() }
}

/** Run a command in the guest over its forwarded SSH port, accepting only the host key we injected. */
function guestRun(vm: Vm, command: string): Promise<{ code: number; out: string }> {
  const c = vm.ctx.config
  const injected = Buffer.from(String((c.SSHHostKeys as string[])[0]).split(/\s+/)[1]!, 'base64')
  return new Promise((resolve, reject) => {
    const cl = new Client()
    cl.on('ready', () =>
      cl.exec(command, (err, stream) => {
        if (err) return reject(err)
        let out = ''
        stream.on('data', (d: Buffer) => (out += d.toString()))
        stream.stderr.on('data', (d: Buffer) => (out += d.toString()))
        stream.on('close', (code: number) => {
          cl.end()
          resolve({ code, out })
        })
      }),
    )
    cl.on('error', reject)
    cl.connect({
      host: '127.0.0.1',
      port: Number(c.SSHPort),
      username: String(c.SSHUser),
      privateKey: readFileSync(String(c.SSHKeyPath)),
      readyTimeout: 60_000,
      hostVerifier: (key: Buffer) => key.equals(injected),
    })
  })
}

async function waitUp(vm: Vm): Promise<void> {
  try {
    await waitForSshBanner(Number(vm.ctx.config.SSHPort), BOOT_MS)
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- console.log ---\n${await consoleTail(join(vm.ctx.machineDir, FILES.console))}`)
  }
}

/** From `from`, read the SSH banner of `to` at its cluster address (retried while the guest's bootcmd may still be setting the NIC up). */
async function reach(from: Vm, to: Vm): Promise<string> {
  const ip = String(to.ctx.config.ClusterIP)
  const cmd = `for i in $(seq 30); do b=$(timeout 5 bash -c 'exec 3<>/dev/tcp/${ip}/22; head -c 7 <&3' 2>/dev/null) && [ -n "$b" ] && { echo "$b"; exit 0; }; sleep 2; done; ip -4 addr; exit 1`
  const r = await guestRun(from, cmd)
  expect(r.out, r.out).toMatch(/^SSH-2\.0/)
  return r.out.trim()
}

beforeAll(async () => {
  const img = await ensureTestImage()
  flags = {
    'qemu-image': img.image,
    'qemu-kernel': img.kernel,
    'qemu-initrd': img.initrd,
    'qemu-append': img.append,
    'qemu-cpus': 1,
    'qemu-memory': 384,
    'qemu-disk-size': '4G',
    'qemu-accel': 'auto',
  }
  store = await mkdtemp(join(tmpdir(), 'qemu-network-'))
}, 1_600_000)

afterAll(async () => {
  // Whatever failed, leave no VM and no switch running.
  if (store) {
    for (const pid of liveProcessesNaming(store)) process.kill(pid, 'SIGKILL')
    await rm(store, { recursive: true, force: true })
  }
  console.log(`qemu network test: ${timings.join(', ')}`)
})

describe('qemu network between two VMs (real QEMU, TCG)', () => {
  it('gives each VM its address, and A reaches B on it through the switch', async () => {
    for (const name of ['a', 'b']) {
      const vm = (vms[name] = await make(name))
      await vm.driver.preCreateCheck()
      await vm.driver.create(vm.journal)
    }
    mark('both launched')
    const [a, b] = [vms.a!, vms.b!]
    expect([a.ctx.config.ClusterIP, b.ctx.config.ClusterIP]).toEqual(['192.168.100.2', '192.168.100.3'])
    expect(await b.driver.clusterAddress!()).toBe('192.168.100.3')
    expect(await b.driver.certSans!()).toContain('192.168.100.3')
    expect(a.journal.entries().map((e) => e.kind)).toContain('network')
    const net = join(store, 'networks', NETWORK)
    const sw = JSON.parse(readFileSync(join(net, 'switch.json'), 'utf8')) as { pid: number; port: number }
    expect(liveProcessesNaming(net)).toEqual([sw.pid])

    await Promise.all([waitUp(a), waitUp(b)])
    mark('both SSH up')
    const addr = await guestRun(a, 'ip -4 -o addr show')
    expect(addr.out).toMatch(/eth1\s+inet 192\.168\.100\.2\/24/)
    // The user-mode NIC is still the first, with slirp's address.
    expect(addr.out).toMatch(/eth0\s+inet 10\.0\.2\.15\//)
    await reach(a, b)
    mark('A reached B')

    // Measured, not asserted beyond delivery: latency (TCP connect + sshd banner, 10 times) and
    // one-way throughput (8 MiB into a python3 sink on B: cloud-init brings python3).
    const lat = await guestRun(a, `s=$(date +%s%N); for i in 1 2 3 4 5 6 7 8 9 10; do timeout 5 bash -c 'exec 3<>/dev/tcp/192.168.100.3/22; head -c 7 <&3' >/dev/null; done; echo $(( ($(date +%s%N) - s) / 10000000 ))`)
    const sink = "import socket; s = socket.create_server(('192.168.100.3', 5001)); c, _ = s.accept(); print(sum(iter(lambda: len(c.recv(65536)), 0)))"
    await guestRun(b, `nohup timeout 120 python3 -c "${sink}" >/tmp/sink.out 2>&1 </dev/null & sleep 2`)
    const put = await guestRun(a, `s=$(date +%s%N); dd if=/dev/zero bs=64k count=128 2>/dev/null >/dev/tcp/192.168.100.3/5001; echo $(( ($(date +%s%N) - s) / 1000000 ))`)
    let got = ''
    for (let i = 0; i < 20 && !got; i++) got = (await guestRun(b, 'cat /tmp/sink.out 2>/dev/null; sleep 1')).out.trim()
    expect(got).toBe(String(8 * 2 ** 20))
    const ms = Number(put.out.trim())
    timings.push(`A→B connect + banner ${lat.out.trim()} ms, 8 MiB in ${ms} ms (${((8 * 8 * 1.048576) / (ms / 1000)).toFixed(0)} Mbit/s)`)
  }, 1_200_000)

  it('B keeps its address across stop/start, and A reaches it again (the switch stays up while A runs)', async () => {
    const [a, b] = [vms.a!, vms.b!]
    const net = join(store, 'networks', NETWORK)
    const swBefore = readFileSync(join(net, 'switch.json'), 'utf8')
    await b.driver.stop()
    mark('B stopped')
    expect(readFileSync(join(net, 'switch.json'), 'utf8')).toBe(swBefore)
    await b.driver.start()
    expect(b.ctx.config.ClusterIP).toBe('192.168.100.3')
    await waitUp(b)
    mark('B up again')
    await reach(a, b)
    mark('A reached B again')
  }, 1_200_000)

  it('rm of both leaves no process, port, socket or file', async () => {
    const net = join(store, 'networks', NETWORK)
    const sw = JSON.parse(readFileSync(join(net, 'switch.json'), 'utf8')) as { pid: number; port: number }
    const ports = [sw.port, ...Object.values(JSON.parse(readFileSync(join(net, 'network.json'), 'utf8')).members as Record<string, { port: number }>).map((m) => m.port)]
    await vms.a!.driver.remove(vms.a!.journal)
    // B still runs: the switch and B's membership stay.
    expect(liveProcessesNaming(net)).toEqual([sw.pid])
    expect(Object.keys(JSON.parse(readFileSync(join(net, 'network.json'), 'utf8')).members)).toEqual(['b'])
    await vms.b!.driver.remove(vms.b!.journal)
    mark('both removed')

    expect(liveProcessesNaming(store)).toEqual([])
    expect(existsSync(net)).toBe(false)
    expect(readdirSync(join(store, 'networks'))).toEqual([])
    for (const name of ['a', 'b']) expect(readdirSync(join(store, 'machines', name)).sort()).toEqual(['id_rsa', 'id_rsa.pub'])
    // Every UDP port the network used is free again on 127.0.0.1.
    for (const port of ports) {
      const s = createSocket('udp4')
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.bind({ address: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve()))
      })
    }
  }, 300_000)
})
