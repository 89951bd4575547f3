/**
 * Swarm mode as several dockerd share it, for fake engines (fake-engine.ts): one world holds
 * the clusters; an engine inits one, another joins it by the manager's advertised address and
 * the right token, nodes are listed, drained, leave and are removed, with the Engine API's
 * shapes and dockerd's refusals (status codes and messages as dockerd 28 sends them).
 */
import { randomBytes } from 'node:crypto'

type Engine = object

interface Node {
  ID: string
  engine: Engine
  version: number
  spec: { Name?: string; Labels: Record<string, string>; Role: 'worker' | 'manager'; Availability: string }
  hostname: string
  engineVersion: () => string
  addr: string
  /** The node left the swarm (it stays listed, Down, until removed from a manager). */
  left: boolean
}

interface Cluster {
  ID: string
  tokens: { Worker: string; Manager: string }
  nodes: Map<string, Node>
}

interface EngineState {
  hostname: string
  engineVersion: () => string
  up: boolean
  cluster?: Cluster
  node?: Node
}

export interface FakeSwarmWorld {
  attach(e: Engine, o: { hostname: string; engineVersion: () => string }): void
  setUp(e: Engine, up: boolean): void
  /** Every cluster's nodes, for assertions: cluster ID → "hostname role availability state". */
  dump(): Record<string, string[]>
  /** The clusters by ID, and each engine's state (for assertions beyond dump()). */
  clusters: Map<string, Cluster>
  engines: Map<Engine, EngineState>
}

export function fakeSwarmWorld(): FakeSwarmWorld {
  const engines = new Map<Engine, EngineState>()
  const clusters = new Map<string, Cluster>()
  const stateOf = (n: Node): string => (n.left || !engines.get(n.engine)?.up ? 'down' : 'ready')
  return {
    engines,
    clusters,
    attach: (e, o) => void engines.set(e, { ...o, up: true }),
    setUp: (e, up) => {
      const s = engines.get(e)
      if (s) s.up = up
    },
    dump: () =>
      Object.fromEntries(
        [...clusters.values()].map((c) => [c.ID, [...c.nodes.values()].map((n) => `${n.hostname} ${n.spec.Role} ${n.spec.Availability} ${stateOf(n)}`)]),
      ),
  }
}

const id = (n: number): string => randomBytes(n).toString('hex').slice(0, n)
const token = (c: string, kind: string): string => `SWMTKN-1-${c}${kind}${id(25)}`

const NOT_IN_SWARM = 'This node is not part of a swarm'
const NOT_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.'
const WORKER =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager."
const ALREADY = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.'

/** The answer to a swarm-mode call, or undefined (not a swarm path). */
export function handleSwarm(
  world: FakeSwarmWorld,
  engine: Engine,
  method: string,
  path: string,
  query: URLSearchParams,
  raw: string,
): { status: number; body: unknown } | undefined {
  const me = world.engines.get(engine)
  if (!me) return { status: 500, body: { message: 'engine not attached to the swarm world' } }
  let body: Record<string, unknown> = {}
  if (raw) {
    try {
      body = JSON.parse(raw) as Record<string, unknown>
    } catch {
      return { status: 400, body: { message: 'invalid JSON' } }
    }
  }
  const cluster = me.node && !me.node.left ? me.cluster : undefined
  const isManager = !!cluster && me.node?.spec.Role === 'manager'
  const stateOf = (n: Node): string => (n.left || !world.engines.get(n.engine)?.up ? 'down' : 'ready')
  const nodeJson = (n: Node) => ({
    ID: n.ID,
    Version: { Index: n.version },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:00:00Z',
    Spec: { ...n.spec },
    Description: {
      Hostname: n.hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 1e9, MemoryBytes: 1 << 30 },
      Engine: { EngineVersion: n.engineVersion() },
    },
    Status: { State: stateOf(n), Addr: n.addr },
    ...(n.spec.Role === 'manager' ? { ManagerStatus: { Leader: n === firstManager(n.engine), Reachability: stateOf(n) === 'ready' ? 'reachable' : 'unreachable', Addr: `${n.addr}:2377` } } : {}),
  })
  const firstManager = (e: Engine): Node | undefined => {
    const c = world.engines.get(e)?.cluster
    return c ? [...c.nodes.values()].find((n) => n.spec.Role === 'manager' && stateOf(n) === 'ready') : undefined
  }
  const addrOf = (a: unknown): string | undefined => {
    if (typeof a !== 'string' || !a) return undefined
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(a)
    return m?.[1]
  }

  if (path === '/info' && method === 'GET') {
    const managers = cluster ? [...cluster.nodes.values()].filter((n) => n.spec.Role === 'manager' && !n.left) : []
    return {
      status: 200,
      body: {
        ID: 'FAKE:ENGINE',
        Name: me.hostname,
        ServerVersion: me.engineVersion(),
        Swarm: {
          NodeID: cluster ? me.node!.ID : '',
          NodeAddr: cluster ? me.node!.addr : '',
          LocalNodeState: cluster ? 'active' : 'inactive',
          ControlAvailable: isManager,
          Error: '',
          RemoteManagers: cluster ? managers.map((n) => ({ NodeID: n.ID, Addr: `${n.addr}:2377` })) : null,
          ...(cluster ? { Nodes: cluster.nodes.size, Managers: managers.length } : {}),
          ...(isManager ? { Cluster: { ID: cluster!.ID, Version: { Index: 10 } } } : {}),
        },
      },
    }
  }
  if (path === '/swarm/init' && method === 'POST') {
    if (cluster) return { status: 503, body: { message: ALREADY } }
    const addr = addrOf(body.AdvertiseAddr)
    // A VM with a NAT NIC and a second one: dockerd cannot guess (moby 25279).
    if (!addr) return { status: 400, body: { message: 'could not choose an IP address to advertise since this system has multiple addresses on different interfaces (10.0.2.15 on eth0 and 192.168.76.2 on eth1)' } }
    const cid = id(25)
    const c: Cluster = { ID: cid, tokens: { Worker: token(cid, 'w'), Manager: token(cid, 'm') }, nodes: new Map() }
    const node: Node = { ID: id(25), engine, version: 9, spec: { Labels: {}, Role: 'manager', Availability: 'active' }, hostname: me.hostname, engineVersion: me.engineVersion, addr, left: false }
    c.nodes.set(node.ID, node)
    world.clusters.set(cid, c)
    me.cluster = c
    me.node = node
    return { status: 200, body: node.ID }
  }
  if (path === '/swarm/join' && method === 'POST') {
    if (cluster) return { status: 503, body: { message: ALREADY } }
    const addr = addrOf(body.AdvertiseAddr)
    if (!addr) return { status: 400, body: { message: 'could not choose an IP address to advertise since this system has multiple addresses on different interfaces (10.0.2.15 on eth0 and 192.168.76.2 on eth1)' } }
    const remotes = Array.isArray(body.RemoteAddrs) ? (body.RemoteAddrs as unknown[]).map(String) : []
    const target = [...world.clusters.values()].find((c) => [...c.nodes.values()].some((n) => n.spec.Role === 'manager' && stateOf(n) === 'ready' && remotes.includes(`${n.addr}:2377`)))
    if (!target) {
      return { status: 500, body: { message: `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp ${remotes[0] ?? '?'}: connect: connection refused"` } }
    }
    const role = body.JoinToken === target.tokens.Manager ? 'manager' : body.JoinToken === target.tokens.Worker ? 'worker' : undefined
    if (!role) return { status: 400, body: { message: 'rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster' } }
    const node: Node = { ID: id(25), engine, version: 9, spec: { Labels: {}, Role: role, Availability: 'active' }, hostname: me.hostname, engineVersion: me.engineVersion, addr, left: false }
    target.nodes.set(node.ID, node)
    me.cluster = target
    me.node = node
    return { status: 200, body: undefined }
  }
  if (path === '/swarm/leave' && method === 'POST') {
    if (!cluster) return { status: 503, body: { message: NOT_IN_SWARM } }
    if (isManager && query.get('force') !== 'true') {
      return { status: 503, body: { message: 'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.' } }
    }
    me.node!.left = true
    me.cluster = undefined
    me.node = undefined
    return { status: 200, body: undefined }
  }
  if (path === '/swarm' && method === 'GET') {
    if (!cluster) return { status: 503, body: { message: NOT_MANAGER } }
    if (!isManager) return { status: 503, body: { message: WORKER } }
    return {
      status: 200,
      body: { ID: cluster.ID, Version: { Index: 10 }, CreatedAt: '2026-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z', Spec: { Name: 'default' }, RootRotationInProgress: false, DataPathPort: 4789, JoinTokens: cluster.tokens },
    }
  }
  if (path === '/nodes' || path.startsWith('/nodes/')) {
    if (!cluster) return { status: 503, body: { message: NOT_MANAGER } }
    if (!isManager) return { status: 503, body: { message: WORKER } }
    if (path === '/nodes' && method === 'GET') return { status: 200, body: [...cluster.nodes.values()].map(nodeJson) }
    const m = /^\/nodes\/([^/]+)(\/update)?$/.exec(path)
    const node = m ? cluster.nodes.get(decodeURIComponent(m[1]!)) : undefined
    if (!m || !node) return { status: 404, body: { message: `node ${m?.[1] ?? '?'} not found` } }
    if (m[2] && method === 'POST') {
      if (Number(query.get('version')) !== node.version) return { status: 500, body: { message: 'rpc error: code = Unknown desc = update out of sequence' } }
      const role = body.Role === 'manager' || body.Role === 'worker' ? body.Role : undefined
      const availability = ['active', 'pause', 'drain'].includes(String(body.Availability)) ? String(body.Availability) : undefined
      if (!role || !availability) return { status: 400, body: { message: 'invalid node spec: Role and Availability are required' } }
      node.spec = { ...(typeof body.Name === 'string' ? { Name: body.Name } : {}), Labels: (body.Labels as Record<string, string>) ?? {}, Role: role, Availability: availability }
      node.version++
      return { status: 200, body: undefined }
    }
    if (!m[2] && method === 'DELETE') {
      const force = query.get('force') === 'true'
      if (node.spec.Role === 'manager' && stateOf(node) === 'ready') {
        return { status: 400, body: { message: `rpc error: code = FailedPrecondition desc = node ${node.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal` } }
      }
      if (stateOf(node) !== 'down' && !force) {
        return { status: 400, body: { message: `rpc error: code = FailedPrecondition desc = node ${node.ID} is not down and can't be removed` } }
      }
      cluster.nodes.delete(node.ID)
      return { status: 200, body: undefined }
    }
    if (!m[2] && method === 'GET') return { status: 200, body: nodeJson(node) }
  }
  return undefined
}
