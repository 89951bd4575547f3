/** The inbound rules a machine needs: SSH, the engine's TLS port, and --amazonec2-open-port values. Nothing else. */
export const ENGINE_PORT = 2376

export interface PortRule {
  protocol: 'tcp' | 'udp'
  port: number
}

interface ExistingPermission {
  IpProtocol?: string
  FromPort?: number
  ToPort?: number
}

/** "8080" / "8080/tcp" / "53/udp" → port + protocol. */
export function parsePort(spec: string): PortRule {
  const [p, proto] = spec.split('/')
  return { port: Number(p), protocol: proto === 'udp' ? 'udp' : 'tcp' }
}

export function neededRules(sshPort: number, openPorts: readonly string[]): PortRule[] {
  const rules: PortRule[] = [
    { protocol: 'tcp', port: sshPort },
    { protocol: 'tcp', port: ENGINE_PORT },
    ...openPorts.map(parsePort),
  ]
  const seen = new Set<string>()
  return rules.filter((r) => {
    const k = `${r.protocol}/${r.port}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/**
 * Rules not already allowed by any of the groups. A rule counts as present when some permission
 * covers its port and protocol from any source: a group the user restricted (say SSH from their
 * office only) is respected, never widened.
 */
export function missingRules(needed: readonly PortRule[], existing: readonly ExistingPermission[]): PortRule[] {
  return needed.filter(
    (r) =>
      !existing.some(
        (p) =>
          p.IpProtocol === '-1' ||
          (p.IpProtocol === r.protocol && (p.FromPort ?? -1) <= r.port && r.port <= (p.ToPort ?? -1)),
      ),
  )
}

/** Open to the world, as docker-machine did: the engine is protected by TLS client certificates. */
export const toPermissions = (rules: readonly PortRule[]) =>
  rules.map((r) => ({
    IpProtocol: r.protocol,
    FromPort: r.port,
    ToPort: r.port,
    IpRanges: [{ CidrIp: '0.0.0.0/0' }],
  }))

/**
 * Swarm mode between the machines of a cluster: managers (2377/tcp), gossip (7946/tcp+udp) and
 * the overlay network's VXLAN (4789/udp). Never opened to the world (VXLAN has no authentication):
 * only from the security group itself, so only instances in the group reach them.
 */
export const SWARM_RULES: readonly PortRule[] = [
  { protocol: 'tcp', port: 2377 },
  { protocol: 'tcp', port: 7946 },
  { protocol: 'udp', port: 7946 },
  { protocol: 'udp', port: 4789 },
]

/** The instance tag naming the group whose swarm rules it needs: rm revokes them when no instance has it. */
export const SWARM_TAG = 'machine-swarm'

/** Marks the swarm rules machine made: only those are ever revoked by it, never a user's own. */
export const SWARM_RULE_DESCRIPTION = 'swarm mode between cluster members (made by machine)'

interface GroupPermission extends ExistingPermission {
  UserIdGroupPairs?: { GroupId?: string; Description?: string }[]
}

const covers = (p: GroupPermission, r: PortRule) =>
  p.IpProtocol === '-1' || (p.IpProtocol === r.protocol && (p.FromPort ?? -1) <= r.port && r.port <= (p.ToPort ?? -1))

/**
 * The swarm rules of `groupId` as they stand: `missing` (not allowed from the group itself by any
 * permission) and `ours` (allowed by a permission machine made, by its description).
 */
export function swarmRulesIn(groupId: string, existing: readonly GroupPermission[]): { missing: PortRule[]; ours: PortRule[] } {
  const fromGroup = (r: PortRule, mine: boolean) =>
    existing.some((p) => covers(p, r) && (p.UserIdGroupPairs ?? []).some((g) => g.GroupId === groupId && (!mine || g.Description === SWARM_RULE_DESCRIPTION)))
  return { missing: SWARM_RULES.filter((r) => !fromGroup(r, false)), ours: SWARM_RULES.filter((r) => fromGroup(r, true)) }
}

/** Rules whose only source is the security group itself. */
export const toGroupPermissions = (rules: readonly PortRule[], groupId: string) =>
  rules.map((r) => ({
    IpProtocol: r.protocol,
    FromPort: r.port,
    ToPort: r.port,
    UserIdGroupPairs: [{ GroupId: groupId, Description: SWARM_RULE_DESCRIPTION }],
  }))

export const ruleName = (r: PortRule): string => `${r.port}/${r.protocol}`

