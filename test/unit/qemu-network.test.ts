/**
 * The qemu network (drivers/qemu/network.ts): addresses and MACs handed out and kept, the guest's
 * NIC command, the cluster NIC on QEMU's command line, and the switch process's life (started on
 * attach, restarted after a crash on the same port, stopped when idle, gone with the last member)
 * with UDP sockets on 127.0.0.1 standing in for the VMs.
 */
import { execFileSync, spawn } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { qemuArgs, type LaunchSpec } from '../../drivers/qemu/cmdline.js'
import { allocate, chooseSubnet, CLUSTER_NIC_SCRIPT, CLUSTER_NIC_UNIT, clusterNicCommand, clusterNicSetup, emptyState, macFor, QemuNetwork } from '../../drivers/qemu/network.js'
import { options } from '../../drivers/qemu/options.js'
import { resolveOptions, withClusterDefaults } from '../../src/driver-kit/options.js'
import { liveProcessesNaming } from '../helpers/processes.js'
import { tempDir } from '../helpers/tmp.js'

const quiet = { info: () => {}, debug: () => {} }

describe('qemu network addresses', () => {
  it('hands out the lowest free address of 192.168.99.0/24 from .2, keeps a member its own, and reuses a freed one', () => {
    const s = emptyState()
    expect(s.subnet).toBe('192.168.99.0/24')
    expect(allocate(s, 'a', '/m/a')).toEqual({ ip: '192.168.99.2', mac: '52:54:00:a8:63:02', machineDir: '/m/a' })
    expect(allocate(s, 'b', '/m/b').ip).toBe('192.168.99.3')
    expect(allocate(s, 'a', '/m/a').ip).toBe('192.168.99.2')
    delete s.members.a
    expect(allocate(s, 'c', '/m/c').ip).toBe('192.168.99.2')
    expect(allocate(s, 'd', '/m/d').ip).toBe('192.168.99.4')
  })

  it('gives a machine whose record was lost its old address back when it is free', () => {
    const s = emptyState()
    allocate(s, 'a', '/m/a')
    expect(allocate(s, 'b', '/m/b', '192.168.99.40').ip).toBe('192.168.99.40')
    expect(allocate(s, 'c', '/m/c', '192.168.99.2').ip).toBe('192.168.99.3')
    expect(allocate(s, 'd', '/m/d', '10.0.0.5').ip).toBe('192.168.99.4')
  })

  it('a network\'s subnet: "default" 192.168.99.0/24, others the lowest free from 192.168.100.0/24; one line when none is left', () => {
    expect(chooseSubnet('default', ['192.168.99.0/24'])).toBe('192.168.99.0/24')
    expect(chooseSubnet('lab', [])).toBe('192.168.100.0/24')
    expect(chooseSubnet('lab', ['192.168.99.0/24', '192.168.100.0/24', '192.168.102.0/24'])).toBe('192.168.101.0/24')
    const all = Array.from({ length: 155 }, (_, i) => `192.168.${100 + i}.0/24`)
    expect(() => chooseSubnet('lab', all)).toThrow(/^Every subnet from 192\.168\.100\.0\/24 to 192\.168\.254\.0\/24 is taken by a qemu network of this store$/)
    // Members' addresses follow the network's subnet.
    expect(allocate(emptyState('192.168.101.0/24'), 'a', '/m/a')).toEqual({ ip: '192.168.101.2', mac: '52:54:00:a8:65:02', machineDir: '/m/a' })
    expect(() => allocate(emptyState('10.0.0.0/8'), 'a', '/m/a')).toThrow(/^The network's subnet "10\.0\.0\.0\/8" is not a 192\.168\.N\.0\/24$/)
  })

  it('gives each address its own MAC in QEMU\'s range', () => {
    expect(macFor('192.168.99.254')).toBe('52:54:00:a8:63:fe')
    expect(new Set(Array.from({ length: 253 }, (_, i) => macFor(`192.168.99.${i + 2}`))).size).toBe(253)
  })

  it('says so in one line when the network is full', () => {
    const s = emptyState()
    for (let i = 0; i < 253; i++) allocate(s, `m${i}`, `/m/${i}`)
    expect(() => allocate(s, 'one-more', '/m/x')).toThrow(/^The network 192\.168\.99\.0\/24 has no free address left \(253 machines\)$/)
  })

  it('configures the guest NIC by its MAC with iproute2 (valid sh, idempotent: replace)', () => {
    const cmd = clusterNicCommand('52:54:00:a8:63:02', '192.168.99.2', 24)
    expect(cmd).toContain('"52:54:00:a8:63:02"')
    expect(cmd).toContain('ip link set dev "${d##*/}" up && ip addr replace 192.168.99.2/24 dev "${d##*/}"')
    execFileSync('sh', ['-n', '-c', cmd])
  })

  it('a guest put on a network later: a unit runs the NIC script at every boot, and now; run twice, the same', async () => {
    const setup = clusterNicSetup('lab', '52:54:00:a8:64:05', '192.168.100.5')
    execFileSync('sh', ['-n', '-c', setup])
    // The guest's root paths moved under a temp directory, with stand-ins for systemctl and ip
    // that log their arguments, and a /sys/class/net with the cluster NIC (ens4) beside eth0.
    const root = await tempDir('machine-guest-')
    for (const d of ['usr/local/sbin', 'etc/systemd/system', 'bin', 'sys/class/net/eth0', 'sys/class/net/ens4']) mkdirSync(join(root, d), { recursive: true })
    writeFileSync(join(root, 'sys/class/net/eth0/address'), '52:54:00:12:34:56\n')
    writeFileSync(join(root, 'sys/class/net/ens4/address'), '52:54:00:a8:64:05\n')
    for (const bin of ['systemctl', 'ip']) writeFileSync(join(root, 'bin', bin), `#!/bin/sh\necho "${bin} $*" >> ${root}/calls\n`, { mode: 0o755 })
    const moved = (text: string) => text.replaceAll('/usr/local/sbin/', `${root}/usr/local/sbin/`).replaceAll('/etc/systemd/system/', `${root}/etc/systemd/system/`).replaceAll('/sys/class/net', `${root}/sys/class/net`)
    const env = { PATH: `${join(root, 'bin')}:${process.env.PATH}` }
    const calls = () => readFileSync(join(root, 'calls'), 'utf8')
    for (let i = 0; i < 2; i++) execFileSync('sh', ['-c', moved(setup)], { env })
    expect(calls()).toBe(`systemctl daemon-reload\nsystemctl enable ${CLUSTER_NIC_UNIT}\nsystemctl restart ${CLUSTER_NIC_UNIT}\n`.repeat(2))
    const unit = readFileSync(join(root, 'etc/systemd/system', CLUSTER_NIC_UNIT), 'utf8')
    expect(unit).toContain(`ExecStart=${moved(CLUSTER_NIC_SCRIPT)}\n`)
    expect(unit).toContain('Before=docker.service\n')
    expect(unit).toContain('WantedBy=multi-user.target\n')
    const script = join(root, CLUSTER_NIC_SCRIPT)
    expect(statSync(script).mode & 0o777).toBe(0o755)
    // What the unit runs at boot (its paths moved with the rest): the NIC found by its MAC and
    // given its address, at once as it is there.
    writeFileSync(join(root, 'calls'), '')
    const started = Date.now()
    execFileSync(script, [], { env })
    expect(calls()).toBe('ip link set dev ens4 up\nip addr replace 192.168.100.5/24 dev ens4\n')
    expect(Date.now() - started).toBeLessThan(900)
  })

  it('puts the cluster NIC second on QEMU\'s command line, as a UDP tunnel with both ends on 127.0.0.1', () => {
    const spec: LaunchSpec = {
      name: 'a', arch: 'x86_64', accel: 'tcg', cpus: 1, memoryMb: 256, disk: '/d.qcow2', sshPort: 2222, engineHostPort: 2376, engineGuestPort: 2376,
      forwards: [], consoleLog: '/c.log', pidFile: '/q.pid', qmp: { path: '/q.sock' }, daemonize: true,
      cluster: { localPort: 40001, switchPort: 40000, mac: '52:54:00:a8:63:02' },
    }
    const a = qemuArgs(spec)
    const netdevs = a.flatMap((x, i) => (x === '-netdev' ? [a[i + 1]!] : []))
    expect(netdevs[0]).toMatch(/^user,id=net0,/)
    expect(netdevs[1]).toBe('socket,id=net1,udp=127.0.0.1:40000,localaddr=127.0.0.1:40001')
    const devices = a.flatMap((x, i) => (x === '-device' ? [a[i + 1]!] : [])).filter((d) => d.startsWith('virtio-net'))
    expect(devices).toEqual(['virtio-net-pci,netdev=net0', 'virtio-net-pci,netdev=net1,mac=52:54:00:a8:63:02'])
    expect(qemuArgs({ ...spec, cluster: undefined }).join(' ')).not.toContain('net1')
  })

  it('--qemu-network: none by default, a name by the store\'s rule otherwise', () => {
    expect(resolveOptions('qemu', options, {}, {}).values.network).toBeUndefined()
    expect(resolveOptions('qemu', options, { 'qemu-network': 'default' }, {}).values.network).toBe('default')
    expect(() => resolveOptions('qemu', options, { 'qemu-network': '../certs' }, {})).toThrow(/--qemu-network.*must be a name of letters, digits/)
  })

  it('--qemu-network: "default" for a machine that joins a cluster, unless the flag or QEMU_NETWORK says otherwise', () => {
    expect(withClusterDefaults('qemu', options, { 'qemu-cpus': 1 }, {})).toEqual({ 'qemu-cpus': 1, 'qemu-network': 'default' })
    expect(withClusterDefaults('qemu', options, { 'qemu-network': 'lab' }, {})).toEqual({ 'qemu-network': 'lab' })
    expect(withClusterDefaults('qemu', options, {}, { QEMU_NETWORK: 'lab' })).toEqual({})
    expect(resolveOptions('qemu', options, withClusterDefaults('qemu', options, {}, {}), {}).values.network).toBe('default')
  })
})

describe('qemu network switch process', () => {
  const sockets: Socket[] = []
  afterEach(async () => {
    for (const s of sockets.splice(0)) await new Promise<void>((r) => s.close(() => r()))
  })
  const endpoint = async (): Promise<{ sock: Socket; port: number; got: string[] }> => {
    const sock = createSocket('udp4')
    sockets.push(sock)
    const got: string[] = []
    sock.on('message', (m) => got.push(m.subarray(14).toString()))
    await new Promise<void>((r) => sock.bind({ address: '127.0.0.1', port: 0 }, () => r()))
    return { sock, port: sock.address().port, got }
  }
  const frame = (text: string) => Buffer.concat([Buffer.alloc(6, 0xff), Buffer.from([0x52, 0x54, 0, 0xa8, 0x63, 2, 8, 0]), Buffer.from(text)])
  // Generous: on a loaded 2-core CI machine a new switch process can take seconds to answer.
  const until = async (what: () => boolean, ms = 10_000, everyMs = 20) => {
    const end = Date.now() + ms
    while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, everyMs))
    return what()
  }

  it('starts with the first attach, forwards between members, comes back on its port after a crash, stops when idle, and goes with the last member', async () => {
    const store = await tempDir()
    for (const m of ['a', 'b']) mkdirSync(join(store, 'machines', m), { recursive: true })
    const net = new QemuNetwork(store, 'default', quiet)
    expect(net.dir).toBe(join(store, 'networks', 'default'))
    const ma = await net.join('a', join(store, 'machines', 'a'))
    const mb = await net.join('b', join(store, 'machines', 'b'))
    expect([ma.ip, mb.ip]).toEqual(['192.168.99.2', '192.168.99.3'])
    expect(await net.runningSwitch()).toBeUndefined() // joining starts nothing

    const [a, b] = [await endpoint(), await endpoint()]
    const port = await net.attach('a', a.port)
    expect(await net.attach('b', b.port)).toBe(port)
    const sw = (await net.runningSwitch())!
    expect(liveProcessesNaming(net.dir)).toEqual([sw.pid])
    // attach('b') tells the running switch about b with a SIGHUP, which the switch handles
    // asynchronously: on a loaded machine a frame sent at once can reach it first and be flooded
    // to the members it knew then (a alone: to no one), as a frame on a real network may be lost.
    // A guest's ARP retries; so does this, until b has the frame (bounded).
    const sendUntilB = () => {
      a.sock.send(frame('hello b'), port, '127.0.0.1')
      return b.got.includes('hello b')
    }
    expect(await until(sendUntilB, 10_000, 200)).toBe(true)
    expect(b.got.every((m) => m === 'hello b')).toBe(true)
    expect(a.got).toEqual([]) // a flood never goes back to its sender

    // A crash: the next attach finds it dead and starts it again on the same port.
    process.kill(sw.pid, 'SIGKILL')
    expect(await until(() => liveProcessesNaming(net.dir).length === 0)).toBe(true)
    expect(await net.runningSwitch()).toBeUndefined()
    expect(await net.attach('a', a.port)).toBe(port)
    a.sock.send(frame('again'), port, '127.0.0.1')
    expect(await until(() => b.got.includes('again'))).toBe(true)

    // No member's VM runs (no QEMU here): idle stops the switch; the members stay.
    await net.idle()
    expect(liveProcessesNaming(net.dir)).toEqual([])
    expect(existsSync(join(net.dir, 'switch.json'))).toBe(false)
    expect(JSON.parse(readFileSync(join(net.dir, 'network.json'), 'utf8')).members.b.ip).toBe('192.168.99.3')
    expect((await net.join('b', join(store, 'machines', 'b'))).ip).toBe('192.168.99.3')

    await net.attach('a', a.port)
    await net.leave('a')
    await net.leave('b')
    expect(liveProcessesNaming(net.dir)).toEqual([])
    expect(existsSync(net.dir)).toBe(false)
  }, 30_000)

  it('stops by itself once no member\'s VM runs (a guest powered off from inside), keeping the members', async () => {
    const store = await tempDir()
    const dir = join(store, 'machines', 'a')
    mkdirSync(dir, { recursive: true })
    // A live "VM": this test process's pid in the member's pid file.
    writeFileSync(join(dir, 'qemu.pid'), `${process.pid}\n`)
    const net = new QemuNetwork(store, 'selfstop', quiet)
    await net.join('a', dir)
    const a = await endpoint()
    process.env.MACHINE_QEMU_SWITCH_CHECK_MS = '100'
    try {
      await net.attach('a', a.port)
    } finally {
      delete process.env.MACHINE_QEMU_SWITCH_CHECK_MS
    }
    const { pid } = (await net.runningSwitch())!
    await new Promise((r) => setTimeout(r, 500))
    expect(liveProcessesNaming(net.dir)).toEqual([pid])
    rmSync(join(dir, 'qemu.pid'))
    expect(await until(() => liveProcessesNaming(net.dir).length === 0)).toBe(true)
    expect(existsSync(join(net.dir, 'switch.json'))).toBe(false)
    expect(Object.keys((await net.read()).members)).toEqual(['a'])
    await net.leave('a')
    expect(existsSync(net.dir)).toBe(false)
  })

  it('drops a member whose machine directory is gone (a create rolled back) when another joins', async () => {
    const store = await tempDir()
    const net = new QemuNetwork(store, 'n1', quiet)
    await net.join('ghost', join(store, 'machines', 'ghost'))
    mkdirSync(join(store, 'machines', 'real'), { recursive: true })
    // n1 is not "default": its own subnet, the first from 192.168.100.0/24.
    expect((await net.join('real', join(store, 'machines', 'real'))).ip).toBe('192.168.100.2')
    expect(Object.keys((await net.read()).members)).toEqual(['real'])
    await net.leave('real')
    expect(existsSync(net.dir)).toBe(false)
  })

  it('refuses a network name outside the store\'s rule', async () => {
    const store = await tempDir()
    expect(() => new QemuNetwork(store, '../x', quiet)).toThrow(/"\.\.\/x" is not a valid network name/)
  })
})

describe("a process's own command line (pid reuse): Linux and the macOS form", () => {
  // The macOS branch asks `ps -p PID -o command=`, which Linux's procps answers the same way.
  for (const platform of ['linux', 'darwin'] as const) {
    it(`${platform}: a whole argument matches, a prefix or a stranger's pid does not`, async () => {
      const { commandLineHas } = await import('../../drivers/qemu/client.js')
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', '/x/networks/default2', '7'], { stdio: 'ignore' })
      try {
        await new Promise((r) => setTimeout(r, 200))
        expect(await commandLineHas(child.pid!, '/x/networks/default2', platform)).toBe(true)
        expect(await commandLineHas(child.pid!, '/x/networks/default', platform)).toBe(false)
        expect(await commandLineHas(process.pid, '/x/networks/default2', platform)).toBe(false)
      } finally {
        child.kill('SIGKILL')
      }
    })
  }
  it('Windows: cannot tell (the pid file is trusted)', async () => {
    const { commandLineHas } = await import('../../drivers/qemu/client.js')
    expect(await commandLineHas(process.pid, 'x', 'win32')).toBeUndefined()
  })
})
