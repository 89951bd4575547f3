/**
 * A qemu machine made without --qemu-network joins (or starts) a swarm: it is put on the network
 * of the swarm's machines (services/swarm-network.ts with the real qemu driver's plan, its
 * network.json and config.json in a temp store). Only what needs a VM is stood in for: the
 * VM's state, stop and start, and the host's side (the root script over SSH, re-provisioning),
 * which record what they were asked.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import qemuDefinition from '../../drivers/qemu/index.js'
import { QemuNetwork } from '../../drivers/qemu/network.js'
import { defaultEngineOptions, defaultSwarmOptions, authOptionsFor, type HostConfig } from '../../src/core/host-config.js'
import type { MachineState } from '../../src/core/state.js'
import { makeDriverContext } from '../../src/driver-kit/conformance.js'
import type { DriverDefinition } from '../../src/driver-kit/contract.js'
import type { OpenMachine } from '../../src/services/machine.js'
import type { Reporter } from '../../src/services/reporter.js'
import { ensureOnClusterNetwork, peerOf, type HostSide } from '../../src/services/swarm-network.js'
import { Store } from '../../src/store/store.js'
import { snapshot } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const qemu: DriverDefinition = qemuDefinition
const quiet = { info: () => {}, debug: () => {} }

const reporter = (lines: string[]): Reporter => ({
  info: (l) => lines.push(l),
  note: (l) => lines.push(l),
  warn: (l) => lines.push(l),
  debug: () => {},
  step: (title, _o, fn) => (lines.push(title), fn(new AbortController().signal, () => {})),
  record: () => ({ lines: [], stop: () => {} }),
  scoped: (name) => prefixed(lines, name),
})
/** One machine's lines among several, named as the terminal names them. */
const prefixed = (lines: string[], name: string): Reporter => {
  const push = (l: string) => lines.push(`${name}: ${l}`)
  return { ...reporter(lines), info: push, note: push, warn: push, step: (title, _o, fn) => (push(title), fn(new AbortController().signal, () => {})) }
}

// Hint lines name the program as the user called it.
process.env.MACHINE_PROGRAM_NAME = 'machine'

let store: Store
let calls: string[]
let lines: string[]

/** A saved qemu machine (flags as create got them) whose VM is stood in for: `state` it starts in. */
async function qemuMachine(name: string, flags: Record<string, unknown>, state: MachineState): Promise<OpenMachine> {
  await store.reserve(name)
  const ctx = await makeDriverContext(qemu, flags, { MACHINE_POLL_INTERVAL_MS: '5' }, store.path, name)
  ctx.log = quiet
  const host: HostConfig = {
    ConfigVersion: 3,
    Driver: ctx.config,
    DriverName: 'qemu',
    HostOptions: { Driver: '', Memory: 0, Disk: 0, EngineOptions: defaultEngineOptions(), SwarmOptions: defaultSwarmOptions(), AuthOptions: authOptionsFor(store.path, store.dir(name)) },
    Name: name,
  } as HostConfig
  await store.save(host)
  const driver = (await qemu.load()).createDriver(ctx)
  let st = state
  Object.assign(driver, {
    state: async () => st,
    stop: async () => {
      calls.push(`stop ${name}`)
      st = 'Stopped'
    },
    start: async () => {
      calls.push(`start ${name} on network ${String(ctx.config.Network ?? 'none')}`)
      st = 'Running'
    },
  })
  return { host, def: qemu, ctx, driver }
}

/** The host's side, recorded: the script's lines that name the address, and each provision. */
const hostSide = (fail?: string): HostSide => ({
  runAsRoot: async (m, script) => {
    calls.push(`as root on ${m.host.Name}: ${script.split('\n').find((l) => l.includes('ip addr replace'))?.replace(/.*ip addr replace (\S+) .*/, 'ip addr replace $1')}`)
    if (fail) throw new Error(fail)
  },
  provision: async (s, m) => {
    calls.push(`provision ${m.host.Name} (clusterAddress ${await m.driver.clusterAddress?.()})`)
    await s.save(m.host)
  },
})

const savedDriver = async (name: string) => JSON.parse(await readFile(store.configPath(name), 'utf8')).Driver as Record<string, unknown>

describe('a qemu machine made without a network joins a swarm: it is put on the swarm’s network', () => {
  let s1: OpenMachine
  beforeEach(async () => {
    store = new Store(await tempDir('machine-store-'))
    calls = []
    lines = []
    // The swarm's master, made on "default" (where create --swarm-master puts it): 192.168.99.2.
    s1 = await qemuMachine('s1', { 'qemu-network': 'default' }, 'Running')
    await new QemuNetwork(store.path, 'default', quiet).join('s1', s1.ctx.machineDir)
    s1.ctx.config.ClusterIP = '192.168.99.2'
  })

  it('running, without --restart: one line naming the fix, and nothing changed', async () => {
    const s4 = await qemuMachine('s4', {}, 'Running')
    const before = await snapshot(store.path)
    const err = await ensureOnClusterNetwork(store, s4, peerOf(s1.host), { command: 'machine swarm join s4 --cluster s1', restart: false, reporter: reporter(lines), host: hostSide() }).catch((e: unknown) => e)
    expect(err).toMatchObject({
      code: 'restart-needed',
      message: `"s4" is not on qemu network "default" (192.168.99.0/24), which the swarm's machines share; putting it there restarts it`,
      hint: 'run "machine swarm join s4 --cluster s1 --restart", or stop it first ("machine stop s4")',
    })
    expect(calls).toEqual([])
    expect(await snapshot(store.path)).toEqual(before)
  })

  it('running, with --restart: stopped, put on the network, started with its NIC, told its address, re-provisioned', async () => {
    const s4 = await qemuMachine('s4', {}, 'Running')
    await ensureOnClusterNetwork(store, s4, peerOf(s1.host), { command: 'machine swarm join s4 --cluster s1', restart: true, reporter: reporter(lines), host: hostSide() })
    expect(calls).toEqual(['stop s4', 'start s4 on network default', 'as root on s4: ip addr replace 192.168.99.3/24', 'provision s4 (clusterAddress 192.168.99.3)'])
    expect(lines).toEqual(['Stopping "s4" to put it on qemu network "default" (192.168.99.0/24)', '"s4" is on qemu network "default" (192.168.99.0/24) at 192.168.99.3', 'Starting "s4"...', 'Giving "s4" its address 192.168.99.3'])
    expect(await savedDriver('s4')).toMatchObject({ Network: 'default', ClusterIP: '192.168.99.3', ClusterMAC: '52:54:00:a8:63:03' })
    expect(await savedDriver('s4')).not.toHaveProperty('ClusterNicPending')
    expect(Object.keys((await new QemuNetwork(store.path, 'default', quiet).read()).members)).toEqual(['s1', 's4'])
    // On it now: a later join or init has nothing to do.
    expect(await s4.driver.clusterNetworkFor!(peerOf(s1.host))).toBeUndefined()
  })

  it('stopped: put on the network and started, no --restart needed', async () => {
    const s4 = await qemuMachine('s4', {}, 'Stopped')
    await ensureOnClusterNetwork(store, s4, peerOf(s1.host), { command: 'machine swarm join s4 --cluster s1', restart: false, reporter: reporter(lines), host: hostSide() })
    expect(calls).toEqual(['start s4 on network default', 'as root on s4: ip addr replace 192.168.99.3/24', 'provision s4 (clusterAddress 192.168.99.3)'])
  })

  it('a guest that could not be told its address: recorded as pending, not advertised; the next join finishes it without a restart', async () => {
    const s4 = await qemuMachine('s4', {}, 'Stopped')
    const o = { command: 'machine swarm join s4 --cluster s1', restart: false, reporter: reporter(lines) }
    await expect(ensureOnClusterNetwork(store, s4, peerOf(s1.host), { ...o, host: hostSide('sudo: a password is required') })).rejects.toThrow('sudo: a password is required')
    // On the network (rm takes it off), but its address is not advertised while the guest lacks it.
    expect(await savedDriver('s4')).toMatchObject({ Network: 'default', ClusterIP: '192.168.99.3', ClusterNicPending: true })
    expect(await s4.driver.clusterAddress!()).toBeUndefined()
    calls = []
    await ensureOnClusterNetwork(store, s4, peerOf(s1.host), { ...o, host: hostSide() })
    expect(calls).toEqual(['as root on s4: ip addr replace 192.168.99.3/24', 'provision s4 (clusterAddress 192.168.99.3)'])
  })

  it('an address the user gave (--advertise-addr) is used as it is: nothing to do', async () => {
    const s4 = await qemuMachine('s4', {}, 'Running')
    s4.host.HostOptions.SwarmOptions.Address = '203.0.113.7'
    await ensureOnClusterNetwork(store, s4, peerOf(s1.host), { command: 'machine swarm join s4 --cluster s1', restart: false, reporter: reporter(lines), host: hostSide() })
    expect(calls).toEqual([])
  })

  it('swarm init of a machine without a network: "default"', async () => {
    const s5 = await qemuMachine('s5', {}, 'Stopped')
    await ensureOnClusterNetwork(store, s5, undefined, { command: 'machine swarm init s5', restart: false, reporter: reporter(lines), host: hostSide() })
    expect(calls).toEqual(['start s5 on network default', 'as root on s5: ip addr replace 192.168.99.3/24', 'provision s5 (clusterAddress 192.168.99.3)'])
  })

  it('refuses in one line, changing nothing: a peer on no network, a machine on another network than the swarm’s', async () => {
    const lone = await qemuMachine('lone', {}, 'Running')
    const s4 = await qemuMachine('s4', {}, 'Stopped')
    const other = await qemuMachine('s6', { 'qemu-network': 'lab' }, 'Stopped')
    const before = await snapshot(store.path)
    const o = { command: 'machine swarm join X --cluster Y', restart: true, reporter: reporter(lines), host: hostSide() }
    await expect(ensureOnClusterNetwork(store, s4, peerOf(lone.host), o)).rejects.toMatchObject({
      code: 'no-shared-network',
      message: '"s4" (a qemu VM) shares no network with "lone": it was made without --qemu-network',
    })
    await expect(ensureOnClusterNetwork(store, s4, { name: 'aws1', driverName: 'amazonec2', config: {} }, o)).rejects.toMatchObject({
      message: '"s4" (a qemu VM) shares no network with "aws1": it is a amazonec2 machine',
    })
    await expect(ensureOnClusterNetwork(store, other, peerOf(s1.host), o)).rejects.toMatchObject({
      code: 'network-mismatch',
      message: '"s6" is on qemu network "lab" and "s1" on "default": machines on different networks cannot reach each other',
      hint: 'create "s6" again with --qemu-network default',
    })
    expect(calls).toEqual([])
    expect(await snapshot(store.path)).toEqual(before)
  })
})

describe('each qemu network has its own subnet', () => {
  it('"default" is 192.168.99.0/24, every other network the lowest free 192.168.N.0/24 from 100; a freed one is reused', async () => {
    const path = await tempDir('machine-store-')
    const first = async (net: string, machine: string) => {
      // A member whose machine directory is gone is dropped: each has one.
      await mkdir(join(path, 'machines', machine), { recursive: true })
      return (await new QemuNetwork(path, net, quiet).join(machine, join(path, 'machines', machine))).ip
    }
    expect(await first('lab', 'a')).toBe('192.168.100.2')
    expect(await first('default', 'b')).toBe('192.168.99.2')
    expect(await first('prod', 'c')).toBe('192.168.101.2')
    expect(await first('lab', 'd')).toBe('192.168.100.3')
    expect((await new QemuNetwork(path, 'prod', quiet).read()).subnet).toBe('192.168.101.0/24')
    await new QemuNetwork(path, 'lab', quiet).leave('a')
    await new QemuNetwork(path, 'lab', quiet).leave('d')
    expect(await first('test', 'e')).toBe('192.168.100.2')
  })
})
