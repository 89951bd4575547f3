/**
 * The azure driver's lifecycle: create makes (in order) the resource group if missing, a network
 * security group, the virtual network/subnet if missing, an availability set if asked for and
 * missing, a public IP, a network interface and the VM; each is journaled before it is made and
 * tagged with the machine's name and id, and rm deletes exactly what the journal lists.
 */
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Driver, DriverContext, Journal, JournalEntry, MachineState, SshInfo } from '../../src/driver-kit/contract.js'
import { ensureMachineSshKey, generateHostKey } from '../../src/driver-kit/keys.js'
import { savedSshInfo } from '../../src/driver-kit/ssh-info.js'
import { MachineError, messageOf } from '../../src/driver-kit/errors.js'
import { connect, type AzureClient, type GroupResource, type SecurityRuleSpec, type VnetInfo } from './client.js'
import { buildCustomData } from './custom-data.js'
import { hasCode, isApiError, isNotFound, toMachineError } from './errors.js'
import { cidrContains, normalizeLocation, parseCidr } from './options.js'
import { ids, readSettings, type AzureSettings } from './settings.js'

export function createDriver(ctx: DriverContext): Driver {
  return new AzureDriver(ctx)
}

/** What exists before create: decides what create makes and what it must not touch. */
interface Inspection {
  groupExists: boolean
  vnet?: VnetInfo
  availabilitySet?: { id: string; vmCount: number }
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

const ARM_TYPES: Record<keyof AzureSettings['names'], string> = {
  vm: 'microsoft.compute/virtualmachines',
  nsg: 'microsoft.network/networksecuritygroups',
  nic: 'microsoft.network/networkinterfaces',
  publicIp: 'microsoft.network/publicipaddresses',
  osDisk: 'microsoft.compute/disks',
}

type Outcome = { result: 'deleted' | 'gone' } | { result: 'kept'; why: string }

class AzureDriver implements Driver {
  private cachedSettings?: AzureSettings
  private cachedClient?: AzureClient
  private inspection?: Inspection
  /** Replaces ctx.signal while a rollback runs after ctx.signal was already aborted (Ctrl-C). */
  private cleanupSignal?: AbortSignal

  constructor(private readonly ctx: DriverContext) {}

  private get signal(): AbortSignal {
    return this.cleanupSignal ?? this.ctx.signal
  }

  private get s(): AzureSettings {
    this.cachedSettings ??= readSettings(this.ctx)
    return this.cachedSettings
  }

  private get api(): AzureClient {
    this.cachedClient ??= connect({
      subscriptionId: this.s.subscriptionId,
      environment: this.s.environment,
      clientId: this.s.clientId,
      clientSecret: this.s.clientSecret,
      tenantId: this.s.tenantId,
      pollIntervalMs: this.s.pollIntervalMs,
      operationTimeoutMs: this.s.operationTimeoutMs,
      log: this.ctx.log,
      signal: () => this.signal,
    })
    return this.cachedClient
  }

  /** Run one Azure step; whatever fails leaves as a one-line MachineError naming the step. */
  private async step<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (e) {
      throw toMachineError(e, what, this.s)
    }
  }

  private get tags(): Record<string, string> {
    return {
      'machine-name': this.ctx.machineName,
      'machine-id': String(this.ctx.config.MachineId ?? ''),
      'managed-by': 'machine',
    }
  }

  // ---- create ---------------------------------------------------------------------------------

  async preCreateCheck(): Promise<void> {
    const s = this.s
    if (s.noPublicIp && s.dnsLabel) {
      throw new MachineError('invalid-option', '--azure-dns needs a public IP, but --azure-no-public-ip is set')
    }
    if (s.noPublicIp && s.staticPublicIp) {
      throw new MachineError('invalid-option', '--azure-static-public-ip and --azure-no-public-ip cannot be used together')
    }
    if (s.customDataFile) await this.readCustomData()
    this.inspection = await this.inspect()
  }

  private async readCustomData(): Promise<string | undefined> {
    const file = this.s.customDataFile
    if (!file) return undefined
    try {
      return await readFile(file, 'utf8')
    } catch (e) {
      throw new MachineError('invalid-option', `--azure-custom-data: cannot read ${file}: ${messageOf(e)}`)
    }
  }

  /**
   * One look at the resource group (this also proves the credentials work), the virtual network
   * and the availability set, before anything is made. Refuses to go on when a resource of ours
   * already exists: a PUT would silently overwrite somebody's NSG rules or NIC.
   */
  private async inspect(): Promise<Inspection> {
    const s = this.s
    const api = this.api
    const resources = await this.step(`read resource group ${s.resourceGroup}`, () => api.listGroupResources(s.resourceGroup))
    const groupExists = resources !== undefined
    if (resources) this.refuseConflicts(resources)

    let vnet: VnetInfo | undefined
    if (s.vnetResourceGroup !== s.resourceGroup || groupExists) {
      vnet = await this.step(`read virtual network ${s.vnet}`, () => api.getVnet(s.vnetResourceGroup, s.vnet))
      if (!vnet && s.vnetResourceGroup !== s.resourceGroup) {
        throw new MachineError('not-found', `virtual network ${s.vnet} not found in resource group ${s.vnetResourceGroup}`, {
          hint: 'a virtual network in another resource group must exist already; check --azure-vnet [resource-group:]name',
        })
      }
    }
    let subnetPrefix = s.subnetPrefix
    if (vnet) {
      if (normalizeLocation(vnet.location) !== s.location) {
        throw new MachineError(
          'invalid-option',
          `virtual network ${s.vnet} is in ${vnet.location}, but the machine would be in ${s.location}`,
          { hint: `pass --azure-location ${normalizeLocation(vnet.location)}, or another --azure-vnet` },
        )
      }
      const subnet = vnet.subnets.find((x) => x.name === s.subnet)
      if (subnet?.addressPrefix) subnetPrefix = subnet.addressPrefix
      else if (!subnet && !vnet.addressPrefixes.some((outer) => cidrWithin(s.subnetPrefix, outer))) {
        throw new MachineError(
          'invalid-option',
          `--azure-subnet-prefix ${s.subnetPrefix} is outside virtual network ${s.vnet} (${vnet.addressPrefixes.join(', ')})`,
          { hint: `pass an --azure-subnet-prefix inside ${vnet.addressPrefixes[0] ?? 'its address space'}` },
        )
      }
    }
    if (s.privateIpAddress && !cidrContains(subnetPrefix, s.privateIpAddress)) {
      throw new MachineError('invalid-option', `--azure-private-ip-address ${s.privateIpAddress} is not in subnet ${s.subnet} (${subnetPrefix})`)
    }
    const availabilitySet =
      s.availabilitySet && groupExists
        ? await this.step(`read availability set ${s.availabilitySet}`, () => api.getAvailabilitySet(s.resourceGroup, s.availabilitySet!))
        : undefined
    return { groupExists, vnet, availabilitySet }
  }

  private refuseConflicts(resources: GroupResource[]): void {
    const s = this.s
    for (const [key, type] of Object.entries(ARM_TYPES) as [keyof AzureSettings['names'], string][]) {
      const name = s.names[key]
      const hit = resources.find((r) => r.type.toLowerCase() === type && r.name.toLowerCase() === name.toLowerCase())
      if (hit) {
        throw new MachineError('already-exists', `${hit.type} ${hit.name} already exists in resource group ${s.resourceGroup}`, {
          hint: `choose another machine name or --azure-resource-group; if it is left from an earlier machine, delete it with \`az resource delete --ids ${hit.id}\``,
        })
      }
    }
  }

  private securityRules(): SecurityRuleSpec[] {
    const s = this.s
    const rules: SecurityRuleSpec[] = [
      { name: 'SSHAllowAny', priority: 300, protocol: 'Tcp', ports: '22', description: 'SSH for machine' },
      { name: 'DockerAllowAny', priority: 301, protocol: 'Tcp', ports: String(s.dockerPort), description: 'Docker engine (TLS)' },
    ]
    // A (legacy) swarm master also serves the swarm manager's TLS port, as with docker-machine.
    if (this.ctx.config.SwarmMaster === true) {
      rules.push({ name: 'DockerSwarmAllowAny', priority: 302, protocol: 'Tcp', ports: '3376', description: 'Docker swarm master (TLS)' })
    }
    let priority = 1000
    for (const p of s.openPorts) {
      const dup = rules.some((r) => r.ports === p.ports && (r.protocol === p.protocol || r.protocol === '*'))
      if (dup) continue
      const proto = p.protocol === '*' ? 'Any' : p.protocol
      rules.push({ name: `Port${p.ports}-${proto}AllowAny`, priority: priority++, protocol: p.protocol, ports: p.ports, description: 'Opened with --azure-open-port' })
    }
    return rules
  }

  async create(journal: Journal): Promise<void> {
    const s = this.s
    const ctx = this.ctx
    const api = this.api
    const sub = s.subscriptionId
    const rg = s.resourceGroup
    const n = s.names
    const insp = this.inspection ?? (await this.inspect())
    this.inspection = undefined

    ctx.config.MachineId ??= randomUUID()
    const tags = this.tags
    const base = { location: s.location, tags }
    const record = (kind: string, id: string, data: Record<string, unknown>) => journal.record({ kind, id, data })

    // Keys first: nothing exists in Azure yet if this fails.
    const key = await ensureMachineSshKey(ctx.machineDir, `${ctx.machineName}@machine`)
    const hostKey = await generateHostKey(`${ctx.machineName}-host-key`)
    const customData = buildCustomData(
      { user: s.sshUser, authorizedKey: key.publicKey, hostname: ctx.machineName, hostKey },
      await this.readCustomData(),
    )
    ctx.config.SSHUser = s.sshUser
    ctx.config.SSHPort = 22
    ctx.config.SSHKeyPath = key.path
    ctx.config.SSHHostKeys = [hostKey.publicKey]

    if (!insp.groupExists) {
      await record('resource-group', ids.group(sub, rg), { resourceGroup: rg })
      ctx.log.info(`Creating resource group ${rg} in ${s.location}…`)
      await this.step(`create resource group ${rg}`, () => api.createResourceGroup(rg, s.location, tags))
    }

    const rules = this.securityRules()
    await record('network-security-group', ids.network(sub, rg, 'networkSecurityGroups', n.nsg), { resourceGroup: rg, name: n.nsg })
    ctx.log.info(`Creating network security group ${n.nsg} (inbound ${rules.map((r) => `${r.ports}/${r.protocol.toLowerCase()}`).join(', ')})…`)
    const nsg = await this.step(`create network security group ${n.nsg}`, () => api.createNsg(rg, n.nsg, { ...base, rules }))

    let subnetId: string
    const vrg = s.vnetResourceGroup
    const existingSubnet = insp.vnet?.subnets.find((x) => x.name === s.subnet)
    if (!insp.vnet) {
      await record('virtual-network', ids.network(sub, vrg, 'virtualNetworks', s.vnet), { resourceGroup: vrg, name: s.vnet })
      ctx.log.info(`Creating virtual network ${s.vnet} (${s.subnetPrefix})…`)
      const made = await this.step(`create virtual network ${s.vnet}`, () =>
        api.createVnet(vrg, s.vnet, { ...base, addressPrefix: s.subnetPrefix, subnet: s.subnet, subnetPrefix: s.subnetPrefix }),
      )
      subnetId = made.subnetId
    } else if (existingSubnet) {
      subnetId = existingSubnet.id
    } else {
      const id = `${ids.network(sub, vrg, 'virtualNetworks', s.vnet)}/subnets/${s.subnet}`
      await record('subnet', id, { resourceGroup: vrg, vnet: s.vnet, name: s.subnet })
      ctx.log.info(`Creating subnet ${s.subnet} (${s.subnetPrefix}) in ${s.vnet}…`)
      subnetId = (await this.step(`create subnet ${s.subnet}`, () => api.createSubnet(vrg, s.vnet, s.subnet, s.subnetPrefix))).id || id
    }

    let availabilitySetId: string | undefined
    if (s.availabilitySet) {
      const as = s.availabilitySet
      if (insp.availabilitySet) availabilitySetId = insp.availabilitySet.id
      else {
        await record('availability-set', ids.compute(sub, rg, 'availabilitySets', as), { resourceGroup: rg, name: as })
        ctx.log.info(`Creating availability set ${as}…`)
        availabilitySetId = (await this.step(`create availability set ${as}`, () => api.createAvailabilitySet(rg, as, base))).id
      }
    }

    let publicIp: { id: string; ipAddress?: string; fqdn?: string } | undefined
    if (!s.noPublicIp) {
      await record('public-ip', ids.network(sub, rg, 'publicIPAddresses', n.publicIp), { resourceGroup: rg, name: n.publicIp })
      ctx.log.info(`Creating public IP ${n.publicIp}${s.dnsLabel ? ` (${s.dnsLabel}.${s.location}.cloudapp…)` : ''}…`)
      publicIp = await this.step(`create public IP ${n.publicIp}`, () => api.createPublicIp(rg, n.publicIp, { ...base, dnsLabel: s.dnsLabel }))
    }

    await record('network-interface', ids.network(sub, rg, 'networkInterfaces', n.nic), { resourceGroup: rg, name: n.nic })
    ctx.log.info(`Creating network interface ${n.nic}…`)
    const nic = await this.step(`create network interface ${n.nic}`, () =>
      api.createNic(rg, n.nic, { ...base, subnetId, nsgId: nsg.id, publicIpId: publicIp?.id, privateIpAddress: s.privateIpAddress }),
    )

    // The VM makes its OS disk: both are journaled before the one request that creates them.
    await record('os-disk', ids.compute(sub, rg, 'disks', n.osDisk), { resourceGroup: rg, name: n.osDisk })
    await record('virtual-machine', ids.compute(sub, rg, 'virtualMachines', n.vm), { resourceGroup: rg, name: n.vm })
    ctx.log.info(`Creating virtual machine ${n.vm} (${s.size}, ${s.imageText}); this takes a minute or two…`)
    const vm = await this.step(`create virtual machine ${n.vm}`, () =>
      api.createVm(rg, n.vm, {
        ...base,
        size: s.size,
        image: s.image,
        osDiskName: n.osDisk,
        storageType: s.storageType,
        diskSizeGb: s.diskSizeGb,
        computerName: ctx.machineName,
        adminUsername: s.sshUser,
        sshPublicKey: key.publicKey,
        customData,
        nicId: nic.id,
        availabilitySetId,
      }),
    )
    ctx.config.VMId = vm.vmId ?? ''

    const privateIp = nic.privateIpAddress ?? (await this.step(`read network interface ${n.nic}`, () => api.getNic(rg, n.nic))).privateIpAddress
    let address = privateIp
    if (!s.usePrivateIp && publicIp) {
      address = publicIp.ipAddress ?? (await this.step(`read public IP ${n.publicIp}`, () => api.getPublicIp(rg, n.publicIp))).ipAddress
    }
    if (!address) throw new MachineError('no-ip', `Azure assigned no ${s.usePrivateIp ? 'private' : 'public'} IP address to ${n.vm}`)
    ctx.config.IPAddress = address
    if (privateIp) ctx.config.PrivateIPAddress = privateIp
    if (publicIp?.fqdn) ctx.config.FQDN = publicIp.fqdn
    ctx.log.info(`Virtual machine ${n.vm} is up at ${address}${publicIp?.fqdn ? ` (${publicIp.fqdn})` : ''}`)
  }

  // ---- remove ---------------------------------------------------------------------------------

  async remove(journal: Journal): Promise<void> {
    // Rolling back after Ctrl-C: ctx.signal is already aborted, yet the cleanup must still run
    // (each step stays bounded by its own deadline).
    if (this.ctx.signal.aborted) this.cleanupSignal = new AbortController().signal
    try {
      await this.removeAll(journal)
    } finally {
      this.cleanupSignal = undefined
    }
  }

  private async removeAll(journal: Journal): Promise<void> {
    const pending = [...journal.entries()].reverse()
    for (let i = 0; i < pending.length; i++) {
      const e = pending[i]!
      const label = `${KIND_LABEL[e.kind] ?? e.kind} ${String(e.data?.name ?? e.data?.resourceGroup ?? e.id)}`
      let outcome: Outcome
      try {
        outcome = await this.removeOne(e)
      } catch (err) {
        // Later entries (made earlier) depend on this one: stop and say exactly what is left.
        const left = pending.slice(i)
        const mapped = toMachineError(err, `delete ${label}`, this.s)
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
      if (outcome.result === 'deleted') this.ctx.log.info(`Deleted ${label}`)
      else if (outcome.result === 'kept') this.ctx.log.info(`Kept ${label}: ${outcome.why}`)
      else this.ctx.log.debug(`${label} was already gone`)
    }
  }

  /** Delete one journaled resource; a missing one counts as deleted. */
  private async removeOne(e: JournalEntry): Promise<Outcome> {
    const api = this.api
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
        this.ctx.log.info(`Deleting virtual machine ${name}…`)
        return gone(() => api.deleteVm(rg, name))
      case 'os-disk':
        return gone(() => api.deleteDisk(rg, name))
      case 'network-interface':
        return gone(() => this.whileInUse(() => api.deleteNic(rg, name)))
      case 'public-ip':
        return gone(() => this.whileInUse(() => api.deletePublicIp(rg, name)))
      case 'network-security-group':
        return gone(() => this.whileInUse(() => api.deleteNsg(rg, name)))
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
        return this.unlessInUse(() => gone(() => api.deleteSubnet(rg, vnet, name)))
      }
      case 'virtual-network': {
        const vnet = await api.getVnet(rg, name)
        if (!vnet) return { result: 'gone' }
        const used = vnet.subnets.filter((x) => x.inUse).map((x) => x.name)
        if (used.length) return { result: 'kept', why: `subnet ${used.join(', ')} still in use by other resources` }
        return this.unlessInUse(() => gone(() => api.deleteVnet(rg, name)))
      }
      case 'resource-group': {
        const others = await this.remainingInGroup(rg)
        if (others === undefined) return { result: 'gone' }
        if (others.length) {
          const shown = others.slice(0, 3).map((r) => r.name).join(', ')
          return { result: 'kept', why: `it still holds ${others.length} other resource(s) (${shown}${others.length > 3 ? ', …' : ''})` }
        }
        this.ctx.log.info(`Deleting resource group ${rg}…`)
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
  private async remainingInGroup(rg: string): Promise<GroupResource[] | undefined> {
    const deadline = Date.now() + Math.min(IN_USE_WAIT_MS, this.s.operationTimeoutMs ?? IN_USE_WAIT_MS)
    for (;;) {
      const list = await this.api.listGroupResources(rg)
      if (list === undefined) return undefined
      const ours = list.filter((r) => r.tags['machine-id'] && r.tags['machine-id'] === this.ctx.config.MachineId)
      if (ours.length === 0 || ours.length < list.length || Date.now() > deadline) return list
      await this.pause()
    }
  }

  /** Retry a deletion while Azure says a dependent resource is still being released. */
  private async whileInUse(fn: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + Math.min(IN_USE_WAIT_MS, this.s.operationTimeoutMs ?? IN_USE_WAIT_MS)
    for (;;) {
      try {
        return await fn()
      } catch (e) {
        if (!hasCode(e, ...IN_USE_CODES) || Date.now() > deadline) throw e
        this.ctx.log.debug(`Azure: ${isApiError(e) ? e.code : ''}; retrying`)
        await this.pause()
      }
    }
  }

  /** A subnet/network somebody else started using after our check is theirs now: keep it. */
  private async unlessInUse(fn: () => Promise<Outcome>): Promise<Outcome> {
    try {
      return await fn()
    } catch (e) {
      if (hasCode(e, 'InUseSubnetCannotBeDeleted', 'InUseVirtualNetworkCannotBeDeleted', 'SubnetHasServiceEndpointWithInUseNetworkInterface')) {
        return { result: 'kept', why: 'other resources still use it' }
      }
      throw e
    }
  }

  private pause(): Promise<void> {
    // A few poll intervals (15 s by default): in-use conditions clear in tens of seconds.
    const ms = Math.min(15_000, this.s.pollIntervalMs * 5)
    return new Promise((resolve, reject) => {
      const signal = this.signal
      if (signal.aborted) return reject(signal.reason)
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      const onAbort = () => {
        clearTimeout(t)
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** A lifecycle call on a VM that is gone gets one clear line instead of an ARM 404. */
  private async onVm<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (e) {
      if (isNotFound(e)) {
        throw new MachineError('not-found', `virtual machine ${this.s.names.vm} no longer exists in resource group ${this.s.resourceGroup} (deleted outside machine?)`, {
          hint: `\`machine rm ${this.ctx.machineName}\` removes what is left of it`,
          cause: e,
        })
      }
      throw toMachineError(e, what, this.s)
    }
  }

  async state(): Promise<MachineState> {
    const s = this.s
    const statuses = await this.onVm(`read the state of ${s.names.vm}`, () => this.api.instanceView(s.resourceGroup, s.names.vm))
    return stateFromStatuses(statuses)
  }

  async start(): Promise<void> {
    const s = this.s
    this.ctx.log.info(`Starting virtual machine ${s.names.vm}…`)
    await this.onVm(`start ${s.names.vm}`, () => this.api.startVm(s.resourceGroup, s.names.vm))
  }

  async stop(): Promise<void> {
    const s = this.s
    if (s.stopKeepAllocated) {
      this.ctx.log.info(`Powering off virtual machine ${s.names.vm} (it stays allocated: compute is still billed)…`)
      await this.onVm(`power off ${s.names.vm}`, () => this.api.powerOffVm(s.resourceGroup, s.names.vm, false))
      return
    }
    // Deallocate, not just power off: a powered-off VM keeps being billed for its compute.
    this.ctx.log.info(`Stopping (deallocating) virtual machine ${s.names.vm}…`)
    await this.onVm(`deallocate ${s.names.vm}`, () => this.api.deallocateVm(s.resourceGroup, s.names.vm))
  }

  async restart(): Promise<void> {
    const s = this.s
    // Azure refuses to restart a deallocated VM; restarting a stopped machine means starting it.
    if ((await this.state()) === 'Stopped') return this.start()
    this.ctx.log.info(`Restarting virtual machine ${s.names.vm}…`)
    await this.onVm(`restart ${s.names.vm}`, () => this.api.restartVm(s.resourceGroup, s.names.vm))
  }

  async kill(): Promise<void> {
    const s = this.s
    this.ctx.log.info(`Powering off virtual machine ${s.names.vm} without shutdown…`)
    await this.onVm(`power off ${s.names.vm}`, () => this.api.powerOffVm(s.resourceGroup, s.names.vm, true))
    this.ctx.log.info(`${s.names.vm} is off but still allocated (compute is billed); \`machine stop\` deallocates it`)
  }

  async ip(): Promise<string> {
    const s = this.s
    let address: string | undefined
    if (s.usePrivateIp) {
      address = (await this.onVm(`read network interface ${s.names.nic}`, () => this.api.getNic(s.resourceGroup, s.names.nic))).privateIpAddress
    } else {
      address = (await this.onVm(`read public IP ${s.names.publicIp}`, () => this.api.getPublicIp(s.resourceGroup, s.names.publicIp))).ipAddress
    }
    if (!address) {
      throw new MachineError('no-ip', `${s.names.vm} has no ${s.usePrivateIp ? 'private' : 'public'} IP address right now`, {
        hint: `is it stopped? \`machine start ${this.ctx.machineName}\``,
      })
    }
    this.ctx.config.IPAddress = address
    return address
  }

  async sshInfo(): Promise<SshInfo> {
    const c = this.ctx.config
    const host = typeof c.IPAddress === 'string' && c.IPAddress ? c.IPAddress : await this.ip()
    return savedSshInfo(this.ctx, { host, port: Number(c.SSHPort ?? 22), user: String(c.SSHUser ?? this.s.sshUser) })
  }

  enginePort(): number {
    return this.s.dockerPort
  }

  async engineUrl(): Promise<string> {
    const c = this.ctx.config
    const host = typeof c.IPAddress === 'string' && c.IPAddress ? c.IPAddress : await this.ip()
    return `tcp://${host}:${this.s.dockerPort}`
  }

  /** The DNS name, and the private IP when the public one is used, so either reaches a valid cert. */
  async certSans(): Promise<string[]> {
    const c = this.ctx.config
    const out: string[] = []
    if (typeof c.FQDN === 'string' && c.FQDN) out.push(c.FQDN)
    if (typeof c.PrivateIPAddress === 'string' && c.PrivateIPAddress && c.PrivateIPAddress !== c.IPAddress) out.push(c.PrivateIPAddress)
    return out
  }
}

/** Instance view statuses → docker-machine's state names. */
export function stateFromStatuses(statuses: readonly string[]): MachineState {
  const lower = statuses.map((x) => x.toLowerCase())
  if (lower.some((x) => x.startsWith('provisioningstate/failed'))) return 'Error'
  const power = lower.find((x) => x.startsWith('powerstate/'))?.slice('powerstate/'.length)
  switch (power) {
    case 'running':
      return 'Running'
    case 'starting':
      return 'Starting'
    case 'stopping':
    case 'deallocating':
      return 'Stopping'
    case 'stopped':
    case 'deallocated':
      return 'Stopped'
  }
  // No power state yet while the VM is being created.
  if (lower.some((x) => x.startsWith('provisioningstate/creating'))) return 'Starting'
  return ''
}

/** inner CIDR lies inside outer CIDR. */
function cidrWithin(inner: string, outer: string): boolean {
  const i = parseCidr(inner)
  const o = parseCidr(outer)
  if (!i || !o || i.bits < o.bits) return false
  const ip = [24, 16, 8, 0].map((sh) => (i.base >>> sh) & 255).join('.')
  return cidrContains(outer, ip)
}
