/**
 * Swarm mode's ports for an existing instance (`swarm init/join`, and --google-use-existing with
 * --swarm*): the network's swarm rule as create makes it (firewall.ts), and the instance carrying
 * its tag (what the rule allows from and to) and its label (what rm and leave count as its users).
 * Leaving takes both away, and the rule with them once no other instance carries the label.
 */
import { randomUUID } from 'node:crypto'
import type { Journal } from '../../src/driver-kit/contract.js'
import { LABEL_SWARM } from './config.js'
import { ensureSwarmFirewall, removeFirewall, swarmFirewallFor } from './firewall.js'
import type { GoogleSession } from './session.js'

const PORTS = '2377/tcp, 7946/tcp, 7946/udp, 4789/udp'

export async function openClusterPorts(s: GoogleSession, journal: Journal): Promise<void> {
  const signal = s.ctx.signal
  const p = await s.project()
  const swarm = swarmFirewallFor(s, p)
  if (!swarm) {
    s.log.info(`Swarm ports not opened: --google-swarm-ports is off for this machine; allow ${PORTS} between the swarm's instances yourself`)
    return
  }
  await ensureSwarmFirewall(s, journal, p, swarm.rule, signal)
  await markInstance(s, p, swarm.rule, true, signal)
}

export async function closeClusterPorts(s: GoogleSession, journal: Journal): Promise<void> {
  const e = journal.entries().find((x) => x.kind === 'firewall' && x.data?.label === LABEL_SWARM)
  if (!e) return
  const p = await s.project()
  await markInstance(s, p, e.id, false)
  // The same rule as rm's: deleted only when no instance carries its label any more.
  await removeFirewall(s, e.id, String(e.data?.project ?? p), LABEL_SWARM)
  await journal.forget(e.kind, e.id)
  delete s.c.SwarmFirewallRule
}

/** Put the swarm rule's tag and label on the instance (`on`), or take them off; only what differs is sent. */
export async function markInstance(s: GoogleSession, p: string, rule: string, on: boolean, signal?: AbortSignal): Promise<void> {
  const { name } = s
  const z = s.zone
  const where = { project: p, zone: z }
  const inst = await s.find(`read instance ${name}`, (g) => g.getInstance(p, z, name), signal)
  if (!inst) return
  const tags = inst.tags?.items ?? []
  if (tags.includes(rule) !== on) {
    const items = on ? [...tags, rule] : tags.filter((t) => t !== rule)
    await s.run(`${on ? 'tag' : 'untag'} instance ${name}`, (g) => g.setTags(p, z, name, items, String(inst.tags?.fingerprint ?? ''), randomUUID()), where, signal)
  }
  const labels = { ...(inst.labels ?? {}) }
  if ((labels[LABEL_SWARM] === rule) !== on) {
    if (on) labels[LABEL_SWARM] = rule
    else delete labels[LABEL_SWARM]
    await s.run(`${on ? 'label' : 'unlabel'} instance ${name}`, (g) => g.setLabels(p, z, name, labels, String(inst.labelFingerprint ?? ''), randomUUID()), where, signal)
  }
}
