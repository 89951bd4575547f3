/**
 * The driver's settings for one invocation, read from the saved driver config first (so `start`,
 * `rm`… act on what `create` used even when defaults change) and from this invocation's options
 * second. Secrets come only from the options: they are never saved.
 */
import type { DriverContext } from '../../src/driver-kit/contract.js'
import { optionProperty, type OptionValue } from '../../src/driver-kit/options.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { azureEnvironment, type AzureEnvironment } from './environments.js'
import {
  azureOptions,
  DEFAULT_IMAGE,
  normalizeLocation,
  parseImage,
  parseOpenPort,
  parseVnet,
  type ImageRef,
  type OpenPort,
} from './options.js'

export interface ResourceNames {
  vm: string
  nsg: string
  nic: string
  publicIp: string
  osDisk: string
}

export interface AzureSettings {
  subscriptionId: string
  environment: AzureEnvironment
  clientId?: string
  clientSecret?: string
  tenantId?: string
  resourceGroup: string
  location: string
  size: string
  image: ImageRef
  imageText: string
  sshUser: string
  dockerPort: number
  vnetResourceGroup: string
  vnet: string
  subnet: string
  subnetPrefix: string
  availabilitySet?: string
  openPorts: OpenPort[]
  privateIpAddress?: string
  usePrivateIp: boolean
  noPublicIp: boolean
  staticPublicIp: boolean
  dnsLabel?: string
  storageType: string
  diskSizeGb?: number
  customDataFile?: string
  stopKeepAllocated: boolean
  names: ResourceNames
  /** Poll interval of long-running operations (MACHINE_POLL_INTERVAL_MS; tests make it tiny). */
  pollIntervalMs: number
  /** Upper bound for one long-running operation (MACHINE_OPERATION_TIMEOUT_MS). */
  operationTimeoutMs?: number
}

/** docker-machine's resource names, so a store created by either tool names the same things. */
export const resourceNames = (machine: string): ResourceNames => ({
  vm: machine,
  nsg: `${machine}-firewall`,
  nic: `${machine}-nic`,
  publicIp: `${machine}-ip`,
  osDisk: `${machine}-os-disk`,
})

const positiveInt = (v: string | undefined): number | undefined => {
  if (v === undefined || v.trim() === '') return undefined
  const n = Number(v)
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined
}

export function readSettings(ctx: DriverContext): AzureSettings {
  // Resolved by the kit already (flag → saved config → env → default; secrets never saved).
  const value = (name: string): OptionValue | undefined => {
    if (!azureOptions.some((o) => o.name === name)) throw new Error(`internal: no azure option ${name}`)
    return ctx.options[optionProperty(name)]
  }
  const s = (name: string): string | undefined => {
    const v = value(name)
    return v === undefined || v === '' ? undefined : String(v)
  }
  const b = (name: string): boolean => value(name) === true || value(name) === 'true'

  const subscriptionId = s('subscription-id')
  if (!subscriptionId) {
    throw new MachineError('missing-option', '--azure-subscription-id is required for the azure driver', {
      hint: 'pass --azure-subscription-id <id> (or set AZURE_SUBSCRIPTION_ID); `az account show --query id -o tsv` prints yours',
    })
  }
  const resourceGroup = s('resource-group') ?? 'docker-machine'
  const imageText = s('image') ?? DEFAULT_IMAGE
  const image = parseImage(imageText)
  if (!image) throw new MachineError('invalid-option', `--azure-image: "${imageText}" is not an image`)
  const vnet = parseVnet(s('vnet') ?? 'docker-machine-vnet', resourceGroup)
  const openPorts = ((value('open-port') as string[] | string | undefined) ?? [])
  const noPublicIp = b('no-public-ip')
  const diskSize = value('disk-size')
  return {
    subscriptionId,
    environment: azureEnvironment(s('environment') ?? 'AzurePublicCloud'),
    clientId: s('client-id'),
    clientSecret: s('client-secret'),
    tenantId: s('tenant-id'),
    resourceGroup,
    location: normalizeLocation(s('location') ?? 'westus'),
    size: s('size') ?? 'Standard_B2s',
    image,
    imageText,
    sshUser: s('ssh-user') ?? 'docker-user',
    dockerPort: Number(value('docker-port') ?? 2376),
    vnetResourceGroup: vnet.resourceGroup,
    vnet: vnet.name,
    subnet: s('subnet') ?? 'docker-machine',
    subnetPrefix: s('subnet-prefix') ?? '192.168.0.0/16',
    availabilitySet: s('availability-set'),
    openPorts: (Array.isArray(openPorts) ? openPorts : [openPorts])
      .map((p) => parseOpenPort(String(p)))
      .filter((p): p is OpenPort => p !== undefined),
    privateIpAddress: s('private-ip-address'),
    // Without a public IP the private one is the only way in (docker-machine did the same).
    usePrivateIp: b('use-private-ip') || noPublicIp,
    noPublicIp,
    staticPublicIp: b('static-public-ip'),
    dnsLabel: s('dns'),
    storageType: s('storage-type') ?? 'StandardSSD_LRS',
    diskSizeGb: diskSize === undefined || diskSize === '' ? undefined : Number(diskSize),
    customDataFile: s('custom-data'),
    stopKeepAllocated: b('stop-keep-allocated'),
    names: resourceNames(String(ctx.config.MachineName ?? ctx.machineName)),
    pollIntervalMs: positiveInt(ctx.env.MACHINE_POLL_INTERVAL_MS) ?? 3000,
    operationTimeoutMs: positiveInt(ctx.env.MACHINE_OPERATION_TIMEOUT_MS),
  }
}

/** ARM resource ids, known before anything exists so the journal can name what is about to be made. */
export const ids = {
  group: (sub: string, rg: string) => `/subscriptions/${sub}/resourceGroups/${rg}`,
  network: (sub: string, rg: string, type: string, name: string) =>
    `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Network/${type}/${name}`,
  compute: (sub: string, rg: string, type: string, name: string) =>
    `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/${type}/${name}`,
}
