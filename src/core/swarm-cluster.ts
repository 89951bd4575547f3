import type { HostConfig, SwarmOptions } from './host-config.js'
import { naturalCompare } from './names.js'

// Which saved machines form one swarm, from config.json alone (pure: `ls` and its fast path,
// `env --swarm`). docker-machine's SwarmOptions shape is kept: IsSwarm marks a member, Master a
// manager, Agent a worker, and Discovery, the string docker-machine grouped a cluster by, holds
// `swarm://<cluster ID>` (the swarm's own ID: no secret; join tokens are never stored).

export const DISCOVERY_PREFIX = 'swarm://'

export const discoveryOf = (clusterId: string): string => `${DISCOVERY_PREFIX}${clusterId}`

/**
 * True for a member of a swarm-mode cluster machine made; a docker-machine store's classic Swarm
 * members (Discovery token://…, consul://…) are not.
 */
export const inSwarm = (s: SwarmOptions | undefined): s is SwarmOptions => !!s?.IsSwarm && !!s.Discovery?.startsWith(DISCOVERY_PREFIX)

export interface ClusterMember {
  name: string
  manager: boolean
}

/** Members of the cluster `discovery` names, managers first, each group in natural name order. */
export function membersOf(hosts: Iterable<Pick<HostConfig, 'Name' | 'HostOptions'>>, discovery: string): ClusterMember[] {
  const out: ClusterMember[] = []
  for (const h of hosts) {
    const s = h.HostOptions?.SwarmOptions
    if (inSwarm(s) && s.Discovery === discovery) out.push({ name: h.Name, manager: !!s.Master })
  }
  return out.sort((a, b) => Number(b.manager) - Number(a.manager) || naturalCompare(a.name, b.name))
}

/**
 * The SWARM column of `ls`, per machine: the cluster's name (its first manager by name, as
 * docker-machine named a cluster by its master), with " (master)" on managers; '' elsewhere.
 */
export function swarmColumn(hosts: Array<Pick<HostConfig, 'Name' | 'HostOptions'>>): Map<string, string> {
  const byDiscovery = new Map<string, string>()
  for (const m of hosts) {
    const s = m.HostOptions?.SwarmOptions
    if (!inSwarm(s) || !s.Master) continue
    const known = byDiscovery.get(s.Discovery)
    if (known === undefined || naturalCompare(m.Name, known) < 0) byDiscovery.set(s.Discovery, m.Name)
  }
  const col = new Map<string, string>()
  for (const m of hosts) {
    const s = m.HostOptions?.SwarmOptions
    if (!inSwarm(s)) continue
    const cluster = byDiscovery.get(s.Discovery)
    // A cluster none of whose managers is in this store: named by its ID.
    col.set(m.Name, `${cluster ?? s.Discovery.slice(DISCOVERY_PREFIX.length, DISCOVERY_PREFIX.length + 12)}${s.Master ? ' (master)' : ''}`)
  }
  return col
}
