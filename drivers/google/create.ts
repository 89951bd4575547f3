/**
 * preCreateCheck and create: the checks made before anything exists, then the firewall rule
 * (firewall.ts) and the instance with its boot disk, or --google-use-existing's adoption
 * (existing.ts). Each resource is journaled before it is made, so rm can undo a half-made machine.
 */
import { randomUUID } from 'node:crypto'
import { cloudInitConfig, renderCloudConfig } from '../../src/driver-kit/cloud-init.js'
import type { Journal } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { ensureMachineSshKey, generateHostKey } from '../../src/driver-kit/keys.js'
import { STORE_TAG, storeMarker } from '../../src/driver-kit/store-marker.js'
import { checkAborted } from '../../src/driver-kit/wait.js'
import type { Instance } from './client.js'
import {
  INSTANCE_DESCRIPTION,
  diskTypePath,
  imagePath,
  isIPv4,
  LABEL_FIREWALL,
  LABEL_SWARM,
  LABEL_ID,
  LABEL_NAME,
  machineTypePath,
  networkPath,
  parseImage,
  parseScopes,
  parseTags,
  regionOf,
  SSH_PORT,
  sshKeysLine,
  subnetworkPath,
  type ImageRef,
} from './config.js'
import { openClusterPorts } from './cluster-ports.js'
import { adoptExisting } from './existing.js'
import { ensureFirewall, ensureSwarmFirewall, firewallFor, swarmFirewallFor } from './firewall.js'
import { GCE_NAME } from './options.js'
import { isMissing, rawOf, type GoogleSession } from './session.js'

/**
 * The guest agent of Google's images regenerates every SSH host key on an instance's first boot
 * (and publishes them as guest attributes), which would replace the key we pin. cloud-init writes
 * this before the agent starts (cloud-init's network stage runs before network-online.target,
 * which the agent waits for), so our injected key stays.
 */
const KEEP_HOST_KEYS = { path: '/etc/default/instance_configs.cfg', append: true, content: '[InstanceSetup]\nset_host_keys = false\n' }

/** --google-machine-image as an image reference, or the flag's error. */
function imageRef(s: GoogleSession, p: string): ImageRef {
  try {
    return parseImage(s.o.machineImage, p)
  } catch (e) {
    throw new MachineError('invalid-option', `--google-machine-image: ${(e as Error).message}`)
  }
}

/** Nothing is made before this passes: a usable name, options that fit together, a free (or, with --google-use-existing, a present) instance name. */
export async function preCreateCheck(s: GoogleSession): Promise<void> {
  const { name, o } = s
  const p = await s.project()
  if (!GCE_NAME.test(name)) {
    throw new MachineError('invalid-name', `"${name}" cannot be a Compute Engine instance name`, {
      hint: 'use lower-case letters, digits and dashes, starting with a letter (at most 63 characters)',
    })
  }
  if (o.useInternalIpOnly && o.address) {
    throw new MachineError('invalid-option', '--google-address cannot be used with --google-use-internal-ip-only (no external IP)')
  }
  imageRef(s, p)
  let exists: boolean
  try {
    await s.getInstance(p, s.ctx.signal)
    exists = true
  } catch (e) {
    // A 404 about the instance is the answer we want; one about the project or zone is not.
    if (!isMissing(e) || !/\/instances\//.test(String((rawOf(e) as Error).message))) throw e
    exists = false
  }
  if (o.useExisting && !exists) {
    throw new MachineError('google-not-found', `No instance ${name} in zone ${s.zone} of project ${p} to use (--google-use-existing)`)
  }
  if (!o.useExisting && exists) {
    throw new MachineError('google-instance-exists', `Instance ${name} already exists in zone ${s.zone} of project ${p}`, {
      hint: 'choose another machine name, or pass --google-use-existing to provision that instance',
    })
  }
}

export async function create(s: GoogleSession, journal: Journal): Promise<void> {
  const { c, ctx } = s
  const signal = ctx.signal
  const p = await s.project()
  c.MachineId = typeof c.MachineId === 'string' && c.MachineId ? c.MachineId : randomUUID()
  const key = await ensureMachineSshKey(ctx.machineDir)
  c.SSHKeyPath = key.path
  c.SSHUser = s.o.username
  c.SSHPort = SSH_PORT
  const { rule, allowed } = firewallFor(s, p)
  const swarm = swarmFirewallFor(s, p)
  if (s.o.useExisting) {
    await ensureFirewall(s, journal, p, rule, allowed, signal)
    await adoptExisting(s, journal, p, rule, key.publicKey, signal)
    // The instance exists: the swarm rule, its tag and label as swarm join would add them.
    if (swarm) await openClusterPorts(s, journal)
  } else {
    const sourceImage = await resolveImage(s, p, signal)
    c.SourceImage = sourceImage
    const natIP = await staticAddress(s, p, signal)
    await ensureFirewall(s, journal, p, rule, allowed, signal)
    if (swarm) await ensureSwarmFirewall(s, journal, p, swarm.rule, signal)
    await insertInstance(s, journal, p, rule, sourceImage, natIP, key.publicKey, signal, swarm?.rule)
  }
  s.log.info(`Waiting for instance ${s.name} to run`)
  const { inst, ip } = await s.waitRunning(p, signal)
  if (inst.id) c.InstanceId = String(inst.id)
  c.IPAddress = ip
  const internal = inst.networkInterfaces?.[0]?.networkIP
  if (internal) c.PrivateIPAddress = internal
}

/** The image to boot: as given, or a family's newest image, pinned so the saved config says what it is. */
async function resolveImage(s: GoogleSession, p: string, signal: AbortSignal): Promise<string> {
  const ref = imageRef(s, p)
  if (!('family' in ref)) return imagePath(ref)
  const img = await s.call(`look up image family ${imagePath(ref)}`, (g) => g.getImageFromFamily(ref.project, ref.family), signal)
  const size = Number(img.diskSizeGb ?? 0)
  if (size > s.o.diskSize) {
    throw new MachineError('invalid-option', `--google-disk-size ${s.o.diskSize} is smaller than image ${String(img.name)} (${size} GB)`, {
      hint: `pass --google-disk-size ${size} or more`,
    })
  }
  s.log.debug(`google: image family ${ref.family} is ${String(img.name)}`)
  return img.selfLink ? img.selfLink.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '') : `projects/${ref.project}/global/images/${String(img.name)}`
}

/** --google-address: an IP as is, or the name of a regional static address. */
async function staticAddress(s: GoogleSession, p: string, signal: AbortSignal): Promise<string | undefined> {
  const a = s.o.address
  if (!a) return undefined
  if (isIPv4(a)) return a
  const region = regionOf(s.zone)
  const found = await s.call(`look up static address ${a} in ${region}`, (g) => g.getAddress(p, region, a), signal)
  if (!found.address) throw new MachineError('google-api', `Static address ${a} in ${region} has no IP address`)
  return found.address
}

async function insertInstance(
  s: GoogleSession,
  journal: Journal,
  p: string,
  rule: string,
  sourceImage: string,
  natIP: string | undefined,
  publicKey: string,
  signal: AbortSignal,
  swarmRule?: string,
): Promise<void> {
  const { name, c, o } = s
  const z = s.zone
  const hostKey = await generateHostKey(`${name}-host-key`)
  // The swarm rule's tag and label: its sources and targets, and what rm counts as its users.
  const labels = { [LABEL_NAME]: name, [LABEL_ID]: String(c.MachineId), [STORE_TAG]: storeMarker(s.ctx.storePath), [LABEL_FIREWALL]: rule, ...(swarmRule ? { [LABEL_SWARM]: swarmRule } : {}) }
  const userData = renderCloudConfig(
    cloudInitConfig({ user: o.username, authorizedKey: publicKey, hostname: name, hostKey, extra: { write_files: [KEEP_HOST_KEYS] } }),
  )
  const body: Instance = {
    name,
    description: INSTANCE_DESCRIPTION,
    machineType: machineTypePath(o.machineType, z),
    labels,
    tags: { items: [rule, ...(swarmRule ? [swarmRule] : []), ...parseTags(o.tags).filter((t) => t !== rule && t !== swarmRule)] },
    disks: [
      {
        boot: true,
        autoDelete: true,
        type: 'PERSISTENT',
        mode: 'READ_WRITE',
        initializeParams: { diskName: name, sourceImage, diskSizeGb: o.diskSize, diskType: diskTypePath(o.diskType, z), labels },
      },
    ],
    networkInterfaces: [
      {
        network: networkPath(o.network, p),
        ...(o.subnetwork ? { subnetwork: subnetworkPath(o.subnetwork, p, z) } : {}),
        accessConfigs: o.useInternalIpOnly ? [] : [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT', ...(natIP ? { natIP } : {}) }],
      },
    ],
    metadata: {
      items: [
        { key: 'ssh-keys', value: sshKeysLine(o.username, publicKey) },
        { key: 'user-data', value: userData },
      ],
    },
    serviceAccounts: o.serviceAccount === 'none' ? [] : [{ email: o.serviceAccount, scopes: parseScopes(o.scopes) }],
    scheduling: o.preemptible
      ? { preemptible: true, automaticRestart: false, onHostMaintenance: 'TERMINATE' }
      : { automaticRestart: true, onHostMaintenance: 'MIGRATE' },
  }
  const where = { project: p, zone: z, machineId: String(c.MachineId) }
  checkAborted(signal)
  // The boot disk is made with the instance; journaled on its own in case the instance fails
  // after its disk exists (or the disk outlives it).
  await journal.record({ kind: 'disk', id: name, data: where })
  await journal.record({ kind: 'instance', id: name, data: where })
  s.log.info(`Creating instance ${name} (${o.machineType} in ${z})`)
  // One request id for every retry: GCE then creates the instance at most once.
  const requestId = randomUUID()
  const op = await s.call(`create instance ${name}`, (g) => g.insertInstance(p, z, body, requestId), signal)
  if (op.targetId) {
    c.InstanceId = String(op.targetId)
    await journal.update('instance', name, { id: String(op.targetId) })
  }
  await s.waitOp(op, `create instance ${name}`, { project: p, zone: z }, signal)
  c.SSHHostKeys = [hostKey.publicKey]
}
