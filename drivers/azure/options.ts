/**
 * The azure driver's options, imported by the definition (index.ts) and, typed, by the lifecycle
 * code: docker-machine's flag names and AZURE_* environment variables, with
 * current defaults (docker-machine's Standard_A2 size and Ubuntu 16.04 image no longer exist).
 * Saved config keys follow docker-machine's azure driver JSON so imported stores read the same.
 *
 * Pure: no SDK import (this is loaded by `--help`).
 */
import { MachineError } from '../../src/driver-kit/errors.js'
import type { OptionSpec, OptionValue, OptionsOf } from '../../src/driver-kit/options.js'
import { AZURE_ENVIRONMENT_NAMES } from './environments.js'
import { cidrContains, parseCidr, parseIpv4 } from '../../src/driver-kit/ipv4.js'

export { cidrContains, parseCidr, parseIpv4 }

export const DEFAULT_IMAGE = 'Canonical:ubuntu-24_04-lts:server:latest'

/** Azure CLI style image aliases, so `--azure-image Ubuntu2404` works like `az vm create --image`. */
export const IMAGE_ALIASES: Readonly<Record<string, string>> = {
  ubuntu2404: DEFAULT_IMAGE,
  ubuntu2204: 'Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest',
  debian12: 'Debian:debian-12:12-gen2:latest',
  debian13: 'Debian:debian-13:13-gen2:latest',
}

export const STORAGE_TYPES = ['Standard_LRS', 'StandardSSD_LRS', 'Premium_LRS', 'StandardSSD_ZRS', 'Premium_ZRS'] as const

/** Linux admin names Azure refuses (its API answers "InvalidParameter" only after validation). */
const RESERVED_USERS = new Set(
  (
    'administrator admin user user1 test user2 test1 user3 admin1 1 123 a actuser adm admin2 aspnet backup ' +
    'console david guest john owner root server sql support support_388945a0 sys test2 test3 user4 user5'
  ).split(' '),
)

const str = (v: OptionValue): string => (typeof v === 'string' ? v : String(v))

export function validateSubscriptionId(v: OptionValue): string | undefined {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(str(v))
    ? undefined
    : `"${str(v)}" is not a subscription id (a GUID such as 00000000-0000-0000-0000-000000000000; see \`az account list -o table\`)`
}

export function validateResourceGroup(v: OptionValue): string | undefined {
  const s = str(v)
  return /^[-\w.()]{1,90}$/.test(s) && !s.endsWith('.')
    ? undefined
    : `"${s}" is not a valid resource group name (1-90 letters, digits, - _ . ( ), not ending with a dot)`
}

export interface ImageRef {
  publisher?: string
  offer?: string
  sku?: string
  version?: string
  /** Full resource id of a managed image or gallery image version. */
  id?: string
}

/** publisher:offer:sku:version, an alias, or a resource id (/subscriptions/…/images/… or galleries). */
export function parseImage(v: string): ImageRef | undefined {
  const s = IMAGE_ALIASES[v.toLowerCase()] ?? v
  if (s.startsWith('/subscriptions/')) return { id: s }
  const parts = s.split(':')
  if (parts.length !== 4 || parts.some((p) => p.trim() === '')) return undefined
  const [publisher, offer, sku, version] = parts as [string, string, string, string]
  return { publisher, offer, sku, version }
}

export function validateImage(v: OptionValue): string | undefined {
  return parseImage(str(v))
    ? undefined
    : `"${str(v)}" is not an image: use publisher:offer:sku:version (e.g. ${DEFAULT_IMAGE}), an alias (${Object.keys(
        IMAGE_ALIASES,
      ).join(', ')}) or an image resource id`
}

export function validateSshUser(v: OptionValue): string | undefined {
  const s = str(v)
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(s)) return `"${s}" is not a valid Linux user name (lower case, up to 32 characters)`
  if (RESERVED_USERS.has(s)) return `Azure does not allow "${s}" as the admin user; pick another name (default docker-user)`
  return undefined
}

export function validatePort(v: OptionValue): string | undefined {
  const n = Number(v)
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? undefined : `${String(v)} is not a TCP port (1-65535)`
}

/** `8080`, `8080/tcp`, `53/udp`, `30000-30100/tcp`: what docker-machine's --azure-open-port accepted, plus ranges. */
export interface OpenPort {
  ports: string
  protocol: 'Tcp' | 'Udp' | '*'
}

export function parseOpenPort(spec: string): OpenPort | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|\*))?$/i.exec(spec.trim())
  if (!m) return undefined
  const from = Number(m[1])
  const to = m[2] === undefined ? from : Number(m[2])
  if (from < 1 || to > 65535 || to < from) return undefined
  const proto = (m[3] ?? 'tcp').toLowerCase()
  return {
    ports: from === to ? String(from) : `${from}-${to}`,
    protocol: proto === 'udp' ? 'Udp' : proto === '*' ? '*' : 'Tcp',
  }
}

export function validateOpenPorts(v: OptionValue): string | undefined {
  const list = Array.isArray(v) ? v : [str(v)]
  const bad = list.filter((p) => !parseOpenPort(p))
  return bad.length ? `${bad.map((b) => `"${b}"`).join(', ')}: use PORT[/tcp|udp] or FROM-TO[/tcp|udp]` : undefined
}

export function validateCidr(v: OptionValue): string | undefined {
  return parseCidr(str(v)) ? undefined : `"${str(v)}" is not an IPv4 CIDR prefix such as 192.168.0.0/16`
}

export function validateIpv4(v: OptionValue): string | undefined {
  return parseIpv4(str(v)) !== undefined ? undefined : `"${str(v)}" is not an IPv4 address`
}

export function validateDnsLabel(v: OptionValue): string | undefined {
  return /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/.test(str(v))
    ? undefined
    : `"${str(v)}" is not a DNS label Azure accepts (3-63 lower-case letters, digits and dashes, starting with a letter)`
}

/** `[resource-group:]name`, as docker-machine accepted for a virtual network in another group. */
export function parseVnet(v: string, defaultGroup: string): { resourceGroup: string; name: string } {
  const i = v.indexOf(':')
  return i < 0 ? { resourceGroup: defaultGroup, name: v } : { resourceGroup: v.slice(0, i), name: v.slice(i + 1) }
}

export function validateVnet(v: OptionValue): string | undefined {
  const s = str(v)
  const i = s.indexOf(':')
  const name = i < 0 ? s : s.slice(i + 1)
  if (i >= 0 && validateResourceGroup(s.slice(0, i))) return `"${s}": the part before ":" must be a resource group name`
  return /^[\w][-\w.]{0,62}[\w]$|^\w$/.test(name) ? undefined : `"${s}" is not a virtual network name ([resource-group:]name)`
}

export const normalizeLocation = (l: string): string => l.replace(/\s+/g, '').toLowerCase()

export const options = [
  {
    name: 'subscription-id',
    type: 'string',
    description: 'Azure subscription id to create the machine in',
    env: ['AZURE_SUBSCRIPTION_ID'],
    required: true,
    configKey: 'SubscriptionID',
    validate: validateSubscriptionId,
  },
  {
    name: 'environment',
    type: 'string',
    description: 'Azure cloud: Resource Manager endpoint and sign-in authority',
    env: ['AZURE_ENVIRONMENT'],
    default: 'AzurePublicCloud',
    choices: AZURE_ENVIRONMENT_NAMES,
    configKey: 'Environment',
  },
  {
    name: 'client-id',
    type: 'string',
    description: 'Service principal (app registration) client id; with --azure-client-secret signs in as that principal',
    env: ['AZURE_CLIENT_ID'],
    configKey: 'ClientID',
  },
  {
    name: 'client-secret',
    type: 'string',
    description: 'Service principal client secret (used for this command only, never saved)',
    env: ['AZURE_CLIENT_SECRET'],
    secret: true,
  },
  {
    name: 'tenant-id',
    type: 'string',
    description: "Entra ID tenant of the service principal (default: looked up from the subscription)",
    env: ['AZURE_TENANT_ID'],
    configKey: 'TenantID',
  },
  {
    name: 'resource-group',
    type: 'string',
    description: 'Resource group for the machine (created when missing)',
    env: ['AZURE_RESOURCE_GROUP'],
    default: 'docker-machine',
    configKey: 'ResourceGroup',
    validate: validateResourceGroup,
  },
  {
    name: 'location',
    type: 'string',
    description: 'Azure region (`az account list-locations -o table`)',
    env: ['AZURE_LOCATION'],
    default: 'westus',
    configKey: 'Location',
  },
  {
    name: 'size',
    type: 'string',
    description: 'Virtual machine size (`az vm list-sizes -l <location> -o table`)',
    env: ['AZURE_SIZE'],
    default: 'Standard_B2s',
    configKey: 'Size',
  },
  {
    name: 'image',
    type: 'string',
    description: 'Image as publisher:offer:sku:version, an alias (Ubuntu2404, Ubuntu2204, Debian12) or an image resource id',
    env: ['AZURE_IMAGE'],
    default: DEFAULT_IMAGE,
    configKey: 'Image',
    validate: validateImage,
  },
  {
    name: 'ssh-user',
    type: 'string',
    description: 'Admin user created on the machine and used for SSH',
    env: ['AZURE_SSH_USER'],
    default: 'docker-user',
    configKey: 'SSHUser',
    validate: validateSshUser,
  },
  {
    name: 'docker-port',
    type: 'int',
    description: 'Port the Docker engine listens on (TLS)',
    env: ['AZURE_DOCKER_PORT'],
    default: 2376,
    configKey: 'DockerPort',
    validate: validatePort,
  },
  {
    name: 'vnet',
    type: 'string',
    description: 'Virtual network, [resource-group:]name (created in the machine\'s group when missing)',
    env: ['AZURE_VNET'],
    default: 'docker-machine-vnet',
    configKey: 'VirtualNetwork',
    validate: validateVnet,
  },
  {
    name: 'subnet',
    type: 'string',
    description: 'Subnet of the virtual network (created when missing)',
    env: ['AZURE_SUBNET'],
    default: 'docker-machine',
    configKey: 'SubnetName',
  },
  {
    name: 'subnet-prefix',
    type: 'string',
    description: 'Address prefix of the subnet (and of the virtual network) when they are created',
    env: ['AZURE_SUBNET_PREFIX'],
    default: '192.168.0.0/16',
    configKey: 'SubnetPrefix',
    validate: validateCidr,
  },
  {
    name: 'availability-set',
    type: 'string',
    description: 'Availability set to place the machine in (created when missing; none by default)',
    env: ['AZURE_AVAILABILITY_SET'],
    configKey: 'AvailabilitySet',
    validate: validateResourceGroup,
  },
  {
    name: 'open-port',
    type: 'string[]',
    description: 'Extra inbound port to open, PORT[/tcp|udp] or FROM-TO[/tcp|udp] (repeatable)',
    configKey: 'OpenPorts',
    validate: validateOpenPorts,
  },
  {
    name: 'swarm-ports',
    type: 'boolean',
    description:
      'Allow swarm mode (2377/tcp, 7946/tcp+udp, 4789/udp) from the virtual network only (NSG rules from the VirtualNetwork service tag, never the Internet); they go with the machine\'s own NSG. Default: on for a machine that joins a swarm (--swarm, --swarm-master); AZURE_SWARM_PORTS=false turns it off',
    env: ['AZURE_SWARM_PORTS'],
    configKey: 'SwarmPorts',
    // A swarm's nodes must reach each other's swarm ports: opened for them unless told otherwise.
    clusterDefault: true,
  },
  {
    name: 'private-ip-address',
    type: 'string',
    description: 'Static private IP address for the machine (default: assigned by Azure)',
    env: ['AZURE_PRIVATE_IP_ADDRESS'],
    configKey: 'PrivateIPAddr',
    validate: validateIpv4,
  },
  {
    name: 'use-private-ip',
    type: 'boolean',
    description: 'Reach SSH and the engine on the private IP (when this computer is in the virtual network)',
    env: ['AZURE_USE_PRIVATE_IP'],
    configKey: 'UsePrivateIP',
  },
  {
    name: 'static-public-ip',
    type: 'boolean',
    description: 'Keep the public IP across stop/start (always true: Azure only offers static Standard public IPs now)',
    env: ['AZURE_STATIC_PUBLIC_IP'],
    configKey: 'StaticPublicIP',
  },
  {
    name: 'no-public-ip',
    type: 'boolean',
    description: 'Create no public IP (implies --azure-use-private-ip)',
    env: ['AZURE_NO_PUBLIC_IP'],
    configKey: 'NoPublicIP',
  },
  {
    name: 'dns',
    type: 'string',
    description: 'DNS label for the public IP: <label>.<location>.cloudapp.azure.com',
    env: ['AZURE_DNS'],
    configKey: 'DNSLabel',
    validate: validateDnsLabel,
  },
  {
    name: 'storage-type',
    type: 'string',
    description: 'OS disk type',
    env: ['AZURE_STORAGE_TYPE'],
    default: 'StandardSSD_LRS',
    choices: STORAGE_TYPES,
    configKey: 'StorageType',
  },
  {
    name: 'disk-size',
    type: 'int',
    description: 'OS disk size in GB (default: the image\'s, 30 GB for Ubuntu)',
    env: ['AZURE_DISK_SIZE'],
    configKey: 'DiskSize',
    validate: (v: OptionValue) => (Number(v) >= 30 && Number(v) <= 4095 ? undefined : `${String(v)} GB: use 30 to 4095`),
  },
  {
    name: 'custom-data',
    type: 'string',
    description: 'File with cloud-init user data (cloud-config or a script) to run besides the driver\'s own',
    env: ['AZURE_CUSTOM_DATA'],
    configKey: 'CustomDataFile',
  },
  {
    name: 'stop-keep-allocated',
    type: 'boolean',
    description: '`machine stop` only powers off (faster start, but compute keeps being billed) instead of deallocating',
    env: ['AZURE_STOP_KEEP_ALLOCATED'],
    configKey: 'StopKeepAllocated',
  },
] as const satisfies readonly OptionSpec[]

export type AzureOptions = OptionsOf<typeof options>

// ---- values derived from the options (each already validated by the kit) -------------------------

/** The image --azure-image names (an alias, publisher:offer:sku:version or a resource id). */
export function imageOf(o: Pick<AzureOptions, 'image'>): ImageRef {
  const image = parseImage(o.image)
  if (!image) throw new MachineError('invalid-option', `--azure-image: "${o.image}" is not an image`)
  return image
}

/** --azure-vnet's [resource-group:]name; the machine's resource group by default. */
export const vnetOf = (o: Pick<AzureOptions, 'vnet' | 'resourceGroup'>) => parseVnet(o.vnet, o.resourceGroup)

/** The location as Azure spells it in answers ("West US" → westus). */
export const locationOf = (o: Pick<AzureOptions, 'location'>): string => normalizeLocation(o.location)

export const openPortsOf = (o: Pick<AzureOptions, 'openPort'>): OpenPort[] =>
  o.openPort.map(parseOpenPort).filter((p): p is OpenPort => p !== undefined)

/** Without a public IP the private one is the only way in (docker-machine did the same). */
export const usesPrivateIp = (o: Pick<AzureOptions, 'usePrivateIp' | 'noPublicIp'>): boolean => o.usePrivateIp || o.noPublicIp

/** What Azure accepts as custom data: 64 KiB before base64. */
export const CUSTOM_DATA_LIMITS = { flag: '--azure-custom-data', maxBytes: 65535, provider: 'Azure' }
