/**
 * remove: what the journal lists, newest first (the instance, its boot disk, the firewall rule
 * unless another machine still uses it, or --google-use-existing's changes), then what the saved
 * config still names. Only what this machine made is deleted; what fails is named with the gcloud
 * command that deletes it by hand.
 */
import { randomUUID } from 'node:crypto'
import type { Journal, JournalEntry } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { LABEL_FIREWALL, LABEL_ID, LABEL_SWARM, networkProject } from './config.js'
import { markInstance } from './cluster-ports.js'
import { releaseExisting } from './existing.js'
import { removeFirewall } from './firewall.js'
import { isMissing, type GoogleSession } from './session.js'

export async function remove(s: GoogleSession, journal: Journal): Promise<void> {
  const { c, name } = s
  // Not ctx.signal: remove is also the rollback after Ctrl-C, when that signal has fired.
  const failed: Array<{ e: JournalEntry; err: unknown }> = []
  const handled = new Set<string>()
  const run = async (e: JournalEntry, fn: () => Promise<void>, forget: boolean) => {
    handled.add(`${e.kind}:${e.id}`)
    try {
      await fn()
      if (forget) await journal.forget(e.kind, e.id)
    } catch (err) {
      failed.push({ e, err })
    }
  }
  for (const e of [...journal.entries()].reverse()) {
    if (e.kind === 'instance') await run(e, () => removeInstance(s, e), true)
    else if (e.kind === 'disk') await run(e, () => removeDisk(s, e), true)
    else if (e.kind === 'instance-config') await run(e, () => releaseExisting(s, e), true)
    else if (e.kind === 'firewall') {
      const label = String(e.data?.label ?? LABEL_FIREWALL)
      await run(
        e,
        async () => {
          // An adopted instance stays: it no longer counts as a user of the swarm rule (the
          // usual rule's tag and label go with releaseExisting, next).
          if (s.o.useExisting && label === LABEL_SWARM) await markInstance(s, s.knownProject, e.id, false)
          await removeFirewall(s, e.id, String(e.data?.project ?? s.knownProject), label)
        },
        true,
      )
    }
  }
  // A journal lost or from an older store: the saved config still names the instance (by its
  // unique id, so a namesake is never deleted) and the rule.
  const p = s.knownProject
  if (c.InstanceId && !s.o.useExisting && !handled.has(`instance:${name}`)) {
    const e: JournalEntry = { kind: 'instance', id: name, data: { project: p, zone: s.zone, id: c.InstanceId } }
    await run(e, () => removeInstance(s, e), false)
  }
  for (const [key, label] of [['FirewallRule', LABEL_FIREWALL], ['SwarmFirewallRule', LABEL_SWARM]] as const) {
    const rule = typeof c[key] === 'string' ? c[key] : ''
    if (!rule || handled.has(`firewall:${rule}`)) continue
    const fw: JournalEntry = { kind: 'firewall', id: rule, data: { project: networkProject(s.o.network, p) } }
    await run(fw, () => removeFirewall(s, fw.id, String(fw.data?.project), label), false)
  }
  if (failed.length) {
    const what = failed.map((f) => `${f.e.kind} ${f.e.id} (${(f.err as Error).message})`).join('; ')
    throw new MachineError('google-remove-incomplete', `Could not delete ${what}`, {
      hint: `retry "machine rm", or delete by hand: ${failed.map((f) => manualHint(s, f.e)).join(' && ')}`,
    })
  }
  // Gone: a second remove has nothing to look for.
  delete c.InstanceId
  delete c.FirewallRule
  delete c.SwarmFirewallRule
}

/** Delete the instance if it is the one this machine made (same id, or our machine-id label). */
async function removeInstance(s: GoogleSession, e: JournalEntry): Promise<void> {
  const { p, z } = s.scopeOf(e)
  const inst = await s.find(`read instance ${e.id}`, (g) => g.getInstance(p, z, e.id))
  if (!inst) return
  const wantId = e.data?.id ?? s.c.InstanceId
  const ours = wantId ? String(inst.id) === String(wantId) : inst.labels?.[LABEL_ID] === String(e.data?.machineId ?? s.c.MachineId)
  if (!ours) {
    s.log.info(`Instance ${e.id} in ${z} was not made by this machine; left alone`)
    return
  }
  s.log.info(`Deleting instance ${e.id}`)
  try {
    await s.run(`delete instance ${e.id}`, (g) => g.deleteInstance(p, z, e.id, randomUUID()), { project: p, zone: z })
  } catch (err) {
    if (!isMissing(err)) throw err
  }
}

/** The boot disk goes with the instance (autoDelete); this catches one left behind. */
async function removeDisk(s: GoogleSession, e: JournalEntry): Promise<void> {
  const { p, z } = s.scopeOf(e)
  const disk = await s.find(`read disk ${e.id}`, (g) => g.getDisk(p, z, e.id))
  if (!disk) return
  if (disk.labels?.[LABEL_ID] !== String(e.data?.machineId ?? s.c.MachineId)) {
    s.log.info(`Disk ${e.id} in ${z} was not made by this machine; left alone`)
    return
  }
  if (disk.users?.length) {
    throw new MachineError('google-disk-in-use', `Disk ${e.id} is still attached to ${disk.users.join(', ')}`)
  }
  s.log.info(`Deleting disk ${e.id}`)
  try {
    await s.run(`delete disk ${e.id}`, (g) => g.deleteDisk(p, z, e.id, randomUUID()), { project: p, zone: z })
  } catch (err) {
    if (!isMissing(err)) throw err
  }
}

/** The gcloud command that deletes what rm could not. */
function manualHint(s: GoogleSession, e: JournalEntry): string {
  const { p, z } = s.scopeOf(e)
  switch (e.kind) {
    case 'instance':
      return `gcloud compute instances delete ${e.id} --zone ${z} --project ${p}`
    case 'disk':
      return `gcloud compute disks delete ${e.id} --zone ${z} --project ${p}`
    case 'firewall':
      return `gcloud compute firewall-rules delete ${e.id} --project ${p}`
    default:
      return `remove the tag, ssh key and machine-* labels from instance ${e.id} (zone ${z}, project ${p})`
  }
}
