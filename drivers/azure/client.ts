/**
 * The only file that talks to Azure: the Resource Manager SDKs (@azure/arm-compute,
 * @azure/arm-network, @azure/arm-resources) and @azure/identity. Everything it returns is plain
 * data, and every failure leaves as an AzureApiError / AzureTimeoutError (errors.ts), so driver.ts
 * has no SDK types and no SDK error shapes to know about.
 *
 * SDK modules are imported lazily, per service: `machine status` needs compute only, and the
 * network SDK alone takes about a second to load.
 */
import type { TokenCredential } from '@azure/core-auth'
import type { OperationState, PollerLike } from '@azure/core-lro'
import type { ComputeManagementClient, VirtualMachine } from '@azure/arm-compute'
import type { NetworkManagementClient } from '@azure/arm-network'
import type { ResourceManagementClient } from '@azure/arm-resources'
import type { DriverLogger } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { armScope, type AzureEnvironment } from './environments.js'
import { AzureApiError, AzureTimeoutError, isNotFound, oneLine } from './errors.js'

export type { TokenCredential }

// ---------------------------------------------------------------------------------------------
// Credentials

let injectedCredential: TokenCredential | undefined

/**
 * The seam for tests (and programs embedding the driver): when set, this credential is used for
 * every Azure call and no other credential (DefaultAzureCredential, client secret) is built.
 * Pass undefined to clear it.
 */
export function useTokenCredential(credential: TokenCredential | undefined): void {
  injectedCredential = credential
}

export type CredentialPlan =
  | { kind: 'injected' }
  | { kind: 'client-secret'; clientId: string; tenantId?: string; authorityHost: string }
  | { kind: 'default'; tenantId?: string; authorityHost: string }

/**
 * Which credential a set of options leads to. A client secret is only used with a client id; a
 * client id alone is left to DefaultAzureCredential (managed identity / workload identity pick it
 * up from AZURE_CLIENT_ID themselves).
 */
export function credentialPlan(
  s: { clientId?: string; clientSecret?: string; tenantId?: string },
  env: AzureEnvironment,
): CredentialPlan {
  if (injectedCredential) return { kind: 'injected' }
  if (s.clientSecret) {
    if (!s.clientId) {
      throw new MachineError('missing-option', '--azure-client-secret needs --azure-client-id', {
        hint: 'pass the service principal\'s application (client) id with --azure-client-id (or AZURE_CLIENT_ID)',
      })
    }
    return { kind: 'client-secret', clientId: s.clientId, tenantId: s.tenantId, authorityHost: env.authorityHost }
  }
  return { kind: 'default', tenantId: s.tenantId, authorityHost: env.authorityHost }
}

/**
 * docker-machine never asked for a tenant: Resource Manager names the subscription's tenant in the
 * WWW-Authenticate header of an unauthenticated request. Same trick here, so
 * `--azure-client-id/--azure-client-secret` alone keep working.
 */
export async function discoverTenant(env: AzureEnvironment, subscriptionId: string, signal?: AbortSignal): Promise<string> {
  const url = `${env.resourceManager}/subscriptions/${encodeURIComponent(subscriptionId)}?api-version=2022-12-01`
  let header: string | null = null
  try {
    const res = await fetch(url, { signal })
    header = res.headers.get('www-authenticate')
    await res.body?.cancel()
  } catch (e) {
    if (signal?.aborted) throw e
    throw new MachineError('auth-failed', `could not reach ${env.resourceManager} to look up the subscription's tenant`, {
      hint: 'pass --azure-tenant-id (or set AZURE_TENANT_ID)',
      cause: e,
    })
  }
  const tenant = header && /authorization_uri="https:\/\/[^/"]+\/([^/"]+)"/i.exec(header)?.[1]
  if (!tenant) {
    throw new MachineError('auth-failed', `could not look up the tenant of subscription ${subscriptionId}`, {
      hint: 'pass --azure-tenant-id (or set AZURE_TENANT_ID)',
    })
  }
  return tenant
}

async function buildCredential(plan: CredentialPlan, secret: string | undefined, env: AzureEnvironment, subscriptionId: string, signal: AbortSignal): Promise<TokenCredential> {
  if (plan.kind === 'injected' && injectedCredential) return injectedCredential
  const identity = await import('@azure/identity')
  if (plan.kind === 'client-secret' && secret) {
    const tenant = plan.tenantId ?? (await discoverTenant(env, subscriptionId, signal))
    return new identity.ClientSecretCredential(tenant, plan.clientId, secret, { authorityHost: plan.authorityHost })
  }
  const tenantId = plan.kind === 'default' ? plan.tenantId : undefined
  return new identity.DefaultAzureCredential({ authorityHost: env.authorityHost, ...(tenantId ? { tenantId } : {}) })
}

// ---------------------------------------------------------------------------------------------
// Plain data the driver works with

export interface GroupResource {
  id: string
  name: string
  type: string
  tags: Record<string, string>
}

export interface TaggedArmResource extends GroupResource {
  location: string
  createdTime?: Date
}

export interface SubnetInfo {
  id: string
  name: string
  addressPrefix?: string
  /** Something (a NIC, a private endpoint…) has an IP configuration in it. */
  inUse: boolean
}

export interface VnetInfo {
  id: string
  location: string
  addressPrefixes: string[]
  subnets: SubnetInfo[]
}

export interface PublicIpInfo {
  id: string
  ipAddress?: string
  fqdn?: string
}

export interface NicInfo {
  id: string
  privateIpAddress?: string
}

export interface SecurityRuleSpec {
  name: string
  priority: number
  protocol: 'Tcp' | 'Udp' | '*'
  ports: string
  description: string
  /** sourceAddressPrefix: a CIDR or a service tag such as VirtualNetwork; default any ('*'). */
  source?: string
}

export interface VmSpec {
  location: string
  tags: Record<string, string>
  size: string
  image: { publisher?: string; offer?: string; sku?: string; version?: string; id?: string }
  osDiskName: string
  storageType: string
  diskSizeGb?: number
  computerName: string
  adminUsername: string
  sshPublicKey: string
  customData: string
  nicId: string
  availabilitySetId?: string
}

export interface VmInfo {
  id: string
  vmId?: string
  provisioningState?: string
}

export interface ClientOptions {
  subscriptionId: string
  environment: AzureEnvironment
  clientId?: string
  clientSecret?: string
  tenantId?: string
  pollIntervalMs: number
  operationTimeoutMs?: number
  log: DriverLogger
  /**
   * The signal in force for each call (read at call time): ctx.signal normally; the driver swaps
   * in a fresh one for a rollback that runs after Ctrl-C already aborted ctx.signal.
   */
  signal: () => AbortSignal
}

// ---------------------------------------------------------------------------------------------

/** How long one long-running operation may take before we stop waiting (VMs allocate slowly). */
const DEFAULT_TIMEOUTS = { vm: 20 * 60_000, network: 10 * 60_000, group: 30 * 60_000 }
/** A "still waiting" line every 30 s (10 polls at the default interval): a slow create never looks hung. */
const progressEvery = (pollIntervalMs: number) => Math.min(30_000, pollIntervalMs * 10)

type Lro<T> = PollerLike<OperationState<T>, T>

function toApiError(e: unknown): unknown {
  if (e instanceof AzureApiError || e instanceof MachineError || e instanceof AzureTimeoutError) return e
  if (!(e instanceof Error)) return e
  if (e.name === 'AbortError') return e
  const err = e as Error & { statusCode?: number; code?: string }
  // A long-running operation that ended in "Failed" comes back from core-lro as a plain Error:
  // "The long-running operation has failed. <Code>. <Message>".
  if (e.message.startsWith('The long-running operation has failed')) {
    const lro = /^The long-running operation has failed\.\s*([\w.]+)\.\s*([\s\S]*)$/.exec(e.message)
    if (lro) return new AzureApiError(oneLine(lro[2] ?? ''), undefined, lro[1], e)
    return new AzureApiError('Azure reported the operation as failed without saying why', undefined, 'OperationFailed', e)
  }
  if (['CredentialUnavailableError', 'AggregateAuthenticationError', 'AuthenticationError', 'AuthenticationRequiredError'].includes(e.name)) {
    return new AzureApiError(oneLine(e.message), undefined, e.name, e)
  }
  if (e.name === 'RestError' || typeof err.statusCode === 'number') {
    return new AzureApiError(oneLine(e.message), err.statusCode, typeof err.code === 'string' ? err.code : undefined, e)
  }
  return e
}

/** An inbound allow rule as ARM takes it, in an NSG's body or on its own. */
function securityRuleBody(r: SecurityRuleSpec) {
  return {
    description: r.description,
    protocol: r.protocol,
    sourcePortRange: '*',
    destinationPortRange: r.ports,
    sourceAddressPrefix: r.source ?? '*',
    destinationAddressPrefix: '*',
    access: 'Allow' as const,
    priority: r.priority,
    direction: 'Inbound' as const,
  }
}

function parseJson(text: string | null | undefined): unknown {
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export class AzureClient {
  private credential?: Promise<TokenCredential>
  private computeClient?: Promise<ComputeManagementClient>
  private networkClient?: Promise<NetworkManagementClient>
  private resourcesClient?: Promise<ResourceManagementClient>

  constructor(private readonly o: ClientOptions) {}

  /** Options every SDK client gets: the cloud's endpoint and scope, short retries in tests. */
  private clientOptions() {
    return {
      endpoint: this.o.environment.resourceManager,
      credentials: { scopes: [armScope(this.o.environment)] },
      userAgentOptions: { userAgentPrefix: 'machine-azure-driver' },
      // 429 honours Retry-After (SDK policy); other transient failures back off exponentially.
      retryOptions: { maxRetries: 5, retryDelayInMs: Math.min(1000, Math.max(1, this.o.pollIntervalMs)), maxRetryDelayInMs: 30_000 },
    }
  }

  private getCredential(): Promise<TokenCredential> {
    this.credential ??= (async () => {
      const plan = credentialPlan(this.o, this.o.environment)
      return buildCredential(plan, this.o.clientSecret, this.o.environment, this.o.subscriptionId, this.o.signal())
    })()
    return this.credential
  }

  private compute(): Promise<ComputeManagementClient> {
    this.computeClient ??= (async () => {
      const { ComputeManagementClient } = await import('@azure/arm-compute')
      return new ComputeManagementClient(await this.getCredential(), this.o.subscriptionId, this.clientOptions())
    })()
    return this.computeClient
  }

  private network(): Promise<NetworkManagementClient> {
    this.networkClient ??= (async () => {
      const { NetworkManagementClient } = await import('@azure/arm-network')
      return new NetworkManagementClient(await this.getCredential(), this.o.subscriptionId, this.clientOptions())
    })()
    return this.networkClient
  }

  private resources(): Promise<ResourceManagementClient> {
    this.resourcesClient ??= (async () => {
      const { ResourceManagementClient } = await import('@azure/arm-resources')
      return new ResourceManagementClient(await this.getCredential(), this.o.subscriptionId, this.clientOptions())
    })()
    return this.resourcesClient
  }

  /** A plain (short) request: translate its errors. */
  private async call<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await fn(this.o.signal())
    } catch (e) {
      throw toApiError(e)
    }
  }

  /**
   * A long-running operation through the SDK poller: polls every `pollIntervalMs` (or the server's
   * Retry-After), says every 30 s that it is still waiting, and gives up after the deadline or
   * when ctx.signal aborts (Ctrl-C).
   */
  private async lro<T>(
    what: string,
    kind: keyof typeof DEFAULT_TIMEOUTS,
    start: (opts: { updateIntervalInMs: number; abortSignal: AbortSignal }) => Lro<T>,
  ): Promise<T> {
    const timeoutMs = this.o.operationTimeoutMs ?? DEFAULT_TIMEOUTS[kind]
    const deadline = AbortSignal.timeout(timeoutMs)
    const outer = this.o.signal()
    const signal = AbortSignal.any([outer, deadline])
    const began = Date.now()
    let said = began
    try {
      const poller = start({ updateIntervalInMs: this.o.pollIntervalMs, abortSignal: signal })
      poller.onProgress(() => {
        const now = Date.now()
        if (now - said >= progressEvery(this.o.pollIntervalMs)) {
          said = now
          this.o.log.info(`Still waiting for Azure to ${what} (${Math.round((now - began) / 1000)}s)…`)
        }
      })
      return await poller.pollUntilDone({ abortSignal: signal })
    } catch (e) {
      if (deadline.aborted && !outer.aborted) throw new AzureTimeoutError(what, timeoutMs)
      throw toApiError(e)
    }
  }

  // ---- resource groups --------------------------------------------------------------------

  /** Everything in the group, or undefined when the group does not exist. */
  async listGroupResources(rg: string): Promise<GroupResource[] | undefined> {
    const client = await this.resources()
    // The SDK's pager replaces ARM's error body with "Pagination failed…": keep the last response
    // so a 401/403/404 still tells the user what ARM said.
    let last: { status: number; body: unknown } | undefined
    const onResponse = (r: { status: number; parsedBody?: unknown; bodyAsText?: string | null }) => {
      last = { status: r.status, body: r.parsedBody ?? parseJson(r.bodyAsText) }
    }
    const out: GroupResource[] = []
    try {
      for await (const r of client.resources.listByResourceGroup(rg, { abortSignal: this.o.signal(), onResponse })) {
        out.push({ id: r.id ?? '', name: r.name ?? '', type: r.type ?? '', tags: r.tags ?? {} })
      }
    } catch (e) {
      let err = toApiError(e)
      const armError = (last?.body as { error?: { code?: string; message?: string } } | undefined)?.error
      if (last && last.status >= 400 && armError?.message) {
        err = new AzureApiError(oneLine(armError.message), last.status, armError.code, e)
      }
      if (isNotFound(err) && (err as AzureApiError).code !== 'SubscriptionNotFound') return undefined
      throw err
    }
    return out
  }

  /**
   * The subscription's resource groups, and its resources of `types`, whose tag `key` is `value`;
   * every page followed (the pagers follow nextLink). Prune's listing. Filtered by type on the
   * server and by tag here: ARM's tag filter would drop every resource's tags from its answer.
   */
  async listTagged(key: string, value: string, types: readonly string[]): Promise<TaggedArmResource[]> {
    const client = await this.resources()
    const abortSignal = this.o.signal()
    const ours = (tags: Record<string, string> | undefined) => tags?.[key] === value
    try {
      const groups: TaggedArmResource[] = []
      for await (const g of client.resourceGroups.list({ abortSignal })) {
        if (ours(g.tags)) groups.push({ id: g.id ?? '', name: g.name ?? '', type: 'Microsoft.Resources/resourceGroups', tags: g.tags ?? {}, location: g.location ?? '' })
      }
      const byType = await Promise.all(
        types.map(async (type) => {
          const out: TaggedArmResource[] = []
          for await (const r of client.resources.list({ filter: `resourceType eq '${type}'`, expand: 'createdTime', abortSignal })) {
            if (ours(r.tags)) out.push({ id: r.id ?? '', name: r.name ?? '', type: r.type ?? type, tags: r.tags ?? {}, location: r.location ?? '', ...(r.createdTime ? { createdTime: r.createdTime } : {}) })
          }
          return out
        }),
      )
      return [...groups, ...byType.flat()]
    } catch (e) {
      throw toApiError(e)
    }
  }

  async createResourceGroup(rg: string, location: string, tags: Record<string, string>): Promise<void> {
    const client = await this.resources()
    await this.call((abortSignal) => client.resourceGroups.createOrUpdate(rg, { location, tags }, { abortSignal }))
  }

  async deleteResourceGroup(rg: string): Promise<void> {
    const client = await this.resources()
    await this.lro(`delete resource group ${rg}`, 'group', (o) => client.resourceGroups.delete(rg, o))
  }

  // ---- network security group -------------------------------------------------------------

  async createNsg(rg: string, name: string, p: { location: string; tags: Record<string, string>; rules: SecurityRuleSpec[] }): Promise<{ id: string }> {
    const client = await this.network()
    const nsg = await this.lro(`create network security group ${name}`, 'network', (o) =>
      client.networkSecurityGroups.createOrUpdate(
        rg,
        name,
        {
          location: p.location,
          tags: p.tags,
          securityRules: p.rules.map((r) => ({ name: r.name, ...securityRuleBody(r) })),
        },
        o,
      ),
    )
    return { id: nsg.id ?? '' }
  }

  /** The names of the rules an NSG has (its own, not Azure's default ones). */
  async securityRuleNames(rg: string, nsg: string): Promise<string[]> {
    const client = await this.network()
    const found = await this.call((abortSignal) => client.networkSecurityGroups.get(rg, nsg, { abortSignal }))
    return (found.securityRules ?? []).flatMap((r) => (r.name ? [r.name] : []))
  }

  /** Add (or replace) one rule of an existing NSG. */
  async putSecurityRule(rg: string, nsg: string, r: SecurityRuleSpec): Promise<void> {
    const client = await this.network()
    await this.lro(`add rule ${r.name} to network security group ${nsg}`, 'network', (o) => client.securityRules.createOrUpdate(rg, nsg, r.name, securityRuleBody(r), o))
  }

  async deleteSecurityRule(rg: string, nsg: string, name: string): Promise<void> {
    const client = await this.network()
    await this.lro(`delete rule ${name} of network security group ${nsg}`, 'network', (o) => client.securityRules.delete(rg, nsg, name, o))
  }

  async deleteNsg(rg: string, name: string): Promise<void> {
    const client = await this.network()
    await this.lro(`delete network security group ${name}`, 'network', (o) => client.networkSecurityGroups.delete(rg, name, o))
  }

  // ---- virtual network --------------------------------------------------------------------

  async getVnet(rg: string, name: string): Promise<VnetInfo | undefined> {
    const client = await this.network()
    try {
      const v = await this.call((abortSignal) => client.virtualNetworks.get(rg, name, { abortSignal }))
      return {
        id: v.id ?? '',
        location: v.location ?? '',
        addressPrefixes: v.addressSpace?.addressPrefixes ?? [],
        subnets: (v.subnets ?? []).map((s) => ({
          id: s.id ?? '',
          name: s.name ?? '',
          addressPrefix: s.addressPrefix ?? s.addressPrefixes?.[0],
          inUse: (s.ipConfigurations?.length ?? 0) > 0 || (s.privateEndpoints?.length ?? 0) > 0,
        })),
      }
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  async createVnet(
    rg: string,
    name: string,
    p: { location: string; tags: Record<string, string>; addressPrefix: string; subnet: string; subnetPrefix: string },
  ): Promise<{ subnetId: string }> {
    const client = await this.network()
    const v = await this.lro(`create virtual network ${name}`, 'network', (o) =>
      client.virtualNetworks.createOrUpdate(
        rg,
        name,
        {
          location: p.location,
          tags: p.tags,
          addressSpace: { addressPrefixes: [p.addressPrefix] },
          // defaultOutboundAccess: new subnets are private by default now; a machine without a
          // public IP still has to download the engine during provisioning.
          subnets: [{ name: p.subnet, addressPrefix: p.subnetPrefix, defaultOutboundAccess: true }],
        },
        o,
      ),
    )
    const subnet = v.subnets?.find((s) => s.name === p.subnet)
    return { subnetId: subnet?.id ?? `${v.id ?? ''}/subnets/${p.subnet}` }
  }

  async deleteVnet(rg: string, name: string): Promise<void> {
    const client = await this.network()
    await this.lro(`delete virtual network ${name}`, 'network', (o) => client.virtualNetworks.delete(rg, name, o))
  }

  async getSubnet(rg: string, vnet: string, name: string): Promise<SubnetInfo | undefined> {
    const client = await this.network()
    try {
      const s = await this.call((abortSignal) => client.subnets.get(rg, vnet, name, { abortSignal }))
      return {
        id: s.id ?? '',
        name: s.name ?? name,
        addressPrefix: s.addressPrefix ?? s.addressPrefixes?.[0],
        inUse: (s.ipConfigurations?.length ?? 0) > 0 || (s.privateEndpoints?.length ?? 0) > 0,
      }
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  async createSubnet(rg: string, vnet: string, name: string, prefix: string): Promise<{ id: string }> {
    const client = await this.network()
    const s = await this.lro(`create subnet ${name}`, 'network', (o) =>
      client.subnets.createOrUpdate(rg, vnet, name, { addressPrefix: prefix, defaultOutboundAccess: true }, o),
    )
    return { id: s.id ?? '' }
  }

  async deleteSubnet(rg: string, vnet: string, name: string): Promise<void> {
    const client = await this.network()
    await this.lro(`delete subnet ${name}`, 'network', (o) => client.subnets.delete(rg, vnet, name, o))
  }

  // ---- public IP ----------------------------------------------------------------------------

  async createPublicIp(rg: string, name: string, p: { location: string; tags: Record<string, string>; dnsLabel?: string }): Promise<PublicIpInfo> {
    const client = await this.network()
    const ip = await this.lro(`create public IP ${name}`, 'network', (o) =>
      client.publicIPAddresses.createOrUpdate(
        rg,
        name,
        {
          location: p.location,
          tags: p.tags,
          // Basic public IPs are retired: Standard is the only SKU, and it is always static.
          sku: { name: 'Standard', tier: 'Regional' },
          publicIPAllocationMethod: 'Static',
          publicIPAddressVersion: 'IPv4',
          ...(p.dnsLabel ? { dnsSettings: { domainNameLabel: p.dnsLabel } } : {}),
        },
        o,
      ),
    )
    return { id: ip.id ?? '', ipAddress: ip.ipAddress, fqdn: ip.dnsSettings?.fqdn }
  }

  async getPublicIp(rg: string, name: string): Promise<PublicIpInfo> {
    const client = await this.network()
    const ip = await this.call((abortSignal) => client.publicIPAddresses.get(rg, name, { abortSignal }))
    return { id: ip.id ?? '', ipAddress: ip.ipAddress, fqdn: ip.dnsSettings?.fqdn }
  }

  async deletePublicIp(rg: string, name: string): Promise<void> {
    const client = await this.network()
    await this.lro(`delete public IP ${name}`, 'network', (o) => client.publicIPAddresses.delete(rg, name, o))
  }

  // ---- network interface --------------------------------------------------------------------

  async createNic(
    rg: string,
    name: string,
    p: { location: string; tags: Record<string, string>; subnetId: string; nsgId: string; publicIpId?: string; privateIpAddress?: string },
  ): Promise<NicInfo> {
    const client = await this.network()
    const nic = await this.lro(`create network interface ${name}`, 'network', (o) =>
      client.networkInterfaces.createOrUpdate(
        rg,
        name,
        {
          location: p.location,
          tags: p.tags,
          networkSecurityGroup: { id: p.nsgId },
          ipConfigurations: [
            {
              name: 'ip',
              primary: true,
              subnet: { id: p.subnetId },
              privateIPAllocationMethod: p.privateIpAddress ? 'Static' : 'Dynamic',
              ...(p.privateIpAddress ? { privateIPAddress: p.privateIpAddress } : {}),
              ...(p.publicIpId ? { publicIPAddress: { id: p.publicIpId } } : {}),
            },
          ],
        },
        o,
      ),
    )
    return { id: nic.id ?? '', privateIpAddress: nic.ipConfigurations?.[0]?.privateIPAddress }
  }

  async getNic(rg: string, name: string): Promise<NicInfo> {
    const client = await this.network()
    const nic = await this.call((abortSignal) => client.networkInterfaces.get(rg, name, { abortSignal }))
    const primary = nic.ipConfigurations?.find((c) => c.primary) ?? nic.ipConfigurations?.[0]
    return { id: nic.id ?? '', privateIpAddress: primary?.privateIPAddress }
  }

  async deleteNic(rg: string, name: string): Promise<void> {
    const client = await this.network()
    await this.lro(`delete network interface ${name}`, 'network', (o) => client.networkInterfaces.delete(rg, name, o))
  }

  // ---- availability set ---------------------------------------------------------------------

  async getAvailabilitySet(rg: string, name: string): Promise<{ id: string; vmCount: number } | undefined> {
    const client = await this.compute()
    try {
      const a = await this.call((abortSignal) => client.availabilitySets.get(rg, name, { abortSignal }))
      return { id: a.id ?? '', vmCount: a.virtualMachines?.length ?? 0 }
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  async createAvailabilitySet(rg: string, name: string, p: { location: string; tags: Record<string, string> }): Promise<{ id: string }> {
    const client = await this.compute()
    const a = await this.call((abortSignal) =>
      client.availabilitySets.createOrUpdate(
        rg,
        name,
        // "Aligned" is required for VMs with managed disks; 2 fault domains exist in every region.
        { location: p.location, tags: p.tags, sku: { name: 'Aligned' }, platformFaultDomainCount: 2, platformUpdateDomainCount: 5 },
        { abortSignal },
      ),
    )
    return { id: a.id ?? '' }
  }

  async deleteAvailabilitySet(rg: string, name: string): Promise<void> {
    const client = await this.compute()
    await this.call((abortSignal) => client.availabilitySets.delete(rg, name, { abortSignal }))
  }

  // ---- virtual machine ----------------------------------------------------------------------

  async createVm(rg: string, name: string, p: VmSpec): Promise<VmInfo> {
    const client = await this.compute()
    const vm: VirtualMachine = {
      location: p.location,
      tags: p.tags,
      hardwareProfile: { vmSize: p.size },
      storageProfile: {
        imageReference: p.image.id
          ? { id: p.image.id }
          : { publisher: p.image.publisher, offer: p.image.offer, sku: p.image.sku, version: p.image.version },
        osDisk: {
          name: p.osDiskName,
          createOption: 'FromImage',
          caching: 'ReadWrite',
          managedDisk: { storageAccountType: p.storageType },
          // Deleting the VM (portal, CLI, or us) takes its OS disk along: no orphaned disk bills.
          deleteOption: 'Delete',
          ...(p.diskSizeGb ? { diskSizeGB: p.diskSizeGb } : {}),
        },
      },
      osProfile: {
        computerName: p.computerName,
        adminUsername: p.adminUsername,
        customData: Buffer.from(p.customData, 'utf8').toString('base64'),
        linuxConfiguration: {
          disablePasswordAuthentication: true,
          ssh: { publicKeys: [{ path: `/home/${p.adminUsername}/.ssh/authorized_keys`, keyData: p.sshPublicKey }] },
          provisionVMAgent: true,
        },
      },
      networkProfile: { networkInterfaces: [{ id: p.nicId, primary: true }] },
      // Managed boot diagnostics: the serial log and screenshot when a boot goes wrong.
      diagnosticsProfile: { bootDiagnostics: { enabled: true } },
      ...(p.availabilitySetId ? { availabilitySet: { id: p.availabilitySetId } } : {}),
    }
    const made = await this.lro(`create virtual machine ${name}`, 'vm', (o) =>
      // If-None-Match: * so a VM of the same name made meanwhile is never overwritten.
      client.virtualMachines.createOrUpdate(rg, name, vm, { ...o, ifNoneMatch: '*' }),
    )
    return { id: made.id ?? '', vmId: made.vmId, provisioningState: made.provisioningState }
  }

  /** Status codes of the VM's instance view: "ProvisioningState/succeeded", "PowerState/running"… */
  async instanceView(rg: string, name: string): Promise<string[]> {
    const client = await this.compute()
    const view = await this.call((abortSignal) => client.virtualMachines.instanceView(rg, name, { abortSignal }))
    return (view.statuses ?? []).map((s) => s.code ?? '').filter(Boolean)
  }

  async startVm(rg: string, name: string): Promise<void> {
    const client = await this.compute()
    await this.lro(`start virtual machine ${name}`, 'vm', (o) => client.virtualMachines.start(rg, name, o))
  }

  async deallocateVm(rg: string, name: string): Promise<void> {
    const client = await this.compute()
    await this.lro(`deallocate virtual machine ${name}`, 'vm', (o) => client.virtualMachines.deallocate(rg, name, o))
  }

  async powerOffVm(rg: string, name: string, skipShutdown: boolean): Promise<void> {
    const client = await this.compute()
    await this.lro(`power off virtual machine ${name}`, 'vm', (o) =>
      client.virtualMachines.powerOff(rg, name, { ...o, ...(skipShutdown ? { skipShutdown: true } : {}) }),
    )
  }

  async restartVm(rg: string, name: string): Promise<void> {
    const client = await this.compute()
    await this.lro(`restart virtual machine ${name}`, 'vm', (o) => client.virtualMachines.restart(rg, name, o))
  }

  async deleteVm(rg: string, name: string): Promise<void> {
    const client = await this.compute()
    await this.lro(`delete virtual machine ${name}`, 'vm', (o) => client.virtualMachines.delete(rg, name, o))
  }

  async deleteDisk(rg: string, name: string): Promise<void> {
    const client = await this.compute()
    await this.lro(`delete disk ${name}`, 'vm', (o) => client.disks.delete(rg, name, o))
  }
}

export const connect = (o: ClientOptions): AzureClient => new AzureClient(o)
