/**
 * The azure driver's lifecycle: create makes (in order) the resource group if missing, a network
 * security group, the virtual network/subnet if missing, an availability set if asked for and
 * missing, a public IP, a network interface and the VM; each is journaled before it is made and
 * tagged with the machine's name and id, and rm deletes exactly what the journal lists (teardown.ts).
 */
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { composeUserData } from '../../src/driver-kit/cloud-init.js'
import type { Driver, DriverContext, Journal, MachineState, SshInfo } from '../../src/driver-kit/contract.js'
import { ensureMachineSshKey, generateHostKey } from '../../src/driver-kit/keys.js'
import { savedSshInfo } from '../../src/driver-kit/ssh-info.js'
import { STORE_TAG, storeMarker } from '../../src/driver-kit/store-marker.js'
import { MachineError, messageOf } from '../../src/driver-kit/errors.js'
import { envMs, pollIntervalMs, sleep } from '../../src/driver-kit/wait.js'
import { connect, type AzureClient, type GroupResource, type SecurityRuleSpec, type VnetInfo } from './client.js'
import { azureEnvironment } from './environments.js'
import { isNotFound, toMachineError } from './errors.js'
import {
  cidrContains,
  CUSTOM_DATA_LIMITS,
  imageOf,
  locationOf,
  normalizeLocation,
  openPortsOf,
  parseCidr,
  usesPrivateIp,
  vnetOf,
  type options,
} from './options.js'
import { ids, resourceNames, type ResourceNames } from './resources.js'
import { removeJournaled } from './teardown.js'

/** Poll interval of long-running operations unless MACHINE_POLL_INTERVAL_MS says otherwise. */
const POLL_MS = 3000

export { listResources } from './prune.js'

export function createDriver(ctx: DriverContext<typeof options>): Driver {
  return new AzureDriver(ctx)
}

/** What exists before create: decides what create makes and what it must not touch. */
interface Inspection {
  groupExists: boolean
  vnet?: VnetInfo
  availabilitySet?: { id: string; vmCount: number }
}

const ARM_TYPES: Record<keyof ResourceNames, string> = {
  vm: 'microsoft.compute/virtualmachines',
  nsg: 'microsoft.network/networksecuritygroups',
  nic: 'microsoft.network/networkinterfaces',
  publicIp: 'microsoft.network/publicipaddresses',
  osDisk: 'microsoft.compute/disks',
}

/**
 * Swarm mode between the nodes: managers, gossip, and VXLAN (which has no authentication of its
 * own), only from the virtual network (and networks peered with it), never the Internet. In the
 * machine's own NSG: made with it at create, added by openClusterPorts to an existing one.
 */
const SWARM_RULES: readonly SecurityRuleSpec[] = (
  [
    ['SwarmManagerFromVnet', 310, 'Tcp', '2377', 'Swarm cluster management'],
    ['SwarmGossipTcpFromVnet', 311, 'Tcp', '7946', 'Swarm node gossip'],
    ['SwarmGossipUdpFromVnet', 312, 'Udp', '7946', 'Swarm node gossip'],
    ['SwarmOverlayFromVnet', 313, 'Udp', '4789', 'Swarm overlay network (VXLAN)'],
  ] as const
).map(([name, priority, protocol, ports, description]) => ({ name, priority, protocol, ports, description: `${description} (swarm mode, from the virtual network only)`, source: 'VirtualNetwork' }))

const portsOf = (rules: readonly SecurityRuleSpec[]) => rules.map((r) => `${r.ports}/${r.protocol.toLowerCase()}`).join(', ')

/** MACHINE_OPERATION_TIMEOUT_MS: the longest wait for one long-running operation (tests make it short). */
function operationTimeoutMs(env: NodeJS.ProcessEnv): number | undefined {
  // Unset (or not a number): undefined, the SDK's own polling limit.
  const n = envMs(env, 'MACHINE_OPERATION_TIMEOUT_MS', -1)
  return n >= 0 ? Math.floor(n) : undefined
}

class AzureDriver implements Driver {
  private cachedClient?: AzureClient
  private inspection?: Inspection
  /** Replaces ctx.signal while a rollback runs after ctx.signal was already aborted (Ctrl-C). */
  private cleanupSignal?: AbortSignal

  constructor(private readonly ctx: DriverContext<typeof options>) {}

  private get signal(): AbortSignal {
    return this.cleanupSignal ?? this.ctx.signal
  }

  /** The options, resolved by the kit (flag → saved config → env → default). */
  private get o() {
    return this.ctx.options
  }

  // Values derived from the options.
  private get location(): string {
    return locationOf(this.o)
  }
  private get vnet() {
    return vnetOf(this.o)
  }
  private get image() {
    return imageOf(this.o)
  }
  private get usePrivateIp(): boolean {
    return usesPrivateIp(this.o)
  }
  private get names(): ResourceNames {
    return resourceNames(String(this.ctx.config.MachineName ?? this.ctx.machineName))
  }
  /** What error hints name. */
  private get hintNames() {
    return { resourceGroup: this.o.resourceGroup, size: this.o.size, location: this.location, subscriptionId: this.o.subscriptionId }
  }
  private get interval(): number {
    return pollIntervalMs(this.ctx.env, POLL_MS)
  }

  private get api(): AzureClient {
    this.cachedClient ??= connect({
      subscriptionId: this.o.subscriptionId,
      environment: azureEnvironment(this.o.environment),
      clientId: this.o.clientId,
      clientSecret: this.o.clientSecret,
      tenantId: this.o.tenantId,
      pollIntervalMs: this.interval,
      operationTimeoutMs: operationTimeoutMs(this.ctx.env),
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
      throw toMachineError(e, what, this.hintNames)
    }
  }

  private get tags(): Record<string, string> {
    return {
      'machine-name': this.ctx.machineName,
      'machine-id': String(this.ctx.config.MachineId ?? ''),
      'managed-by': 'machine',
      [STORE_TAG]: storeMarker(this.ctx.storePath),
    }
  }

  // ---- create ---------------------------------------------------------------------------------

  async preCreateCheck(): Promise<void> {
    const o = this.o
    if (o.noPublicIp && o.dns) {
      throw new MachineError('invalid-option', '--azure-dns needs a public IP, but --azure-no-public-ip is set')
    }
    if (o.noPublicIp && o.staticPublicIp) {
      throw new MachineError('invalid-option', '--azure-static-public-ip and --azure-no-public-ip cannot be used together')
    }
    if (o.customData) await this.readCustomData()
    this.inspection = await this.inspect()
  }

  private async readCustomData(): Promise<string | undefined> {
    const file = this.o.customData
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
    const o = this.o
    const api = this.api
    const resources = await this.step(`read resource group ${o.resourceGroup}`, () => api.listGroupResources(o.resourceGroup))
    const groupExists = resources !== undefined
    if (resources) this.refuseConflicts(resources)

    let vnet: VnetInfo | undefined
    if (this.vnet.resourceGroup !== o.resourceGroup || groupExists) {
      vnet = await this.step(`read virtual network ${this.vnet.name}`, () => api.getVnet(this.vnet.resourceGroup, this.vnet.name))
      if (!vnet && this.vnet.resourceGroup !== o.resourceGroup) {
        throw new MachineError('not-found', `virtual network ${this.vnet.name} not found in resource group ${this.vnet.resourceGroup}`, {
          hint: 'a virtual network in another resource group must exist already; check --azure-vnet [resource-group:]name',
        })
      }
    }
    let subnetPrefix = o.subnetPrefix
    if (vnet) {
      if (normalizeLocation(vnet.location) !== this.location) {
        throw new MachineError(
          'invalid-option',
          `virtual network ${this.vnet.name} is in ${vnet.location}, but the machine would be in ${this.location}`,
          { hint: `pass --azure-location ${normalizeLocation(vnet.location)}, or another --azure-vnet` },
        )
      }
      const subnet = vnet.subnets.find((x) => x.name === o.subnet)
      if (subnet?.addressPrefix) subnetPrefix = subnet.addressPrefix
      else if (!subnet && !vnet.addressPrefixes.some((outer) => cidrWithin(o.subnetPrefix, outer))) {
        throw new MachineError(
          'invalid-option',
          `--azure-subnet-prefix ${o.subnetPrefix} is outside virtual network ${this.vnet.name} (${vnet.addressPrefixes.join(', ')})`,
          { hint: `pass an --azure-subnet-prefix inside ${vnet.addressPrefixes[0] ?? 'its address space'}` },
        )
      }
    }
    if (o.privateIpAddress && !cidrContains(subnetPrefix, o.privateIpAddress)) {
      throw new MachineError('invalid-option', `--azure-private-ip-address ${o.privateIpAddress} is not in subnet ${o.subnet} (${subnetPrefix})`)
    }
    const availabilitySet =
      o.availabilitySet && groupExists
        ? await this.step(`read availability set ${o.availabilitySet}`, () => api.getAvailabilitySet(o.resourceGroup, o.availabilitySet!))
        : undefined
    return { groupExists, vnet, availabilitySet }
  }

  private refuseConflicts(resources: GroupResource[]): void {
    const o = this.o
    for (const [key, type] of Object.entries(ARM_TYPES) as [keyof ResourceNames, string][]) {
      const name = this.names[key]
      const hit = resources.find((r) => r.type.toLowerCase() === type && r.name.toLowerCase() === name.toLowerCase())
      if (hit) {
        throw new MachineError('already-exists', `${hit.type} ${hit.name} already exists in resource group ${o.resourceGroup}`, {
          hint: `choose another machine name or --azure-resource-group; if it is left from an earlier machine, delete it with \`az resource delete --ids ${hit.id}\``,
        })
      }
    }
  }

  private securityRules(): SecurityRuleSpec[] {
    const o = this.o
    const rules: SecurityRuleSpec[] = [
      { name: 'SSHAllowAny', priority: 300, protocol: 'Tcp', ports: '22', description: 'SSH for machine' },
      { name: 'DockerAllowAny', priority: 301, protocol: 'Tcp', ports: String(o.dockerPort), description: 'Docker engine (TLS)' },
    ]
    // A (legacy) swarm master also serves the swarm manager's TLS port, as with docker-machine.
    if (this.ctx.config.SwarmMaster === true) {
      rules.push({ name: 'DockerSwarmAllowAny', priority: 302, protocol: 'Tcp', ports: '3376', description: 'Docker swarm master (TLS)' })
    }
    if (o.swarmPorts) rules.push(...SWARM_RULES)
    let priority = 1000
    for (const p of openPortsOf(o)) {
      const dup = rules.some((r) => r.ports === p.ports && (r.protocol === p.protocol || r.protocol === '*'))
      if (dup) continue
      const proto = p.protocol === '*' ? 'Any' : p.protocol
      rules.push({ name: `Port${p.ports}-${proto}AllowAny`, priority: priority++, protocol: p.protocol, ports: p.ports, description: 'Opened with --azure-open-port' })
    }
    return rules
  }

  async create(journal: Journal): Promise<void> {
    const o = this.o
    const ctx = this.ctx
    const api = this.api
    const sub = o.subscriptionId
    const rg = o.resourceGroup
    const n = this.names
    const insp = this.inspection ?? (await this.inspect())
    this.inspection = undefined

    ctx.config.MachineId ??= randomUUID()
    const tags = this.tags
    const base = { location: this.location, tags }
    const record = (kind: string, id: string, data: Record<string, unknown>) => journal.record({ kind, id, data })

    // Keys first: nothing exists in Azure yet if this fails.
    const key = await ensureMachineSshKey(ctx.machineDir, `${ctx.machineName}@machine`)
    const hostKey = await generateHostKey(`${ctx.machineName}-host-key`)
    const customData = composeUserData(
      { user: o.sshUser, authorizedKey: key.publicKey, hostname: ctx.machineName, hostKey },
      await this.readCustomData(),
      CUSTOM_DATA_LIMITS,
    )
    ctx.config.SSHUser = o.sshUser
    ctx.config.SSHPort = 22
    ctx.config.SSHKeyPath = key.path
    ctx.config.SSHHostKeys = [hostKey.publicKey]

    if (!insp.groupExists) {
      await record('resource-group', ids.group(sub, rg), { resourceGroup: rg })
      ctx.log.info(`Creating resource group ${rg} in ${this.location}…`)
      await this.step(`create resource group ${rg}`, () => api.createResourceGroup(rg, this.location, tags))
    }

    const rules = this.securityRules()
    await record('network-security-group', ids.network(sub, rg, 'networkSecurityGroups', n.nsg), { resourceGroup: rg, name: n.nsg })
    ctx.log.info(`Creating network security group ${n.nsg} (inbound ${portsOf(rules)})…`)
    const nsg = await this.step(`create network security group ${n.nsg}`, () => api.createNsg(rg, n.nsg, { ...base, rules }))

    let subnetId: string
    const vrg = this.vnet.resourceGroup
    const existingSubnet = insp.vnet?.subnets.find((x) => x.name === o.subnet)
    if (!insp.vnet) {
      await record('virtual-network', ids.network(sub, vrg, 'virtualNetworks', this.vnet.name), { resourceGroup: vrg, name: this.vnet.name })
      ctx.log.info(`Creating virtual network ${this.vnet.name} (${o.subnetPrefix})…`)
      const made = await this.step(`create virtual network ${this.vnet.name}`, () =>
        api.createVnet(vrg, this.vnet.name, { ...base, addressPrefix: o.subnetPrefix, subnet: o.subnet, subnetPrefix: o.subnetPrefix }),
      )
      subnetId = made.subnetId
    } else if (existingSubnet) {
      subnetId = existingSubnet.id
    } else {
      const id = `${ids.network(sub, vrg, 'virtualNetworks', this.vnet.name)}/subnets/${o.subnet}`
      await record('subnet', id, { resourceGroup: vrg, vnet: this.vnet.name, name: o.subnet })
      ctx.log.info(`Creating subnet ${o.subnet} (${o.subnetPrefix}) in ${this.vnet.name}…`)
      subnetId = (await this.step(`create subnet ${o.subnet}`, () => api.createSubnet(vrg, this.vnet.name, o.subnet, o.subnetPrefix))).id || id
    }

    let availabilitySetId: string | undefined
    if (o.availabilitySet) {
      const as = o.availabilitySet
      if (insp.availabilitySet) availabilitySetId = insp.availabilitySet.id
      else {
        await record('availability-set', ids.compute(sub, rg, 'availabilitySets', as), { resourceGroup: rg, name: as })
        ctx.log.info(`Creating availability set ${as}…`)
        availabilitySetId = (await this.step(`create availability set ${as}`, () => api.createAvailabilitySet(rg, as, base))).id
      }
    }

    let publicIp: { id: string; ipAddress?: string; fqdn?: string } | undefined
    if (!o.noPublicIp) {
      await record('public-ip', ids.network(sub, rg, 'publicIPAddresses', n.publicIp), { resourceGroup: rg, name: n.publicIp })
      ctx.log.info(`Creating public IP ${n.publicIp}${o.dns ? ` (${o.dns}.${this.location}.cloudapp…)` : ''}…`)
      publicIp = await this.step(`create public IP ${n.publicIp}`, () => api.createPublicIp(rg, n.publicIp, { ...base, dnsLabel: o.dns }))
    }

    await record('network-interface', ids.network(sub, rg, 'networkInterfaces', n.nic), { resourceGroup: rg, name: n.nic })
    ctx.log.info(`Creating network interface ${n.nic}…`)
    const nic = await this.step(`create network interface ${n.nic}`, () =>
      api.createNic(rg, n.nic, { ...base, subnetId, nsgId: nsg.id, publicIpId: publicIp?.id, privateIpAddress: o.privateIpAddress }),
    )

    // The VM makes its OS disk: both are journaled before the one request that creates them.
    await record('os-disk', ids.compute(sub, rg, 'disks', n.osDisk), { resourceGroup: rg, name: n.osDisk })
    await record('virtual-machine', ids.compute(sub, rg, 'virtualMachines', n.vm), { resourceGroup: rg, name: n.vm })
    ctx.log.info(`Creating virtual machine ${n.vm} (${o.size}, ${o.image}); this takes a minute or two…`)
    const vm = await this.step(`create virtual machine ${n.vm}`, () =>
      api.createVm(rg, n.vm, {
        ...base,
        size: o.size,
        image: this.image,
        osDiskName: n.osDisk,
        storageType: o.storageType,
        diskSizeGb: o.diskSize,
        computerName: ctx.machineName,
        adminUsername: o.sshUser,
        sshPublicKey: key.publicKey,
        customData,
        nicId: nic.id,
        availabilitySetId,
      }),
    )
    ctx.config.VMId = vm.vmId ?? ''

    const privateIp = nic.privateIpAddress ?? (await this.step(`read network interface ${n.nic}`, () => api.getNic(rg, n.nic))).privateIpAddress
    let address = privateIp
    if (!this.usePrivateIp && publicIp) {
      address = publicIp.ipAddress ?? (await this.step(`read public IP ${n.publicIp}`, () => api.getPublicIp(rg, n.publicIp))).ipAddress
    }
    if (!address) throw new MachineError('no-ip', `Azure assigned no ${this.usePrivateIp ? 'private' : 'public'} IP address to ${n.vm}`)
    ctx.config.IPAddress = address
    if (privateIp) ctx.config.PrivateIPAddress = privateIp
    if (publicIp?.fqdn) ctx.config.FQDN = publicIp.fqdn
    ctx.log.info(`Virtual machine ${n.vm} is up at ${address}${publicIp?.fqdn ? ` (${publicIp.fqdn})` : ''}`)
  }

  // ---- remove ---------------------------------------------------------------------------------

  /** Deletes what the journal lists (teardown.ts). */
  async remove(journal: Journal): Promise<void> {
    // Rolling back after Ctrl-C: ctx.signal is already aborted, yet the cleanup must still run
    // (each step stays bounded by its own deadline).
    if (this.ctx.signal.aborted) this.cleanupSignal = new AbortController().signal
    try {
      await removeJournaled(
        {
          api: this.api,
          log: this.ctx.log,
          machineId: this.ctx.config.MachineId,
          operationTimeoutMs: operationTimeoutMs(this.ctx.env),
          // A few poll intervals (15 s by default): in-use conditions clear in tens of seconds.
          pause: () => sleep(Math.min(15_000, this.interval * 5), this.signal),
          names: this.hintNames,
        },
        journal,
      )
    } finally {
      this.cleanupSignal = undefined
    }
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** A lifecycle call on a VM that is gone gets one clear line instead of an ARM 404. */
  private async onVm<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (e) {
      if (isNotFound(e)) {
        throw new MachineError('not-found', `virtual machine ${this.names.vm} no longer exists in resource group ${this.o.resourceGroup} (deleted outside machine?)`, {
          hint: `\`machine rm ${this.ctx.machineName}\` removes what is left of it`,
          cause: e,
        })
      }
      throw toMachineError(e, what, this.hintNames)
    }
  }

  async state(): Promise<MachineState> {
    const o = this.o
    const statuses = await this.onVm(`read the state of ${this.names.vm}`, () => this.api.instanceView(o.resourceGroup, this.names.vm))
    return stateFromStatuses(statuses)
  }

  async start(): Promise<void> {
    const o = this.o
    this.ctx.log.info(`Starting virtual machine ${this.names.vm}…`)
    await this.onVm(`start ${this.names.vm}`, () => this.api.startVm(o.resourceGroup, this.names.vm))
  }

  async stop(): Promise<void> {
    const o = this.o
    if (o.stopKeepAllocated) {
      this.ctx.log.info(`Powering off virtual machine ${this.names.vm} (it stays allocated: compute is still billed)…`)
      await this.onVm(`power off ${this.names.vm}`, () => this.api.powerOffVm(o.resourceGroup, this.names.vm, false))
      return
    }
    // Deallocate, not just power off: a powered-off VM keeps being billed for its compute.
    this.ctx.log.info(`Stopping (deallocating) virtual machine ${this.names.vm}…`)
    await this.onVm(`deallocate ${this.names.vm}`, () => this.api.deallocateVm(o.resourceGroup, this.names.vm))
  }

  async restart(): Promise<void> {
    const o = this.o
    // Azure refuses to restart a deallocated VM; restarting a stopped machine means starting it.
    if ((await this.state()) === 'Stopped') return this.start()
    this.ctx.log.info(`Restarting virtual machine ${this.names.vm}…`)
    await this.onVm(`restart ${this.names.vm}`, () => this.api.restartVm(o.resourceGroup, this.names.vm))
  }

  async kill(): Promise<void> {
    const o = this.o
    this.ctx.log.info(`Powering off virtual machine ${this.names.vm} without shutdown…`)
    await this.onVm(`power off ${this.names.vm}`, () => this.api.powerOffVm(o.resourceGroup, this.names.vm, true))
    this.ctx.log.info(`${this.names.vm} is off but still allocated (compute is billed); \`machine stop\` deallocates it`)
  }

  /**
   * An existing machine joins a swarm: the swarm rules its NSG lacks are added to it, as create
   * would have made them. Only to the NSG this machine made (its journal says so): one another
   * machine or the user made is not ours to change.
   */
  async openClusterPorts(journal: Journal): Promise<void> {
    const o = this.o
    const nsg = this.names.nsg
    if (!o.swarmPorts || !this.ownsNsg(journal)) {
      this.ctx.log.info(
        `Swarm ports not opened: ${o.swarmPorts ? `network security group ${nsg} was not made by machine` : '--azure-swarm-ports is off for this machine'}; allow ${portsOf(SWARM_RULES)} from the virtual network yourself`,
      )
      return
    }
    const have = await this.step(`read network security group ${nsg}`, () => this.api.securityRuleNames(o.resourceGroup, nsg))
    const missing = SWARM_RULES.filter((r) => !have.includes(r.name))
    if (!missing.length) return
    this.ctx.log.info(`Opening ${portsOf(missing)} from the virtual network in network security group ${nsg} (swarm mode)…`)
    for (const r of missing) await this.step(`add rule ${r.name} to network security group ${nsg}`, () => this.api.putSecurityRule(o.resourceGroup, nsg, r))
  }

  /** Left its swarm: the swarm rules go from its own NSG (no other machine uses that NSG). */
  async closeClusterPorts(journal: Journal): Promise<void> {
    const o = this.o
    const nsg = this.names.nsg
    if (!this.ownsNsg(journal)) return
    const have = await this.step(`read network security group ${nsg}`, () => this.api.securityRuleNames(o.resourceGroup, nsg))
    const present = SWARM_RULES.filter((r) => have.includes(r.name))
    if (!present.length) return
    for (const r of present) await this.step(`delete rule ${r.name} of network security group ${nsg}`, () => this.api.deleteSecurityRule(o.resourceGroup, nsg, r.name))
    this.ctx.log.info(`Closed ${portsOf(present)} in network security group ${nsg}`)
  }

  private ownsNsg(journal: Journal): boolean {
    return journal.entries().some((e) => e.kind === 'network-security-group' && e.data?.name === this.names.nsg)
  }

  /**
   * The NIC's private address: the nodes of a swarm in one virtual network talk over it (the
   * swarm ports are open from the virtual network only).
   */
  async clusterAddress(): Promise<string | undefined> {
    const c = this.ctx.config
    if (typeof c.PrivateIPAddress === 'string' && c.PrivateIPAddress) return c.PrivateIPAddress
    const o = this.o
    const privateIp = (await this.onVm(`read network interface ${this.names.nic}`, () => this.api.getNic(o.resourceGroup, this.names.nic))).privateIpAddress
    if (privateIp) c.PrivateIPAddress = privateIp
    return privateIp || undefined
  }

  async ip(): Promise<string> {
    const o = this.o
    let address: string | undefined
    if (this.usePrivateIp) {
      address = (await this.onVm(`read network interface ${this.names.nic}`, () => this.api.getNic(o.resourceGroup, this.names.nic))).privateIpAddress
    } else {
      address = (await this.onVm(`read public IP ${this.names.publicIp}`, () => this.api.getPublicIp(o.resourceGroup, this.names.publicIp))).ipAddress
    }
    if (!address) {
      throw new MachineError('no-ip', `${this.names.vm} has no ${this.usePrivateIp ? 'private' : 'public'} IP address right now`, {
        hint: `is it stopped? \`machine start ${this.ctx.machineName}\``,
      })
    }
    this.ctx.config.IPAddress = address
    return address
  }

  async sshInfo(): Promise<SshInfo> {
    const c = this.ctx.config
    const host = typeof c.IPAddress === 'string' && c.IPAddress ? c.IPAddress : await this.ip()
    return savedSshInfo(this.ctx, { host, port: Number(c.SSHPort ?? 22), user: String(c.SSHUser ?? this.o.sshUser) })
  }

  enginePort(): number {
    return this.o.dockerPort
  }

  async engineUrl(): Promise<string> {
    const c = this.ctx.config
    const host = typeof c.IPAddress === 'string' && c.IPAddress ? c.IPAddress : await this.ip()
    return `tcp://${host}:${this.o.dockerPort}`
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
