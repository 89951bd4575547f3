import type { Config } from '@oclif/core'
import { existsSync } from 'node:fs'
import { MachineError, messageOf } from '../core/errors.js'
import { defaultSwarmOptions, type HostConfig, type SwarmOptions } from '../core/host-config.js'
import { programName } from '../core/program-name.js'
import { discoveryOf, inSwarm, membersOf, swarmColumn } from '../core/swarm-cluster.js'
import { checkAdvertiseAddr } from '../core/swarm-flags.js'
import { capabilitiesOf, type Driver } from '../driver-kit/contract.js'
import { FileJournal } from '../store/journal.js'
import { withClusterLock, withMachineLock } from '../store/lock.js'
import type { Store } from '../store/store.js'
import { engineTimeoutMs, readTls } from './engine.js'
import { engineUrlOf, machineTlsFiles, openLoaded, type OpenMachine } from './machine.js'
import type { Reporter } from './reporter.js'
import { chooseAdvertiseAddress, isLoopbackAddress } from './swarm-address.js'
import { ensureOnClusterNetwork, peerOf } from './swarm-network.js'
import { EngineApiError, hostPort, swarmApi, type EngineTarget, type LocalSwarm, type SwarmApi, type SwarmNode } from './swarm-api.js'

// `machine swarm init/join/leave/ls`, create's --swarm*, and rm of a node: swarm mode through
// each machine's engine API (services/swarm-api.ts). The store records membership in
// docker-machine's SwarmOptions (core/swarm-cluster.ts); the engines are the truth, asked
// before anything changes, so a refusal leaves both the store and the swarm as they were.

export interface SwarmContext {
  reporter: Reporter
  config?: Config
  signal?: AbortSignal
  env?: NodeJS.ProcessEnv
}

const prog = (): string => programName()

/** The engine of a saved machine, reached as `ls` reaches it (client files read after the dial). */
export function apiOf(store: Store, host: HostConfig, c: Pick<SwarmContext, 'env' | 'signal'> = {}): SwarmApi {
  return swarmApi(engineTargetOf(store, host), engineTimeoutMs(c.env), c.signal)
}

/** A saved machine's engine URL and client TLS files (its own, else the store's). */
export function engineTargetOf(store: Store, host: HostConfig): EngineTarget {
  const own = machineTlsFiles(store, host.Name)
  const a = host.HostOptions.AuthOptions
  const files = existsSync(own.key) ? own : { ca: a.CaCertPath, cert: a.ClientCertPath, key: a.ClientKeyPath }
  return { url: engineUrlOf(host), tls: () => readTls(files), machine: host.Name }
}


const open = (store: Store, host: HostConfig, c: SwarmContext, forCluster = false): Promise<OpenMachine> =>
  openLoaded(store, host, { config: c.config, signal: c.signal, env: c.env, forCluster, log: { info: (l) => c.reporter.info(l), debug: (l) => c.reporter.debug(l) } })

/** How long a membership change waits for another one of the same swarm (a join or a leave: engine steps of up to 120 s). */
const CLUSTER_LOCK_WAIT_MS = 300_000

/** Opens an existing machine's cluster ports before its engine joins, and closes them again if the join fails. */
interface ClusterPorts {
  open(): Promise<void>
  undo(): Promise<void>
}

/**
 * The cluster ports of an existing machine that `swarm init/join` makes a member, through its
 * driver's openClusterPorts (the one create uses), with the options resolved as for a machine
 * made with --swarm* (so a saved opt-out stays one). Drivers without it: nothing.
 */
async function clusterPortsOf(store: Store, host: HostConfig, c: SwarmContext): Promise<ClusterPorts> {
  const { driver } = await open(store, host, c, true)
  if (!driver.openClusterPorts) return { open: async () => {}, undo: async () => {} }
  const journal = await FileJournal.open(store.dir(host.Name))
  let tried = false
  return {
    open: async () => {
      tried = true
      await driver.openClusterPorts!(journal)
    },
    // Not a member after all: what was opened for it goes (rules another member uses stay).
    undo: async () => {
      if (!tried || !driver.closeClusterPorts) return
      await driver.closeClusterPorts(journal).catch((e: unknown) =>
        c.reporter.note(`Could not close the swarm ports opened for "${host.Name}" (${messageOf(e)}); "${prog()} rm ${host.Name}" closes them`),
      )
    },
  }
}

/** The machine's engine must answer: a stopped machine is named with its fix, not as ECONNREFUSED. */
async function runningInfo(store: Store, m: OpenMachine, c: SwarmContext, role: string): Promise<LocalSwarm> {
  const name = m.host.Name
  const state = await m.driver.state().catch(() => 'Error')
  if (state !== 'Running') {
    throw new MachineError('machine-not-running', `The ${role} "${name}" is ${state}, so its engine cannot be asked`, {
      hint: `start it with "${prog()} start ${name}" and try again`,
    })
  }
  return apiOf(store, m.host, c)
    .info()
    .catch((e: unknown) => {
      throw new MachineError('engine-unreachable', `The ${role} "${name}" does not answer: ${messageOf(e)}`)
    })
}

async function refuseMember(store: Store, host: HostConfig): Promise<void> {
  if (inSwarm(host.HostOptions.SwarmOptions)) {
    throw new MachineError('already-in-swarm', `Machine "${host.Name}" is already in the swarm of "${await clusterNameOf(store, host)}"`, {
      hint: `leave it first with "${prog()} swarm leave ${host.Name}"`,
    })
  }
}

function refuseActive(name: string, info: LocalSwarm): void {
  if (info.LocalNodeState && info.LocalNodeState !== 'inactive') {
    throw new MachineError('already-in-swarm', `The engine of "${name}" is already in a swarm that machine did not record (node ${info.NodeID || '?'}, ${info.LocalNodeState})`, {
      hint: `leave it first ("docker swarm leave --force" on that engine), or use it as it is`,
    })
  }
}

export async function clusterNameOf(store: Store, host: HostConfig): Promise<string> {
  const all = (await store.loadAll()).flatMap((e) => (e.host ? [e.host] : []))
  return (swarmColumn(all).get(host.Name) ?? '').replace(/ \(master\)$/, '') || host.Name
}

async function saveSwarm(store: Store, name: string, s: Partial<SwarmOptions>): Promise<void> {
  await withMachineLock(store.path, name, 5_000, async () => {
    const h = await store.load(name)
    h.HostOptions.SwarmOptions = { ...h.HostOptions.SwarmOptions, ...s }
    await store.save(h)
  })
}

export interface InitResult {
  name: string
  cluster: string
  advertiseAddr: string
}

/**
 * Under the machine's lock: load it, refuse a member, run `fn` on it (which opens the machine's
 * cluster ports once its checks pass), save what it changed. A failure saves nothing and closes
 * the ports it opened: the machine is as it was.
 */
async function onMachine<T>(store: Store, name: string, c: SwarmContext, advertiseAddr: string | undefined, fn: (m: OpenMachine, openPorts: () => Promise<void>) => Promise<T>): Promise<T> {
  // Checked where it enters, before the machine is asked anything: it is saved and certified.
  if (advertiseAddr !== undefined) checkAdvertiseAddr(advertiseAddr, '--advertise-addr')
  return withMachineLock(store.path, name, 30_000, async () => {
    const host = await store.load(name)
    await refuseMember(store, host)
    if (advertiseAddr) host.HostOptions.SwarmOptions.Address = advertiseAddr
    const m = await open(store, host, c)
    const ports = await clusterPortsOf(store, host, c)
    try {
      const result = await fn(m, () => ports.open())
      await store.save(host)
      return result
    } catch (e) {
      await ports.undo()
      throw e
    }
  })
}

/**
 * `swarm init NAME` (and create --swarm-master): NAME's engine starts a new swarm, advertising
 * its address on the network the machines share; NAME is recorded as its master.
 */
export async function initSwarm(store: Store, name: string, o: { advertiseAddr?: string; restart?: boolean }, c: SwarmContext): Promise<InitResult> {
  return onMachine(store, name, c, o.advertiseAddr, (m, openPorts) => initOn(store, m, c, o, openPorts))
}

/**
 * Init on an opened machine (create holds its lock already); sets its SwarmOptions, the caller
 * saves. `openPorts` runs once every check passed, before the engine is changed (create opened
 * them with the machine).
 */
export async function initOn(store: Store, m: OpenMachine, c: SwarmContext, o: { restart?: boolean } = {}, openPorts?: () => Promise<void>): Promise<InitResult> {
  const name = m.host.Name
  // A machine made without the network its nodes will share is put on it first.
  await ensureOnClusterNetwork(store, m, undefined, { command: `${prog()} swarm init ${name}`, restart: !!o.restart, reporter: c.reporter, signal: c.signal })
  const addr = await chooseAdvertiseAddress(m, capabilitiesOf(m.def).ssh)
  refuseActive(name, await runningInfo(store, m, c, 'machine'))
  await openPorts?.()
  const api = apiOf(store, m.host, c)
  await c.reporter.step(`Starting a swarm on "${name}" (advertising ${addr.address})`, { timeoutMs: 120_000, signal: c.signal }, () => api.init({ advertiseAddr: addr.address }))
  const { ID } = await api.inspect()
  Object.assign(m.host.HostOptions.SwarmOptions, { IsSwarm: true, Master: true, Agent: false, Discovery: discoveryOf(ID), Address: addr.address })
  return { name, cluster: name, advertiseAddr: addr.address }
}

/** The machine a cluster is named after, which must be in a swarm. */
async function clusterSeed(store: Store, clusterName: string): Promise<HostConfig> {
  const seed = await store.load(clusterName).catch((e: unknown) => {
    if (e instanceof MachineError && e.code === 'machine-not-found') {
      throw new MachineError('no-such-cluster', `There is no machine "${clusterName}", so no swarm of that name to join`, {
        hint: `name a swarm master from "${prog()} ls" (SWARM column), or start one with "${prog()} swarm init ${clusterName}"`,
      })
    }
    throw e
  })
  const s = seed.HostOptions.SwarmOptions
  if (!inSwarm(s)) {
    throw new MachineError('no-such-cluster', `Machine "${clusterName}" is not in a swarm, so there is no swarm of "${clusterName}" to join`, {
      hint: `make it a manager first with "${prog()} swarm init ${clusterName}"`,
    })
  }
  return seed
}

/** A manager of the cluster `clusterName` belongs to that answers, with its view of the swarm. */
async function reachableManager(store: Store, clusterName: string, c: SwarmContext, exclude?: string): Promise<{ host: HostConfig; info: LocalSwarm }> {
  const s = (await clusterSeed(store, clusterName)).HostOptions.SwarmOptions
  const all = (await store.loadAll()).flatMap((e) => (e.host ? [e.host] : []))
  const managers = membersOf(all, s.Discovery).filter((x) => x.manager && x.name !== exclude)
  // The machine named first, then the other managers.
  managers.sort((a, b) => Number(b.name === clusterName) - Number(a.name === clusterName))
  const why: string[] = []
  for (const mgr of managers) {
    const host = all.find((h) => h.Name === mgr.name)!
    try {
      const info = await runningInfo(store, await open(store, host, c), c, 'manager')
      if (info.ControlAvailable) return { host, info }
      why.push(`"${mgr.name}" is no longer a manager (${info.LocalNodeState})`)
    } catch (e) {
      why.push(e instanceof MachineError ? e.message : messageOf(e))
    }
  }
  const first = managers[0]?.name ?? clusterName
  throw new MachineError('no-reachable-manager', `No manager of the swarm of "${clusterName}" answers: ${why.join('; ') || 'it has no manager in this store'}`, {
    hint: `start one with "${prog()} start ${first}" and try again`,
  })
}

export interface JoinPlan {
  name: string
  cluster: string
  manager: boolean
}

/**
 * Everything a join needs that can be checked without changing anything: the cluster exists,
 * one of its managers answers, and it advertises an address another machine can reach. Create
 * runs this before it makes the machine.
 */
export async function checkJoin(store: Store, o: { cluster: string; name: string }, c: SwarmContext): Promise<{ manager: HostConfig; managerAddr: string }> {
  const { host, info } = await reachableManager(store, o.cluster, c)
  const addr = info.NodeAddr
  if (!addr) {
    throw new MachineError('engine-error', `The manager "${host.Name}" did not say which address its swarm is advertised at (GET /info Swarm.NodeAddr is empty)`, { hint: `check its engine with "docker info" (eval "$(${prog()} env ${host.Name})")` })
  }
  if (isLoopbackAddress(addr) && host.Name !== o.name) {
    throw new MachineError('no-cluster-address', `The swarm of "${o.cluster}" is advertised at ${addr} by "${host.Name}", an address no other machine can reach`, {
      hint: `start the swarm on an address the machines share ("${prog()} swarm init ${host.Name} --advertise-addr ADDR" after "${prog()} swarm leave -f ${host.Name}")`,
    })
  }
  return { manager: host, managerAddr: addr }
}

/** `swarm join NAME --cluster MASTER [--manager]` (and create --swarm): NAME's engine joins. */
export async function joinSwarm(store: Store, name: string, o: { cluster: string; manager: boolean; advertiseAddr?: string; restart?: boolean }, c: SwarmContext): Promise<JoinPlan & { advertiseAddr: string }> {
  if (name === o.cluster) throw new MachineError('usage', `Machine "${name}" cannot join its own swarm`, { hint: `start a swarm on it with "${prog()} swarm init ${name}"` })
  return onMachine(store, name, c, o.advertiseAddr, (m, openPorts) => joinOn(store, m, o, c, openPorts))
}

/**
 * Join on an opened machine (create holds its lock already); sets its SwarmOptions, the caller
 * saves. Under the swarm's lock, so no leave or removal of the same swarm decides on a member
 * list this join is changing. `openPorts` as for initOn.
 */
export async function joinOn(store: Store, m: OpenMachine, o: { cluster: string; manager: boolean; restart?: boolean }, c: SwarmContext, openPorts?: () => Promise<void>): Promise<JoinPlan & { advertiseAddr: string }> {
  const { Discovery } = (await clusterSeed(store, o.cluster)).HostOptions.SwarmOptions
  return withClusterLock(store.path, Discovery, CLUSTER_LOCK_WAIT_MS, () => joinUnderLock(store, m, o, c, openPorts))
}

async function joinUnderLock(store: Store, m: OpenMachine, o: { cluster: string; manager: boolean; restart?: boolean }, c: SwarmContext, openPorts?: () => Promise<void>): Promise<JoinPlan & { advertiseAddr: string }> {
  const name = m.host.Name
  const { manager, managerAddr } = await checkJoin(store, { cluster: o.cluster, name }, c)
  // A machine made without the network the swarm's machines share is put on the manager's.
  const command = `${prog()} swarm join ${name} --cluster ${o.cluster}${o.manager ? ' --manager' : ''}`
  await ensureOnClusterNetwork(store, m, peerOf(manager), { command, restart: !!o.restart, reporter: c.reporter, signal: c.signal })
  const addr = await chooseAdvertiseAddress(m, capabilitiesOf(m.def).ssh)
  refuseActive(name, await runningInfo(store, m, c, 'machine'))
  await openPorts?.()
  const { JoinTokens } = await apiOf(store, manager, c).inspect()
  const role = o.manager ? 'manager' : 'worker'
  await c.reporter.step(`Joining "${name}" to the swarm of "${o.cluster}" as a ${role} (advertising ${addr.address})`, { timeoutMs: 120_000, signal: c.signal }, () =>
    apiOf(store, m.host, c).join({ remoteAddrs: [hostPort(managerAddr)], token: o.manager ? JoinTokens.Manager : JoinTokens.Worker, advertiseAddr: addr.address }),
  )
  Object.assign(m.host.HostOptions.SwarmOptions, { IsSwarm: true, Master: o.manager, Agent: !o.manager, Discovery: manager.HostOptions.SwarmOptions.Discovery, Address: addr.address })
  return { name, cluster: o.cluster, manager: o.manager, advertiseAddr: addr.address }
}

/**
 * The node of `host` in a manager's list: by its ID when its engine told it, else by the address
 * it advertises, else by its host name; a live node before a Down one (a Down node of the same
 * address may be an earlier membership; a stopped machine's own node is Down too).
 */
function nodeOf(nodes: SwarmNode[], host: HostConfig, nodeId?: string): SwarmNode | undefined {
  const byId = nodes.find((n) => n.ID === nodeId)
  if (byId) return byId
  const live = (n: SwarmNode) => n.Status.State !== 'down'
  const byAddr = nodes.filter((n) => n.Status.Addr === host.HostOptions.SwarmOptions.Address)
  const byName = nodes.filter((n) => n.Description?.Hostname === host.Name)
  return byAddr.find(live) ?? byName.find(live) ?? byAddr[0] ?? byName[0]
}

export interface LeaveResult {
  name: string
  drained: boolean
  left: boolean
  removedFromList: boolean
}

/**
 * `swarm leave NAME`: under the machine's lock, it leaves (leaveSwarm), its cluster ports are
 * closed unless another member still uses them (the driver's closeClusterPorts, the same "last
 * user" rule as rm), and its record says it is no member.
 */
export async function leaveMachine(store: Store, name: string, o: { force: boolean; drain: boolean }, c: SwarmContext): Promise<LeaveResult> {
  return withMachineLock(store.path, name, 30_000, async () => {
    const host = await store.load(name)
    const { driver } = await open(store, host, c)
    const result = await leaveSwarm(store, name, o, c, () => closeClusterPorts(store, name, driver, c))
    host.HostOptions.SwarmOptions = { ...host.HostOptions.SwarmOptions, IsSwarm: false, Master: false, Agent: false, Discovery: '', Address: defaultSwarmOptions().Address }
    await store.save(host)
    return result
  })
}

/**
 * A machine that left its swarm no longer needs the cluster's ports: its driver's
 * closeClusterPorts (its mark goes, the rules too unless another member uses them). Run by
 * `swarm leave` and `rm` while they still hold the swarm's lock, so a member joining meanwhile
 * cannot find the rules there, count on them, and lose them a moment later. A failure is told,
 * not thrown: the machine has left, and the journal keeps the rules for rm to try again.
 */
export async function closeClusterPorts(store: Store, name: string, driver: Driver, c: SwarmContext): Promise<void> {
  if (!driver.closeClusterPorts) return
  await driver
    .closeClusterPorts(await FileJournal.open(store.dir(name)))
    .catch((e: unknown) => c.reporter.note(`The swarm ports of "${name}" stay open (${messageOf(e)}); "${prog()} rm ${name}" closes them`))
}

const notInSwarm = (name: string) => new MachineError('not-in-swarm', `Machine "${name}" is not in a swarm`, { hint: `see the swarm members in "${prog()} ls" (SWARM column)` })

/**
 * Take a machine out of its swarm (the caller holds its lock and updates its record): drain it
 * (its tasks move to the other nodes), leave, then remove its node from a manager's list (else it
 * stays there, Down). The last manager of a swarm that still has other nodes leaves only with
 * `force`: the others are then without a cluster. A node that does not answer (stopped, gone) is
 * removed from the list by a manager. The check and the leave hold the swarm's lock: two managers
 * removed at once cannot both count on the other to stay.
 */
export async function leaveSwarm(store: Store, name: string, o: { force: boolean; drain: boolean }, c: SwarmContext, /** run once it left, still under the swarm's lock */ afterLeave?: () => Promise<void>): Promise<LeaveResult> {
  const before = await store.load(name, { incomplete: true })
  if (!inSwarm(before.HostOptions.SwarmOptions)) {
    throw notInSwarm(name)
  }
  const { result, heir } = await withClusterLock(store.path, before.HostOptions.SwarmOptions.Discovery, CLUSTER_LOCK_WAIT_MS, async () => {
    // Read again under the swarm's lock: what the store says now, after any change that held it.
    const host = await store.load(name, { incomplete: true })
    const left = await leaveUnderLock(store, host, o, c)
    await afterLeave?.()
    return left
  })
  // Another manager takes the master mark, so the cluster keeps its name in ls. Outside the
  // swarm's lock (the heir's own command may hold its lock while it waits for the swarm's), and
  // only a label: a busy heir keeps its record as it is.
  if (heir) {
    await saveSwarm(store, heir, { Master: true, Agent: false }).catch((e: unknown) => c.reporter.debug(`"${heir}" keeps its record (${messageOf(e)})`))
  }
  return result
}

async function leaveUnderLock(store: Store, host: HostConfig, o: { force: boolean; drain: boolean }, c: SwarmContext): Promise<{ result: LeaveResult; heir?: string }> {
  const name = host.Name
  const s = host.HostOptions.SwarmOptions
  if (!inSwarm(s)) {
    throw notInSwarm(name)
  }
  const result: LeaveResult = { name, drained: false, left: false, removedFromList: false }
  const own = apiOf(store, host, c)
  const info = await own.info().catch(() => undefined)
  // Another manager that answers (one that is not leaving): it drains and removes the node.
  const clusterName = await clusterNameOf(store, host)
  const other = await reachableManager(store, clusterName, c, name).catch(() => undefined)
  const mapi = other ? apiOf(store, other.host, c) : info?.ControlAvailable ? own : undefined
  const nodes = mapi ? await mapi.nodes().catch(() => undefined) : undefined
  const node = nodes ? nodeOf(nodes, host, info?.NodeID) : undefined
  if (s.Master || node?.Spec.Role === 'manager') {
    const managersLeft = (nodes ?? []).filter((n) => n.Spec.Role === 'manager' && n.Status.State === 'ready' && n.ID !== node?.ID)
    // No manager answers at all (this one is stopped): the store says who else is a member.
    const othersLeft = nodes
      ? nodes.filter((n) => n.ID !== node?.ID && n.Status.State !== 'down').map((n) => n.Description?.Hostname ?? n.ID)
      : membersOf((await store.loadAll()).flatMap((e) => (e.host ? [e.host] : [])), s.Discovery)
          .filter((m) => m.name !== name)
          .map((m) => m.name)
    if (managersLeft.length === 0 && !other && othersLeft.length > 0 && !o.force) {
      const names = othersLeft.join(', ')
      throw new MachineError('last-manager', `"${name}" is the last manager of its swarm, which still has ${othersLeft.length} other node${othersLeft.length > 1 ? 's' : ''} (${names}): without it they have no cluster`, {
        hint: `remove or make another one a manager first ("${prog()} swarm join NAME --cluster ${name} --manager" for a new one), or pass -f`,
      })
    }
  }
  const wasManager = !!(s.Master || node?.Spec.Role === 'manager')
  if (node && mapi && mapi !== own && node.Status.State === 'ready') {
    // One update (the API replaces the whole spec, at the node's version): drained, its tasks
    // move to the other nodes; demoted, the managers that stay keep their quorum.
    const spec = { ...node.Spec, ...(o.drain ? { Availability: 'drain' as const } : {}), Role: 'worker' as const }
    if (spec.Availability !== node.Spec.Availability || spec.Role !== node.Spec.Role) {
      await mapi
        .updateNode(node, spec)
        .then(() => (result.drained = spec.Availability === 'drain'))
        .catch((e: unknown) => c.reporter.note(`Could not drain "${name}" (${messageOf(e)}); its tasks move when it leaves`))
    }
  }
  if (info && info.LocalNodeState !== 'inactive') {
    // A manager leaves only with force (demoted above when another manager stays; the last
    // manager's case was refused above unless -f).
    await c.reporter.step(`"${name}" leaves the swarm of "${clusterName}"`, { timeoutMs: 120_000, signal: c.signal }, () => own.leave({ force: wasManager }))
    result.left = true
  } else if (!info) {
    c.reporter.note(`The engine of "${name}" does not answer; its node is removed from the swarm's list instead`)
  }
  if (!node && mapi && mapi !== own) c.reporter.note(`No node of "${name}" is in the swarm's list (at ${s.Address})`)
  if (node && mapi && mapi !== own) {
    // Forced: a node that has just left is Down only after a heartbeat or two, and one that
    // could not leave (stopped, gone) never will be.
    await mapi
      .removeNode(node.ID, { force: true })
      .then(() => (result.removedFromList = true))
      .catch((e: unknown) => c.reporter.note(`Node of "${name}" stays in the swarm's list (${e instanceof EngineApiError ? e.engineMessage : messageOf(e)}); remove it with "docker node rm ${node.ID}"`))
  }
  const heir = s.Master && other && !other.host.HostOptions.SwarmOptions.Master ? other.host.Name : undefined
  return { result, heir }
}

export interface SwarmNodeRow {
  cluster: string
  machine: string
  hostname: string
  role: string
  availability: string
  status: string
  engine: string
  address: string
}

/** `swarm ls [--cluster NAME]`: every node of each recorded cluster, as its manager lists them. */
export async function listSwarmNodes(store: Store, o: { cluster?: string }, c: SwarmContext): Promise<SwarmNodeRow[]> {
  const all = (await store.loadAll()).flatMap((e) => (e.host ? [e.host] : []))
  const col = swarmColumn(all)
  let clusters = [...new Set([...col.values()].map((v) => v.replace(/ \(master\)$/, '')))].sort()
  if (o.cluster) {
    const h = all.find((x) => x.Name === o.cluster)
    if (!h) throw new MachineError('no-such-cluster', `There is no machine "${o.cluster}"`, { hint: `name a swarm from "${prog()} ls" (SWARM column)` })
    if (!inSwarm(h.HostOptions.SwarmOptions)) throw new MachineError('not-in-swarm', `Machine "${o.cluster}" is not in a swarm`, { hint: `start one with "${prog()} swarm init ${o.cluster}"` })
    clusters = [col.get(o.cluster)!.replace(/ \(master\)$/, '')]
  }
  const rows: SwarmNodeRow[] = []
  for (const cluster of clusters) {
    const { host } = await reachableManager(store, cluster, c)
    const nodes = await apiOf(store, host, c).nodes()
    const discovery = host.HostOptions.SwarmOptions.Discovery
    const members = all.filter((h) => h.HostOptions.SwarmOptions.Discovery === discovery)
    for (const n of nodes) {
      const machine = members.find((h) => h.HostOptions.SwarmOptions.Address === n.Status.Addr && n.Status.State !== 'down') ?? members.find((h) => h.Name === n.Description?.Hostname)
      rows.push({
        cluster,
        machine: machine?.Name ?? '-',
        hostname: n.Description?.Hostname ?? '',
        role: n.Spec.Role === 'manager' && n.ManagerStatus?.Leader ? 'manager (leader)' : n.Spec.Role,
        availability: n.Spec.Availability,
        status: n.Status.State,
        engine: n.Description?.Engine?.EngineVersion ?? '',
        address: n.Status.Addr ?? '',
      })
    }
  }
  return rows
}
