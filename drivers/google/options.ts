/**
 * The google driver's options and the defaults they are declared with (here only): imported by
 * the definition (index.ts) and, typed, by the lifecycle code (no index <-> driver import cycle).
 */
import type { OptionSpec, OptionValue } from '../../src/driver-kit/options.js'

/** Current Ubuntu LTS, by image family: the newest image of the family is looked up at create time. */
export const DEFAULT_IMAGE = 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64'
export const DEFAULT_SCOPES = [
  'https://www.googleapis.com/auth/devstorage.read_only',
  'https://www.googleapis.com/auth/logging.write',
  'https://www.googleapis.com/auth/monitoring.write',
].join(',')

/** A Compute Engine resource name (instances, network tags): RFC 1035, at most 63 characters. */
export const GCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/
const list = (v: OptionValue): string[] =>
  String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

/** "8080", "8080/tcp", "53/udp", "8000-8100/tcp" (docker-machine's --*-open-port syntax, plus ranges). */
export function validPortSpec(spec: string): boolean {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp))?$/.exec(spec.trim())
  if (!m) return false
  const lo = Number(m[1])
  const hi = m[2] === undefined ? lo : Number(m[2])
  return lo >= 1 && hi <= 65535 && lo <= hi
}

export const options = [
  {
    name: 'project',
    configKey: 'Project',
    type: 'string',
    env: ['GOOGLE_PROJECT', 'CLOUDSDK_CORE_PROJECT'],
    description:
      'Google Cloud project ID (default: the [core] project of the active gcloud configuration, then the project of the credentials file)',
  },
  {
    name: 'zone',
    configKey: 'Zone',
    type: 'string',
    default: 'us-central1-a',
    env: ['GOOGLE_ZONE'],
    description: 'Zone to create the instance in',
    validate: (v: OptionValue) => (/^[a-z]+-[a-z]+\d+-[a-z]$/.test(String(v)) ? undefined : `"${String(v)}" is not a zone name like us-central1-a`),
  },
  {
    name: 'machine-type',
    configKey: 'MachineType',
    type: 'string',
    default: 'e2-small',
    env: ['GOOGLE_MACHINE_TYPE'],
    description: 'Machine type (e2-small: 2 shared vCPUs, 2 GB)',
  },
  {
    name: 'machine-image',
    configKey: 'MachineImage',
    type: 'string',
    default: DEFAULT_IMAGE,
    env: ['GOOGLE_MACHINE_IMAGE'],
    description:
      'Boot image: an image or image family URL or path (projects/P/global/images/NAME, projects/P/global/images/family/FAMILY, P/global/images/NAME) or an image name in the project',
  },
  {
    name: 'username',
    configKey: 'SSHUser',
    type: 'string',
    default: 'docker-user',
    env: ['GOOGLE_USERNAME'],
    description: 'User created on the instance for SSH',
    validate: (v: OptionValue) => (/^[a-z_][a-z0-9_-]{0,31}$/.test(String(v)) ? undefined : `"${String(v)}" is not a valid Linux user name`),
  },
  {
    name: 'disk-size',
    configKey: 'DiskSize',
    type: 'int',
    default: 10,
    env: ['GOOGLE_DISK_SIZE'],
    description: 'Boot disk size in GB',
    validate: (v: OptionValue) => (Number(v) >= 10 && Number(v) <= 65536 ? undefined : 'must be between 10 and 65536 (GB)'),
  },
  {
    name: 'disk-type',
    configKey: 'DiskType',
    type: 'string',
    default: 'pd-balanced',
    env: ['GOOGLE_DISK_TYPE'],
    description: 'Boot disk type (pd-standard, pd-balanced, pd-ssd, hyperdisk-balanced…)',
  },
  {
    name: 'network',
    configKey: 'Network',
    type: 'string',
    default: 'default',
    env: ['GOOGLE_NETWORK'],
    description: 'VPC network name, or projects/HOST/global/networks/NAME for a Shared VPC',
  },
  {
    name: 'subnetwork',
    configKey: 'Subnetwork',
    type: 'string',
    env: ['GOOGLE_SUBNETWORK'],
    description: 'Subnetwork name in the zone\'s region (needed for custom-mode networks), or its full path',
  },
  {
    name: 'address',
    configKey: 'Address',
    type: 'string',
    env: ['GOOGLE_ADDRESS'],
    description: 'Static external IP: an address, or the name of an address reserved in the zone\'s region',
  },
  {
    name: 'preemptible',
    configKey: 'Preemptible',
    type: 'boolean',
    env: ['GOOGLE_PREEMPTIBLE'],
    description: 'Create a preemptible (Spot-priced, stoppable by Google at any time) instance',
  },
  {
    name: 'tags',
    configKey: 'Tags',
    type: 'string',
    env: ['GOOGLE_TAGS'],
    description: 'Extra network tags, comma-separated',
    validate: (v: OptionValue) => {
      const bad = list(v).find((t) => !GCE_NAME.test(t))
      return bad === undefined ? undefined : `"${bad}" is not a valid network tag (lower-case letters, digits, dashes)`
    },
  },
  {
    name: 'scopes',
    configKey: 'Scopes',
    type: 'string',
    default: DEFAULT_SCOPES,
    env: ['GOOGLE_SCOPES'],
    description: 'OAuth scopes of the instance\'s service account, comma-separated (short names like cloud-platform are expanded)',
  },
  {
    name: 'use-internal-ip',
    configKey: 'UseInternalIP',
    type: 'boolean',
    env: ['GOOGLE_USE_INTERNAL_IP'],
    description: 'Reach the instance on its internal IP instead of its external one',
  },
  {
    name: 'use-internal-ip-only',
    configKey: 'UseInternalIPOnly',
    type: 'boolean',
    env: ['GOOGLE_USE_INTERNAL_IP_ONLY'],
    description: 'Give the instance no external IP at all (implies --google-use-internal-ip)',
  },
  {
    name: 'use-existing',
    configKey: 'UseExisting',
    type: 'boolean',
    env: ['GOOGLE_USE_EXISTING'],
    description: 'Do not create an instance: use the existing one named like the machine (it is left in place on rm)',
  },
  {
    name: 'swarm-ports',
    configKey: 'SwarmPorts',
    type: 'boolean',
    env: ['GOOGLE_SWARM_PORTS'],
    description:
      'Allow swarm mode between the machines of the network (2377/tcp, 7946/tcp+udp, 4789/udp) with a firewall rule whose sources and targets are its own network tag, never the world; deleted with the last machine carrying it. Default: on for a machine that joins a swarm (--swarm, --swarm-master); GOOGLE_SWARM_PORTS=false turns it off',
    // A swarm's nodes must reach each other's swarm ports: opened for them unless told otherwise.
    clusterDefault: true,
  },
  {
    name: 'open-port',
    configKey: 'OpenPorts',
    type: 'string[]',
    env: ['GOOGLE_OPEN_PORT'],
    description: 'Also open this port to the Internet, e.g. 8080/tcp (repeatable)',
    validate: (v: OptionValue) => {
      const bad = (v as string[]).find((p) => !validPortSpec(p))
      return bad === undefined ? undefined : `"${bad}" is not a port like 8080, 8080/tcp, 53/udp or 8000-8100/tcp`
    },
  },
  {
    name: 'service-account',
    configKey: 'ServiceAccount',
    type: 'string',
    default: 'default',
    env: ['GOOGLE_SERVICE_ACCOUNT'],
    description: 'Service account the instance runs as: "default" (the Compute Engine default account), an e-mail, or "none"',
  },
  {
    name: 'endpoint',
    configKey: 'Endpoint',
    type: 'string',
    env: ['GOOGLE_COMPUTE_ENDPOINT'],
    description: 'Compute Engine API endpoint, e.g. https://compute.example.com (private or sovereign clouds); default: compute.googleapis.com',
    validate: (v: OptionValue) => {
      try {
        const u = new URL(String(v).includes('://') ? String(v) : `https://${String(v)}`)
        return u.protocol === 'https:' || u.protocol === 'http:' ? undefined : 'must be an http(s) URL or a host name'
      } catch {
        return 'must be an http(s) URL or a host name'
      }
    },
  },
] as const satisfies readonly OptionSpec[]
