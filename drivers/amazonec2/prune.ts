/**
 * `machine prune`'s view of a region: what carries the machine-id tag every create puts on its
 * instance, security group and key pair (driver.ts tags()), as the journal entries create records
 * for them, so the driver's own remove (teardown.ts) deletes them. Volumes and network interfaces
 * go with their instance (DeleteOnTermination) and are not listed.
 */
import type { PruneScope, TaggedResource } from '../../src/driver-kit/contract.js'
import { STORE_TAG } from '../../src/driver-kit/store-marker.js'
import { Ec2, type Tag } from './client.js'
import type { options } from './options.js'

const MARKER = 'machine-id'
const tagged = [{ Name: 'tag-key', Values: [MARKER] }]
const tagOf = (tags: Tag[] | undefined, key: string): string => tags?.find((t) => t.Key === key)?.Value ?? ''

export async function listResources(scope: PruneScope<typeof options>): Promise<TaggedResource[]> {
  const o = scope.options
  const api = new Ec2({ options: o, retryBaseMs: 250, signal: () => scope.signal })
  const region = o.region
  const [instances, groups, keys] = await Promise.all([
    // Terminated instances linger in the listing for an hour and cost nothing.
    api.describeAllInstances([...tagged, { Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] }]),
    api.describeAllSecurityGroups(tagged),
    api.describeKeyPairs(tagged),
  ])
  const out: TaggedResource[] = []
  // Creation order, as create journals them: security group, key pair, instance.
  for (const g of groups) {
    const machineId = tagOf(g.Tags, MARKER)
    out.push({
      kind: 'security-group',
      name: `${g.GroupName ?? ''} (${g.GroupId ?? ''})`,
      machineId,
      machineName: tagOf(g.Tags, 'Name'),
      store: tagOf(g.Tags, STORE_TAG),
      region,
      // The default group (docker-machine) serves every machine of the VPC: kept while one uses it.
      shared: true,
      entry: { kind: 'security-group', id: g.GroupName ?? '', data: { groupId: g.GroupId, vpcId: g.VpcId, machineId } },
    })
  }
  for (const k of keys) {
    const machineId = tagOf(k.Tags, MARKER)
    out.push({ kind: 'key-pair', name: k.KeyName ?? '', machineId, machineName: tagOf(k.Tags, 'Name'), store: tagOf(k.Tags, STORE_TAG), region, createdAt: k.CreateTime?.toISOString(), entry: { kind: 'key-pair', id: k.KeyName ?? '', data: { machineId } } })
  }
  for (const i of instances) {
    const machineId = tagOf(i.Tags, MARKER)
    out.push({
      kind: 'instance',
      name: i.InstanceId ?? '',
      machineId,
      machineName: tagOf(i.Tags, 'Name'),
      store: tagOf(i.Tags, STORE_TAG),
      region: i.Placement?.AvailabilityZone ?? region,
      createdAt: i.LaunchTime?.toISOString(),
      entry: { kind: 'instance', id: i.InstanceId ?? '', data: { machineId, region } },
    })
  }
  return out
}
