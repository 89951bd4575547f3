import { MachineError } from '../core/errors.js'
import { engineRequest, type EngineCallOptions, type EngineTls } from './engine.js'

// Swarm mode through the Docker Engine API, over the machine's mutual-TLS connection: no docker
// CLI on this host, no SSH. Request and response shapes are the Engine API's own (v1.24+, the
// fields used here have not changed since): SwarmInitRequest, SwarmJoinRequest, Swarm (with
// JoinTokens), SystemInfo.Swarm, Node, NodeSpec. Join tokens are secrets: they pass from
// GET /swarm to POST /swarm/join in memory only, never into a message, a log line or a file.

/** The swarm port managers listen on (docker swarm init's default --listen-addr 0.0.0.0:2377). */
export const SWARM_PORT = 2377

/** SystemInfo.Swarm (GET /info): this engine's view of its swarm membership. */
export interface LocalSwarm {
  NodeID: string
  NodeAddr: string
  /** '' | 'inactive' | 'pending' | 'active' | 'error' | 'locked' */
  LocalNodeState: string
  ControlAvailable: boolean
  Error: string
  RemoteManagers: Array<{ NodeID: string; Addr: string }> | null
  Cluster?: { ID: string } | null
}

/** A Node of GET /nodes, the fields machine reads. */
export interface SwarmNode {
  ID: string
  Version: { Index: number }
  Spec: { Name?: string; Labels?: Record<string, string>; Role: 'worker' | 'manager'; Availability: 'active' | 'pause' | 'drain' }
  Description?: { Hostname?: string; Engine?: { EngineVersion?: string } }
  /** State: 'unknown' | 'down' | 'ready' | 'disconnected' */
  Status: { State: string; Message?: string; Addr?: string }
  ManagerStatus?: { Leader?: boolean; Reachability: string; Addr: string } | null
}

export interface JoinTokens {
  Worker: string
  Manager: string
}

/** One engine, reached as `ls`/`version` reach it. */
export interface EngineTarget {
  url: string
  tls: EngineTls | (() => Promise<EngineTls>)
  machine: string
}

export interface SwarmApi {
  info(): Promise<LocalSwarm>
  /** POST /swarm/init; the new node's ID. */
  init(o: { advertiseAddr: string }): Promise<string>
  /** GET /swarm: the cluster's ID and join tokens (a manager only). Keep the tokens in memory. */
  inspect(): Promise<{ ID: string; JoinTokens: JoinTokens }>
  /** POST /swarm/join, to the managers at `remoteAddrs` ("ip:2377"). */
  join(o: { remoteAddrs: string[]; token: string; advertiseAddr: string }): Promise<void>
  leave(o: { force: boolean }): Promise<void>
  nodes(): Promise<SwarmNode[]>
  /** POST /nodes/{id}/update?version=N with the whole NodeSpec (the API replaces it). */
  updateNode(node: SwarmNode, spec: SwarmNode['Spec']): Promise<void>
  removeNode(id: string, o: { force: boolean }): Promise<void>
}

/** An answer other than 2xx: the engine's own message ("This node is already part of a swarm…"). */
export class EngineApiError extends MachineError {
  constructor(
    readonly status: number,
    readonly engineMessage: string,
    what: string,
    machine: string,
  ) {
    super('engine-api', `The engine of "${machine}" refused ${what} (HTTP ${status}): ${engineMessage}`)
  }
}

/** The engine's own message of an error answer ({"message": …}), else its first line. */
export const engineMessage = (body: string): string => {
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message
    if (typeof m === 'string' && m) return m
  } catch {
    // not JSON: the text itself, one line
  }
  return body.trim().split('\n')[0] ?? ''
}

/**
 * The bound of init, join and leave: dockerd answers them only once the node's swarm networks
 * (ingress, gossip, the raft store) are set up or torn down. A drained worker's leave took more
 * than 20 s (the bound of every other call) on a loaded 2-core TCG host; the steps that make
 * these calls allow 120 s.
 */
export const MEMBERSHIP_CALL_MS = 110_000

/** "ip:port" with IPv6 in brackets, as the Engine API's address fields take it. */
export const hostPort = (ip: string, port = SWARM_PORT): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`)

export function swarmApi(t: EngineTarget, timeoutMs: number, signal?: AbortSignal): SwarmApi {
  const o: EngineCallOptions = { machine: t.machine, signal }
  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, what: string, body?: unknown, ms = timeoutMs): Promise<string> => {
    const res = await engineRequest(t.url, method, path, body, t.tls, ms, o)
    if (res.status < 200 || res.status > 299) throw new EngineApiError(res.status, engineMessage(res.body), what, t.machine)
    return res.body
  }
  const parse = <T>(body: string, what: string): T => {
    try {
      return JSON.parse(body) as T
    } catch {
      throw new MachineError('engine-error', `The engine of "${t.machine}" answered ${what} with something that is not JSON`, { hint: 'check that its URL is the Docker engine' })
    }
  }
  const membershipMs = Math.max(timeoutMs, MEMBERSHIP_CALL_MS)
  return {
    info: async () => {
      const i = parse<{ Swarm?: LocalSwarm }>(await call('GET', '/info', 'GET /info'), 'GET /info')
      return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null, ...i.Swarm }
    },
    init: async ({ advertiseAddr }) =>
      parse<string>(await call('POST', '/swarm/init', 'to initialize a swarm', { ListenAddr: `0.0.0.0:${SWARM_PORT}`, AdvertiseAddr: hostPort(advertiseAddr), ForceNewCluster: false, Spec: {} }, membershipMs), 'POST /swarm/init'),
    inspect: async () => {
      const s = parse<{ ID?: string; JoinTokens?: Partial<JoinTokens> }>(await call('GET', '/swarm', 'GET /swarm'), 'GET /swarm')
      return { ID: s.ID ?? '', JoinTokens: { Worker: s.JoinTokens?.Worker ?? '', Manager: s.JoinTokens?.Manager ?? '' } }
    },
    join: async ({ remoteAddrs, token, advertiseAddr }) => {
      await call('POST', '/swarm/join', 'to join the swarm', { ListenAddr: `0.0.0.0:${SWARM_PORT}`, AdvertiseAddr: hostPort(advertiseAddr), RemoteAddrs: remoteAddrs, JoinToken: token }, membershipMs)
    },
    leave: async ({ force }) => {
      await call('POST', `/swarm/leave?force=${force}`, 'to leave the swarm', undefined, membershipMs)
    },
    nodes: async () => parse<SwarmNode[]>(await call('GET', '/nodes', 'GET /nodes'), 'GET /nodes'),
    updateNode: async (node, spec) => {
      await call('POST', `/nodes/${encodeURIComponent(node.ID)}/update?version=${node.Version.Index}`, `to update node ${node.ID}`, spec)
    },
    removeNode: async (id, { force }) => {
      await call('DELETE', `/nodes/${encodeURIComponent(id)}?force=${force}`, `to remove node ${id}`)
    },
  }
}
