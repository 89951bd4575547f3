/**
 * The firewall rule: one per network and port set (config.ts names it), shared by the machines
 * that need exactly those ports and made by the first of them; the last machine using it deletes it.
 */
import { randomUUID } from 'node:crypto'
import type { Journal } from '../../src/driver-kit/contract.js'
import { checkAborted } from '../../src/driver-kit/wait.js'
import type { Operation } from './client.js'
import { firewallAllowed, firewallRuleName, LABEL_FIREWALL, LABEL_SWARM, networkPath, networkProject, sameAllowed, SWARM_ALLOWED, swarmRuleName, type Allowed } from './config.js'
import { classify, type ErrorClass } from './errors.js'
import { isMissing, isTaken, rawOf, type GoogleSession } from './session.js'

/** Answers that made nothing. */
const REFUSED: ReadonlySet<ErrorClass> = new Set(['auth', 'permission', 'quota', 'api-disabled'])

/** A (classic) swarm master also listens on its SwarmHost port, 3376 by default, as docker-machine opened. */
function swarmPorts(c: Record<string, unknown>): string[] {
  if (c.SwarmMaster !== true) return []
  const port = /:(\d+)\/?$/.exec(typeof c.SwarmHost === 'string' ? c.SwarmHost : '')?.[1] ?? '3376'
  return [`${port}/tcp`]
}

/** The rule this machine needs: SSH, the engine port, --google-open-port values, a swarm master's port. */
export function firewallFor(s: GoogleSession, p: string): { rule: string; allowed: Allowed[] } {
  const allowed = firewallAllowed([...s.o.openPort, ...swarmPorts(s.c)])
  return { rule: firewallRuleName(networkPath(s.o.network, p), allowed), allowed }
}

/** The swarm rule of the machine's network (with --google-swarm-ports), or undefined. */
export function swarmFirewallFor(s: GoogleSession, p: string): { rule: string; allowed: Allowed[] } | undefined {
  return s.o.swarmPorts ? { rule: swarmRuleName(networkPath(s.o.network, p)), allowed: SWARM_ALLOWED } : undefined
}

/** Make the swarm rule unless it exists: from and to instances carrying its tag only. */
export function ensureSwarmFirewall(s: GoogleSession, journal: Journal, p: string, rule: string, signal: AbortSignal): Promise<void> {
  return ensureFirewall(s, journal, p, rule, SWARM_ALLOWED, signal, { sourceTags: [rule], label: LABEL_SWARM, between: true })
}

/**
 * Make the rule unless it exists (then reuse it as it is); journaled either way, with the label
 * that names it on the instances that need it. From anywhere, or (`sourceTags`) only from
 * instances carrying those tags.
 */
export async function ensureFirewall(
  s: GoogleSession,
  journal: Journal,
  p: string,
  rule: string,
  allowed: Allowed[],
  signal: AbortSignal,
  o: { sourceTags?: string[]; label?: string; between?: boolean } = {},
): Promise<void> {
  const network = s.o.network
  const fwProject = networkProject(network, p)
  checkAborted(signal)
  const existing = await s.find(`look up firewall rule ${rule}`, (g) => g.getFirewall(fwProject, rule), signal)
  // Journaled even when reused: rm then checks whether any machine still needs it. Once (a
  // machine that joins a swarm again finds it journaled already).
  const journaled = journal.entries().some((e) => e.kind === 'firewall' && e.id === rule)
  if (!journaled) await journal.record({ kind: 'firewall', id: rule, data: { project: fwProject, created: !existing, ...(o.label ? { label: o.label } : {}) } })
  if (o.label === LABEL_SWARM) s.c.SwarmFirewallRule = rule
  else s.c.FirewallRule = rule
  if (existing) {
    if (!sameAllowed(existing.allowed ?? [], allowed)) s.log.info(`Firewall rule ${rule} was changed outside machine; using it as it is`)
    else s.log.debug(`google: reusing firewall rule ${rule}`)
    return
  }
  const ports = allowed.flatMap((a) => a.ports.map((x) => `${x}/${a.IPProtocol}`)).join(', ')
  s.log.info(`Creating firewall rule ${rule} (${ports})`)
  const body = {
    name: rule,
    description: o.between ? `Made by machine: swarm mode (${ports}) between instances tagged ${rule}` : `Made by machine: lets instances tagged ${rule} receive ${ports}`,
    network: networkPath(network, p),
    direction: 'INGRESS',
    priority: 1000,
    ...(o.sourceTags ? { sourceTags: o.sourceTags } : { sourceRanges: ['0.0.0.0/0'] }),
    targetTags: [rule],
    allowed,
  }
  const requestId = randomUUID()
  let op: Operation
  try {
    op = await s.call(`create firewall rule ${rule}`, (g) => g.insertFirewall(fwProject, body, requestId), signal)
  } catch (e) {
    // Another machine made the same rule a moment ago: it is exactly what we need.
    if (isTaken(e)) return
    // The API said no (permission, quota): nothing was made, nothing is left to undo.
    if (!journaled && REFUSED.has(classify(rawOf(e)))) await journal.forget('firewall', rule)
    throw e
  }
  await s.waitOp(op, `create firewall rule ${rule}`, { project: fwProject }, signal)
}

/** Delete the firewall rule unless another machine's instance still carries its label. */
export async function removeFirewall(s: GoogleSession, rule: string, fwProject: string, label = LABEL_FIREWALL): Promise<void> {
  const p = s.knownProject || fwProject
  // Our own instance is deleted (and waited for) before this runs: if it is still listed, its
  // delete failed and the rule must stay too.
  const users = await s.call(`list instances using firewall rule ${rule}`, (g) => g.listInstancesByLabel(p, label, rule))
  if (users.length) {
    s.log.info(`Keeping firewall rule ${rule}: still used by ${users.map((u) => u.instance.name).join(', ')}`)
    return
  }
  s.log.info(`Deleting firewall rule ${rule}`)
  try {
    await s.run(`delete firewall rule ${rule}`, (g) => g.deleteFirewall(fwProject, rule, randomUUID()), { project: fwProject })
  } catch (err) {
    if (!isMissing(err)) throw err
  }
}
