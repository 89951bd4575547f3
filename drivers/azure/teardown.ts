/**
 * `machine rm` and the rollback of a failed create: deletes what the journal lists, newest first
 * (the VM before its NIC, the NIC before its IP and NSG…). A missing resource counts as deleted; a
 * shared one still in use by others (availability set, subnet, network, resource group) is kept.
 * On a failure it stops, since what is left depends on the failed one, and names everything left.
 */
import type { DriverLogger, Journal, JournalEntry } from '../../src/driver-kit/contract.js'
import { MachineError, messageOf } from '../../src/driver-kit/errors.js'
import type { AzureClient, GroupResource } from './client.js'
import { hasCode, isApiError, isNotFound, toMachineError } from './errors.js'

/** What teardown needs of the driver. */
export interface TeardownContext {
  api: AzureClient
  log: DriverLogger
  /** The machine's id, tagged on what it made. */
  machineId: unknown
  /** MACHINE_OPERATION_TIMEOUT_MS, when set: also bounds the waits for in-use resources. */
  operationTimeoutMs?: number
  /** A pause between retries of a resource still in use. */
  pause(): Promise<void>
  /** Names for the hints of errors (toMachineError). */
  names: Parameters<typeof toMachineError>[2]
}

/** Journal kinds, in the order create makes them. */
const KIND_LABEL: Record<string, string> = {
  'resource-group': 'resource group',
  'network-security-group': 'network security group',
  'virtual-network': 'virtual network',
  subnet: 'subnet',
  'availability-set': 'availability set',
  'public-ip': 'public IP',
  'network-interface': 'network interface',
  'os-disk': 'OS disk',
  'virtual-machine': 'virtual machine',
}

/**
 * Errors that mean "a resource that depends on this one is still going away": retried. A NIC of a
 * VM whose creation failed stays reserved for 180 s (NicReservedForAnotherVm), for example.
 */
const IN_USE_CODES = [
  'NicReservedForAnotherVm',
  'NicInUse',
  'PublicIPAddressInUse',
  'InUseNetworkSecurityGroupCannotBeDeleted',
  'AnotherOperationInProgress',
  'RetryableError',
]
const IN_USE_WAIT_MS = 5 * 60_000

type Outcome = { result: 'deleted' | 'gone' } | { result: 'kept'; why: string }

export async function removeJournaled(t: TeardownContext, journal: Journal): Promise<void> {
  const pending = [...journal.entries()].reverse()
  for (let i = 0; i < pending.length; i++) {
    const e = pending[i]!
    const label = `${KIND_LABEL[e.kind] ?? e.kind} ${String(e.data?.name ?? e.data?.resourceGroup ?? e.id)}`
    let outcome: Outcome
    try {
      outcome = await removeOne(t, e)
    } catch (err) {
      // Later entries (made earlier) depend on this one: stop and say exactly what is left.
      const left = pending.slice(i)
      const mapped = toMachineError(err, `delete ${label}`, t.names)
      throw new MachineError(
        'cleanup-incomplete',
        `${messageOf(mapped)}; still in Azure: ${left.map((x) => `${KIND_LABEL[x.kind] ?? x.kind} ${String(x.data?.name ?? x.data?.resourceGroup ?? x.id)}`).join(', ')}`,
        {
          hint: `run \`machine rm\` again, or delete by hand: az resource delete --ids ${left
            .filter((x) => x.kind !== 'resource-group')
            .map((x) => x.id)
            .join(' ')}`,
          cause: err,
        },
      )
    }
    await journal.forget(e.kind, e.id)
    if (outcome.result === 'deleted') t.log.info(`Deleted ${label}`)
    else if (outcome.result === 'kept') t.log.info(`Kept ${label}: ${outcome.why}`)
    else t.log.debug(`${label} was already gone`)
  }
}

/** Delete one journaled resource; a missing one counts as deleted. */
async function removeOne(t: TeardownContext, e: JournalEntry): Promise<Outcome> {
  const api = t.api
  const rg = String(e.data?.resourceGroup ?? '')
  const name = String(e.data?.name ?? '')
  const gone = async (fn: () => Promise<void>): Promise<Outcome> => {
    try {
      await fn()
      return { result: 'deleted' }
    } catch (err) {
      if (isNotFound(err)) return { result: 'gone' }
      throw err
    }
  }
  switch (e.kind) {
    case 'virtual-machine':
      t.log.info(`Deleting virtual machine ${name}…`)
      return gone(() => api.deleteVm(rg, name))
    case 'os-disk':
      return gone(() => api.deleteDisk(rg, name))
    case 'network-interface':
      return gone(() => whileInUse(t, () => api.deleteNic(rg, name)))
    case 'public-ip':
      return gone(() => whileInUse(t, () => api.deletePublicIp(rg, name)))
    case 'network-security-group':
      return gone(() => whileInUse(t, () => api.deleteNsg(rg, name)))
    case 'availability-set': {
      const as = await api.getAvailabilitySet(rg, name)
      if (!as) return { result: 'gone' }
      if (as.vmCount > 0) return { result: 'kept', why: `${as.vmCount} other virtual machine(s) still use it` }
      return gone(() => api.deleteAvailabilitySet(rg, name))
    }
    case 'subnet': {
      const vnet = String(e.data?.vnet ?? '')
      const subnet = await api.getSubnet(rg, vnet, name)
      if (!subnet) return { result: 'gone' }
      if (subnet.inUse) return { result: 'kept', why: 'other resources still use it' }
      return unlessInUse(() => gone(() => api.deleteSubnet(rg, vnet, name)))
    }
    case 'virtual-network': {
      const vnet = await api.getVnet(rg, name)
      if (!vnet) return { result: 'gone' }
      const used = vnet.subnets.filter((x) => x.inUse).map((x) => x.name)
      if (used.length) return { result: 'kept', why: `subnet ${used.join(', ')} still in use by other resources` }
      return unlessInUse(() => gone(() => api.deleteVnet(rg, name)))
    }
    case 'resource-group': {
      const others = await remainingInGroup(t, rg)
      if (others === undefined) return { result: 'gone' }
      if (others.length) {
        const shown = others.slice(0, 3).map((r) => r.name).join(', ')
        return { result: 'kept', why: `it still holds ${others.length} other resource(s) (${shown}${others.length > 3 ? ', …' : ''})` }
      }
      t.log.info(`Deleting resource group ${rg}…`)
      return gone(() => api.deleteResourceGroup(rg))
    }
    default:
      // Not ours to interpret (written by a newer version?): leave it listed.
      throw new MachineError('cleanup-incomplete', `unknown journal entry ${e.kind} ${e.id}`)
  }
}

/**
 * Resources left in a group we made. Our own resources can show up for a few seconds after their
 * deletion finished (the listing lags): wait for those, but not for anyone else's.
 */
async function remainingInGroup(t: TeardownContext, rg: string): Promise<GroupResource[] | undefined> {
  const deadline = Date.now() + Math.min(IN_USE_WAIT_MS, t.operationTimeoutMs ?? IN_USE_WAIT_MS)
  for (;;) {
    const list = await t.api.listGroupResources(rg)
    if (list === undefined) return undefined
    const ours = list.filter((r) => r.tags['machine-id'] && r.tags['machine-id'] === t.machineId)
    if (ours.length === 0 || ours.length < list.length || Date.now() > deadline) return list
    await t.pause()
  }
}

/** Retry a deletion while Azure says a dependent resource is still being released. */
async function whileInUse(t: TeardownContext, fn: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + Math.min(IN_USE_WAIT_MS, t.operationTimeoutMs ?? IN_USE_WAIT_MS)
  for (;;) {
    try {
      return await fn()
    } catch (e) {
      if (!hasCode(e, ...IN_USE_CODES) || Date.now() > deadline) throw e
      t.log.debug(`Azure: ${isApiError(e) ? e.code : ''}; retrying`)
      await t.pause()
    }
  }
}

/** A subnet/network somebody else started using after our check is theirs now: keep it. */
async function unlessInUse(fn: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await fn()
  } catch (e) {
    if (hasCode(e, 'InUseSubnetCannotBeDeleted', 'InUseVirtualNetworkCannotBeDeleted', 'SubnetHasServiceEndpointWithInUseNetworkInterface')) {
      return { result: 'kept', why: 'other resources still use it' }
    }
    throw e
  }
}
