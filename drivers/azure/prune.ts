/**
 * `machine prune`'s view of a subscription: the resource groups and resources carrying the
 * `managed-by: machine` tag every create puts on what it makes (driver.ts tags), as the journal
 * entries create records, so teardown.ts deletes them as `rm` does (the VM before its disk, NIC,
 * IP and security group; a network or group still used by others kept).
 */
import type { PruneScope, TaggedResource } from '../../src/driver-kit/contract.js'
import { STORE_TAG } from '../../src/driver-kit/store-marker.js'
import { pollIntervalMs } from '../../src/driver-kit/wait.js'
import { connect, type TaggedArmResource } from './client.js'
import { azureEnvironment } from './environments.js'
import { toMachineError } from './errors.js'
import type { options } from './options.js'

/** ARM types → the driver's journal kinds, in the order create makes them. */
const KINDS: ReadonlyArray<readonly [string, string]> = [
  ['Microsoft.Resources/resourceGroups', 'resource-group'],
  ['Microsoft.Network/networkSecurityGroups', 'network-security-group'],
  ['Microsoft.Network/virtualNetworks', 'virtual-network'],
  ['Microsoft.Compute/availabilitySets', 'availability-set'],
  ['Microsoft.Network/publicIPAddresses', 'public-ip'],
  ['Microsoft.Network/networkInterfaces', 'network-interface'],
  ['Microsoft.Compute/disks', 'os-disk'],
  ['Microsoft.Compute/virtualMachines', 'virtual-machine'],
]
/** The resource types listed (groups are listed on their own). */
const RESOURCE_TYPES = KINDS.slice(1).map(([t]) => t)
/** What several machines may use (teardown.ts keeps them while they do). */
const SHARED = new Set(['resource-group', 'virtual-network', 'availability-set'])
const order = (type: string) => KINDS.findIndex(([t]) => t.toLowerCase() === type.toLowerCase())

/** The resource group an ARM id names (ARM ids are case-insensitive in their fixed parts). */
const groupOf = (id: string): string => /\/resourcegroups\/([^/]+)/i.exec(id)?.[1] ?? ''

export async function listResources(scope: PruneScope<typeof options>): Promise<TaggedResource[]> {
  const o = scope.options
  const api = connect({
    subscriptionId: o.subscriptionId,
    environment: azureEnvironment(o.environment),
    clientId: o.clientId,
    clientSecret: o.clientSecret,
    tenantId: o.tenantId,
    pollIntervalMs: pollIntervalMs(scope.env, 1000),
    log: scope.log,
    signal: () => scope.signal,
  })
  let found: TaggedArmResource[]
  try {
    found = await api.listTagged('managed-by', 'machine', RESOURCE_TYPES)
  } catch (e) {
    throw toMachineError(e, `list the resources of subscription ${o.subscriptionId} tagged managed-by=machine`, { resourceGroup: o.resourceGroup, size: o.size, location: o.location, subscriptionId: o.subscriptionId })
  }
  const known = found.filter((r) => order(r.type) >= 0).sort((a, b) => order(a.type) - order(b.type))
  return known.map((r): TaggedResource => {
    const kind = KINDS[order(r.type)]![1]
    const rg = kind === 'resource-group' ? r.name : groupOf(r.id)
    return {
      kind,
      name: kind === 'resource-group' ? r.name : `${rg}/${r.name}`,
      machineId: r.tags['machine-id'] ?? '',
      machineName: r.tags['machine-name'] ?? '',
      store: r.tags[STORE_TAG] ?? '',
      region: r.location,
      ...(r.createdTime ? { createdAt: r.createdTime.toISOString() } : {}),
      ...(SHARED.has(kind) ? { shared: true } : {}),
      entry: { kind, id: r.id, data: kind === 'resource-group' ? { resourceGroup: rg } : { resourceGroup: rg, name: r.name } },
    }
  })
}
