/**
 * `machine prune`'s view of a project: the instances and unattached disks in every zone carrying
 * the machine-id label every create puts on them (create.ts), with the firewall rules their
 * labels name, as the journal entries create records, so remove.ts deletes them as `rm` does
 * (a rule another instance still carries the label of is kept).
 */
import type { JournalEntry, PruneScope, TaggedResource } from '../../src/driver-kit/contract.js'
import { STORE_TAG } from '../../src/driver-kit/store-marker.js'
import { INSTANCE_DESCRIPTION, LABEL_FIREWALL, LABEL_ID, LABEL_NAME, LABEL_SWARM, networkProject } from './config.js'
import type { options } from './options.js'
import { GoogleSession } from './session.js'

export async function listResources(scope: PruneScope<typeof options>): Promise<TaggedResource[]> {
  const s = new GoogleSession({ machineName: '', storePath: '', machineDir: '', config: {}, options: scope.options, log: scope.log, signal: scope.signal, env: scope.env })
  const p = await s.project()
  const fwProject = networkProject(scope.options.network, p)
  const found = await s.call(`list labelled instances and disks of project ${p}`, (g) => g.listLabelled(p, LABEL_ID), scope.signal)
  const out: TaggedResource[] = []
  const row = (kind: string, name: string, labels: Record<string, string> | null | undefined, region: string, createdAt: string | null | undefined, entry: JournalEntry): TaggedResource => ({
    kind,
    name,
    machineId: labels?.[LABEL_ID] ?? '',
    machineName: labels?.[LABEL_NAME] ?? '',
    store: labels?.[STORE_TAG] ?? '',
    region,
    ...(createdAt ? { createdAt: new Date(createdAt).toISOString() } : {}),
    entry,
  })
  for (const { zone, disk } of found.disks) {
    // An attached disk goes with its instance (autoDelete) or belongs to whoever uses it.
    if (disk.users?.length) continue
    const machineId = disk.labels?.[LABEL_ID] ?? ''
    out.push(row('disk', String(disk.name), disk.labels, zone, disk.creationTimestamp, { kind: 'disk', id: String(disk.name), data: { project: p, zone, machineId } }))
  }
  for (const { zone, instance } of found.instances) {
    // An instance adopted with --google-use-existing carries our labels but is the user's own:
    // only `rm` of its machine may release it, and nothing ever deletes it.
    if (instance.description !== INSTANCE_DESCRIPTION) continue
    const labels = instance.labels ?? {}
    const machineId = labels[LABEL_ID] ?? ''
    // Creation order: the rules the instance's labels name, then the instance.
    for (const label of [LABEL_FIREWALL, LABEL_SWARM]) {
      const rule = labels[label]
      if (rule) out.push({ ...row('firewall', rule, labels, 'global', undefined, { kind: 'firewall', id: rule, data: { project: fwProject, label } }), shared: true })
    }
    out.push(row('instance', String(instance.name), labels, zone, instance.creationTimestamp, { kind: 'instance', id: String(instance.name), data: { project: p, zone, id: String(instance.id), machineId } }))
  }
  return out
}
