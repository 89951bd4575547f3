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
