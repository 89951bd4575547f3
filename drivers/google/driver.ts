/**
 * The google driver's lifecycle on Compute Engine. Resources, in creation order:
 *   1. a firewall rule (one per network + port set, shared by the machines that need exactly
 *      those ports) allowing SSH, the engine port and --google-open-port values to instances
 *      carrying its name as a network tag;
 *   2. the instance, with its boot disk (autoDelete), labelled with the machine's name and id.
 * Each is journaled before it is made; remove() deletes in reverse order and keeps a firewall
 * rule that another machine still uses.
 */
import { randomUUID } from 'node:crypto'
import { MachineError } from '../../src/driver-kit/errors.js'
import { cloudInitConfig, renderCloudConfig } from '../../src/driver-kit/cloud-init.js'
import type { Driver, DriverContext, Journal, JournalEntry, MachineState, SshInfo } from '../../src/driver-kit/contract.js'
import { ensureMachineSshKey, generateHostKey } from '../../src/driver-kit/keys.js'
import { savedSshInfo } from '../../src/driver-kit/ssh-info.js'
import type { GceApi, Instance, Operation } from './client.js'
import {
  diskTypePath,
  ENGINE_PORT,
  fallbackProject,
  firewallAllowed,
  firewallRuleName,
  imagePath,
  isIPv4,
  LABEL_FIREWALL,
  LABEL_ID,
  LABEL_NAME,
  machineTypePath,
  networkPath,
  networkProject,
  parseImage,
  parseScopes,
  parseTags,
  regionOf,
  sameAllowed,
  SSH_PORT,
  sshKeysLine,
  subnetworkPath,
  type Allowed,
} from './config.js'
import { DEFAULT_IMAGE } from './index.js'
import { classify, firstLine, isRetryable, operationError, toMachineError } from './errors.js'
import { checkAborted, raceAbort, sleep, withRetry } from './wait.js'

/** GCE instance status → docker-machine state. */
export function stateOf(status: string | null | undefined): MachineState {
  switch (status) {
    case 'PROVISIONING':
    case 'STAGING':
    case 'REPAIRING':
      return 'Starting'
    case 'RUNNING':
      return 'Running'
    case 'STOPPING':
    case 'SUSPENDING':
      return 'Stopping'
    case 'TERMINATED':
    case 'STOPPED':
    case 'SUSPENDED':
      return 'Stopped'
    default:
      return 'Error'
  }
}

const GCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/

/**
 * The guest agent of Google's images regenerates every SSH host key on an instance's first boot
 * (and publishes them as guest attributes), which would replace the key we pin. cloud-init writes
 * this before the agent starts (cloud-init's network stage runs before network-online.target,
 * which the agent waits for), so our injected key stays.
 */
const KEEP_HOST_KEYS = { path: '/etc/default/instance_configs.cfg', append: true, content: '[InstanceSetup]\nset_host_keys = false\n' }

function positiveInt(v: string | undefined, dflt: number): number {
  const n = Number(v)
  return Number.isFinite(n) && n > 0 ? n : dflt
}

/** The error behind a translated MachineError (for "was it a 404 / 409?"). */
const rawOf = (e: unknown): unknown => (e instanceof MachineError && e.cause !== undefined ? e.cause : e)
const isMissing = (e: unknown) => classify(rawOf(e)) === 'not-found'
const isTaken = (e: unknown) => classify(rawOf(e)) === 'conflict'

export function createDriver(ctx: DriverContext): Driver {
  const c = ctx.config
  const env = ctx.env
  const name = ctx.machineName
  const log = ctx.log
  // Operation polling and retry backoff; tests make it a few milliseconds.
  const pollMs = positiveInt(env.MACHINE_POLL_INTERVAL_MS, 2000)
  const timeoutMs = positiveInt(env.MACHINE_OPERATION_TIMEOUT_MS, 600_000)

  const str = (k: string): string => (typeof c[k] === 'string' ? (c[k] as string) : '')
  const bool = (k: string): boolean => c[k] === true || c[k] === 'true'
  const zone = () => str('Zone') || 'us-central1-a'
  const user = () => str('SSHUser') || 'docker-user'
  const internalIp = () => bool('UseInternalIP') || bool('UseInternalIPOnly')
  const openPorts = (): string[] => (Array.isArray(c.OpenPorts) ? (c.OpenPorts as unknown[]).map(String) : [])
  /** A (classic) swarm master also listens on its SwarmHost port, 3376 by default, as docker-machine opened. */
  const swarmPorts = (): string[] => {
    if (c.SwarmMaster !== true) return []
    const port = /:(\d+)\/?$/.exec(str('SwarmHost'))?.[1] ?? '3376'
    return [`${port}/tcp`]
  }

  let api: Promise<GceApi> | undefined
  const gce = (): Promise<GceApi> => {
    api ??= import('./client.js').then((m) =>
      m.connect({ env, ...(str('Endpoint') ? { endpoint: str('Endpoint') } : {}) }).catch((e: unknown) => {
        api = undefined
        const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS
        throw new MachineError('google-credentials', `No usable Google Cloud credentials (${firstLine(e)})`, {
          hint: keyFile
            ? `check the key file GOOGLE_APPLICATION_CREDENTIALS=${keyFile}`
            : 'run "gcloud auth application-default login", or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file',
          cause: e,
        })
      }),
    )
    return api
  }

  async function project(): Promise<string> {
    if (str('Project')) return str('Project')
    const found = await fallbackProject(env)
    if (!found) {
      throw new MachineError('missing-option', 'No Google Cloud project given for the google driver', {
        hint: 'pass --google-project <id>, set GOOGLE_PROJECT, or run "gcloud config set project <id>"',
      })
    }
    log.debug(`google: using project ${found.project} from ${found.from}`)
    c.Project = found.project
    return found.project
  }

  /** One API request: throttling is retried with backoff, a failure becomes one clear line. */
  async function call<T>(what: string, fn: (g: GceApi) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const g = await gce()
    try {
      return await withRetry(() => fn(g), {
        isRetryable,
        baseMs: pollMs,
        signal,
        onRetry: (e, ms, n) => log.debug(`google: ${what}: ${classify(e)} (${String((e as Error).message)}); retry ${n} in ${ms} ms`),
      })
    } catch (e) {
      throw toMachineError(e, what, str('Project'))
    }
  }

  /** A GET whose 404 is an answer, not an error. */
  async function find<T>(what: string, fn: (g: GceApi) => Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await call(what, fn, signal)
    } catch (e) {
      if (isMissing(e)) return undefined
      throw e
    }
  }

  /** Wait for a zone or global operation to be DONE (server-side `wait`, repeated, bounded). */
  async function waitOp(op: Operation, what: string, where: { project: string; zone?: string }, signal?: AbortSignal): Promise<Operation> {
    const deadline = Date.now() + timeoutMs
    let cur = op
    while (cur.status !== 'DONE') {
      checkAborted(signal)
      const opName = String(cur.name ?? '')
      if (!opName) throw new MachineError('google-api', `${what}: the API returned an operation without a name`)
      if (Date.now() > deadline) {
        const scope = where.zone ? `--zone ${where.zone}` : '--global'
        throw new MachineError('google-timeout', `${what}: operation ${opName} still ${cur.status ?? 'pending'} after ${Math.round(timeoutMs / 1000)} s`, {
          hint: `check it with "gcloud compute operations describe ${opName} ${scope} --project ${where.project}"`,
        })
      }
      const z = where.zone
      cur = await raceAbort(
        call(`${what} (waiting for ${opName})`, (g) => (z ? g.waitZoneOperation(where.project, z, opName) : g.waitGlobalOperation(where.project, opName)), signal),
        signal,
      )
      if (cur.status !== 'DONE') await sleep(pollMs, signal)
    }
    const err = operationError(cur, what, where.project)
    if (err) throw err
    return cur
  }

  const ipOf = (inst: Instance): string => {
    const nic = inst.networkInterfaces?.[0]
    return String((internalIp() ? nic?.networkIP : nic?.accessConfigs?.[0]?.natIP) ?? '')
  }

  const getInstance = (p: string, signal?: AbortSignal) => call(`read instance ${name}`, (g) => g.getInstance(p, zone(), name), signal)

  /** After create/start: poll until RUNNING with an address (the IP is assigned as it starts). */
  async function waitRunning(p: string, signal?: AbortSignal): Promise<{ inst: Instance; ip: string }> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const inst = await getInstance(p, signal)
      const ip = ipOf(inst)
      if (inst.status === 'RUNNING' && ip) return { inst, ip }
      if (stateOf(inst.status) === 'Stopped' || stateOf(inst.status) === 'Stopping') {
        throw new MachineError('google-instance-stopped', `Instance ${name} is ${inst.status} instead of starting`, {
          hint: inst.scheduling?.preemptible ? 'preemptible instances can be stopped by Google at any time; retry or drop --google-preemptible' : undefined,
        })
      }
      if (Date.now() > deadline) {
        throw new MachineError('google-timeout', `Instance ${name} is ${inst.status ?? 'unknown'}${ip ? '' : ' without an IP address'} after ${Math.round(timeoutMs / 1000)} s`)
      }
      await sleep(pollMs, signal)
    }
  }

  // ---- create -------------------------------------------------------------------------------

  async function resolveImage(p: string, signal: AbortSignal): Promise<string> {
    let ref
    try {
      ref = parseImage(str('MachineImage') || DEFAULT_IMAGE, p)
    } catch (e) {
      throw new MachineError('invalid-option', `--google-machine-image: ${(e as Error).message}`)
    }
    if (!('family' in ref)) return imagePath(ref)
    // A family names "the newest image": pin the one we boot so the saved config says what it is.
    const img = await call(`look up image family ${imagePath(ref)}`, (g) => g.getImageFromFamily(ref.project, ref.family), signal)
    const size = Number(img.diskSizeGb ?? 0)
    if (size > Number(c.DiskSize ?? 10)) {
      throw new MachineError('invalid-option', `--google-disk-size ${String(c.DiskSize)} is smaller than image ${String(img.name)} (${size} GB)`, {
        hint: `pass --google-disk-size ${size} or more`,
      })
    }
    log.debug(`google: image family ${ref.family} is ${String(img.name)}`)
    return img.selfLink ? img.selfLink.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '') : `projects/${ref.project}/global/images/${String(img.name)}`
  }

  /** --google-address: an IP as is, or the name of a regional static address. */
  async function staticAddress(p: string, signal: AbortSignal): Promise<string | undefined> {
    const a = str('Address')
    if (!a) return undefined
    if (isIPv4(a)) return a
    const region = regionOf(zone())
    const found = await call(`look up static address ${a} in ${region}`, (g) => g.getAddress(p, region, a), signal)
    if (!found.address) throw new MachineError('google-api', `Static address ${a} in ${region} has no IP address`)
    return found.address
  }

  async function ensureFirewall(journal: Journal, p: string, rule: string, allowed: Allowed[], signal: AbortSignal): Promise<void> {
    const network = str('Network') || 'default'
    const fwProject = networkProject(network, p)
    checkAborted(signal)
    const existing = await find(`look up firewall rule ${rule}`, (g) => g.getFirewall(fwProject, rule), signal)
    // Journaled even when reused: rm then checks whether any machine still needs it.
    await journal.record({ kind: 'firewall', id: rule, data: { project: fwProject, created: !existing } })
    c.FirewallRule = rule
    if (existing) {
      if (!sameAllowed(existing.allowed ?? [], allowed)) log.info(`Firewall rule ${rule} was changed outside machine; using it as it is`)
      else log.debug(`google: reusing firewall rule ${rule}`)
      return
    }
    const ports = allowed.flatMap((a) => a.ports.map((x) => `${x}/${a.IPProtocol}`)).join(', ')
    log.info(`Creating firewall rule ${rule} (${ports})`)
    const body = {
      name: rule,
      description: `Made by machine: lets instances tagged ${rule} receive ${ports}`,
      network: networkPath(network, p),
      direction: 'INGRESS',
      priority: 1000,
      sourceRanges: ['0.0.0.0/0'],
      targetTags: [rule],
      allowed,
    }
    const requestId = randomUUID()
    let op: Operation
    try {
      op = await call(`create firewall rule ${rule}`, (g) => g.insertFirewall(fwProject, body, requestId), signal)
    } catch (e) {
      // Another machine made the same rule a moment ago: it is exactly what we need.
      if (isTaken(e)) return
      throw e
    }
    await waitOp(op, `create firewall rule ${rule}`, { project: fwProject }, signal)
  }

  async function insertInstance(journal: Journal, p: string, rule: string, sourceImage: string, natIP: string | undefined, publicKey: string, signal: AbortSignal) {
    const z = zone()
    const hostKey = await generateHostKey(`${name}-host-key`)
    const labels = { [LABEL_NAME]: name, [LABEL_ID]: String(c.MachineId), [LABEL_FIREWALL]: rule }
    const userData = renderCloudConfig(
      cloudInitConfig({ user: user(), authorizedKey: publicKey, hostname: name, hostKey, extra: { write_files: [KEEP_HOST_KEYS] } }),
    )
    const sa = str('ServiceAccount') || 'default'
    const sub = str('Subnetwork')
    const body: Instance = {
      name,
      description: 'Docker host made by machine',
      machineType: machineTypePath(str('MachineType') || 'e2-small', z),
      labels,
      tags: { items: [rule, ...parseTags(str('Tags')).filter((t) => t !== rule)] },
      disks: [
        {
          boot: true,
          autoDelete: true,
          type: 'PERSISTENT',
          mode: 'READ_WRITE',
          initializeParams: { diskName: name, sourceImage, diskSizeGb: Number(c.DiskSize ?? 10), diskType: diskTypePath(str('DiskType') || 'pd-balanced', z), labels },
        },
      ],
      networkInterfaces: [
        {
          network: networkPath(str('Network') || 'default', p),
          ...(sub ? { subnetwork: subnetworkPath(sub, p, z) } : {}),
          accessConfigs: bool('UseInternalIPOnly') ? [] : [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT', ...(natIP ? { natIP } : {}) }],
        },
      ],
      metadata: {
        items: [
          { key: 'ssh-keys', value: sshKeysLine(user(), publicKey) },
          { key: 'user-data', value: userData },
        ],
      },
      serviceAccounts: sa === 'none' ? [] : [{ email: sa, scopes: parseScopes(str('Scopes')) }],
      scheduling: bool('Preemptible')
        ? { preemptible: true, automaticRestart: false, onHostMaintenance: 'TERMINATE' }
        : { automaticRestart: true, onHostMaintenance: 'MIGRATE' },
    }
    const where = { project: p, zone: z, machineId: String(c.MachineId) }
    checkAborted(signal)
    // The boot disk is made with the instance; journaled on its own in case the instance fails
    // after its disk exists (or the disk outlives it).
    await journal.record({ kind: 'disk', id: name, data: where })
    await journal.record({ kind: 'instance', id: name, data: where })
    log.info(`Creating instance ${name} (${str('MachineType') || 'e2-small'} in ${z})`)
    // One request id for every retry: GCE then creates the instance at most once.
    const requestId = randomUUID()
    const op = await call(`create instance ${name}`, (g) => g.insertInstance(p, z, body, requestId), signal)
    if (op.targetId) {
      c.InstanceId = String(op.targetId)
      await journal.update('instance', name, { id: String(op.targetId) })
    }
    await waitOp(op, `create instance ${name}`, { project: p, zone: z }, signal)
    c.SSHHostKeys = [hostKey.publicKey]
  }

  /** --google-use-existing: tag the instance for the firewall, add our key and labels; undone on rm. */
  async function adoptExisting(journal: Journal, p: string, rule: string, publicKey: string, signal: AbortSignal): Promise<void> {
    const z = zone()
    const inst = await getInstance(p, signal)
    const line = sshKeysLine(user(), publicKey)
    const tags = inst.tags?.items ?? []
    await journal.record({ kind: 'instance-config', id: name, data: { project: p, zone: z, tag: rule, addedTag: !tags.includes(rule), sshKey: line } })
    const where = { project: p, zone: z }
    if (!tags.includes(rule)) {
      const op = await call(`tag instance ${name}`, (g) => g.setTags(p, z, name, [...tags, rule], String(inst.tags?.fingerprint ?? ''), randomUUID()), signal)
      await waitOp(op, `tag instance ${name}`, where, signal)
    }
    const items = inst.metadata?.items ?? []
    const current = items.find((i) => i.key === 'ssh-keys')?.value ?? ''
    if (!current.split('\n').includes(line)) {
      const value = current ? `${current.replace(/\n+$/, '')}\n${line}` : line
      const metadata = { fingerprint: inst.metadata?.fingerprint ?? null, items: [...items.filter((i) => i.key !== 'ssh-keys'), { key: 'ssh-keys', value }] }
      const op = await call(`add the SSH key to instance ${name}`, (g) => g.setMetadata(p, z, name, metadata, randomUUID()), signal)
      await waitOp(op, `add the SSH key to instance ${name}`, where, signal)
    }
    const labels = { ...(inst.labels ?? {}), [LABEL_NAME]: name, [LABEL_ID]: String(c.MachineId), [LABEL_FIREWALL]: rule }
    const op = await call(`label instance ${name}`, (g) => g.setLabels(p, z, name, labels, String(inst.labelFingerprint ?? ''), randomUUID()), signal)
    await waitOp(op, `label instance ${name}`, where, signal)
    if (inst.id) c.InstanceId = String(inst.id)
  }

  // ---- remove -------------------------------------------------------------------------------

  /** Delete the instance if it is the one this machine made (same id, or our machine-id label). */
  async function removeInstance(e: JournalEntry): Promise<void> {
    const p = String(e.data?.project ?? str('Project'))
    const z = String(e.data?.zone ?? zone())
    const inst = await find(`read instance ${e.id}`, (g) => g.getInstance(p, z, e.id))
    if (!inst) return
    const wantId = e.data?.id ?? c.InstanceId
    const ours = wantId ? String(inst.id) === String(wantId) : inst.labels?.[LABEL_ID] === String(e.data?.machineId ?? c.MachineId)
    if (!ours) {
      log.info(`Instance ${e.id} in ${z} was not made by this machine; left alone`)
      return
    }
    log.info(`Deleting instance ${e.id}`)
    try {
      const op = await call(`delete instance ${e.id}`, (g) => g.deleteInstance(p, z, e.id, randomUUID()))
      await waitOp(op, `delete instance ${e.id}`, { project: p, zone: z })
    } catch (err) {
      if (!isMissing(err)) throw err
    }
  }

  /** The boot disk goes with the instance (autoDelete); this catches one left behind. */
  async function removeDisk(e: JournalEntry): Promise<void> {
    const p = String(e.data?.project ?? str('Project'))
    const z = String(e.data?.zone ?? zone())
    const disk = await find(`read disk ${e.id}`, (g) => g.getDisk(p, z, e.id))
    if (!disk) return
    if (disk.labels?.[LABEL_ID] !== String(e.data?.machineId ?? c.MachineId)) {
      log.info(`Disk ${e.id} in ${z} was not made by this machine; left alone`)
      return
    }
    if (disk.users?.length) {
      throw new MachineError('google-disk-in-use', `Disk ${e.id} is still attached to ${disk.users.join(', ')}`)
    }
    log.info(`Deleting disk ${e.id}`)
    try {
      const op = await call(`delete disk ${e.id}`, (g) => g.deleteDisk(p, z, e.id, randomUUID()))
      await waitOp(op, `delete disk ${e.id}`, { project: p, zone: z })
    } catch (err) {
      if (!isMissing(err)) throw err
    }
  }

  /** Delete the firewall rule unless another machine's instance still carries its label. */
  async function removeFirewall(rule: string, fwProject: string): Promise<void> {
    const p = str('Project') || fwProject
    // Our own instance is deleted (and waited for) before this runs: if it is still listed, its
    // delete failed and the rule must stay too.
    const users = await call(`list instances using firewall rule ${rule}`, (g) => g.listInstancesByLabel(p, LABEL_FIREWALL, rule))
    if (users.length) {
      log.info(`Keeping firewall rule ${rule}: still used by ${users.map((u) => u.instance.name).join(', ')}`)
      return
    }
    log.info(`Deleting firewall rule ${rule}`)
    try {
      const op = await call(`delete firewall rule ${rule}`, (g) => g.deleteFirewall(fwProject, rule, randomUUID()))
      await waitOp(op, `delete firewall rule ${rule}`, { project: fwProject })
    } catch (err) {
      if (!isMissing(err)) throw err
    }
  }

  /** Undo --google-use-existing's changes: our tag, key and labels; the instance stays. */
  async function releaseExisting(e: JournalEntry): Promise<void> {
    const p = String(e.data?.project ?? str('Project'))
    const z = String(e.data?.zone ?? zone())
    const where = { project: p, zone: z }
    const inst = await find(`read instance ${e.id}`, (g) => g.getInstance(p, z, e.id))
    if (!inst) return
    const tag = String(e.data?.tag ?? '')
    const tags = inst.tags?.items ?? []
    if (e.data?.addedTag && tags.includes(tag)) {
      const op = await call(`untag instance ${e.id}`, (g) => g.setTags(p, z, e.id, tags.filter((t) => t !== tag), String(inst.tags?.fingerprint ?? ''), randomUUID()))
      await waitOp(op, `untag instance ${e.id}`, where)
    }
    const items = inst.metadata?.items ?? []
    const keys = items.find((i) => i.key === 'ssh-keys')?.value ?? ''
    const line = String(e.data?.sshKey ?? '')
    if (line && keys.split('\n').includes(line)) {
      const rest = keys.split('\n').filter((l) => l !== line && l.trim())
      const metadata = {
        fingerprint: inst.metadata?.fingerprint ?? null,
        items: [...items.filter((i) => i.key !== 'ssh-keys'), ...(rest.length ? [{ key: 'ssh-keys', value: rest.join('\n') }] : [])],
      }
      const op = await call(`remove the SSH key from instance ${e.id}`, (g) => g.setMetadata(p, z, e.id, metadata, randomUUID()))
      await waitOp(op, `remove the SSH key from instance ${e.id}`, where)
    }
    const labels = { ...(inst.labels ?? {}) }
    if (LABEL_ID in labels || LABEL_FIREWALL in labels || LABEL_NAME in labels) {
      delete labels[LABEL_ID]
      delete labels[LABEL_FIREWALL]
      delete labels[LABEL_NAME]
      const op = await call(`unlabel instance ${e.id}`, (g) => g.setLabels(p, z, e.id, labels, String(inst.labelFingerprint ?? ''), randomUUID()))
      await waitOp(op, `unlabel instance ${e.id}`, where)
    }
  }

  const manualHint = (e: JournalEntry): string => {
    const p = String(e.data?.project ?? str('Project'))
    const z = String(e.data?.zone ?? zone())
    switch (e.kind) {
      case 'instance':
        return `gcloud compute instances delete ${e.id} --zone ${z} --project ${p}`
      case 'disk':
        return `gcloud compute disks delete ${e.id} --zone ${z} --project ${p}`
      case 'firewall':
        return `gcloud compute firewall-rules delete ${e.id} --project ${p}`
      default:
        return `remove the tag, ssh key and machine-* labels from instance ${e.id} (zone ${z}, project ${p})`
    }
  }

  // ---- the driver ---------------------------------------------------------------------------

  const driver: Driver = {
    async preCreateCheck() {
      const p = await project()
      if (!GCE_NAME.test(name)) {
        throw new MachineError('invalid-name', `"${name}" cannot be a Compute Engine instance name`, {
          hint: 'use lower-case letters, digits and dashes, starting with a letter (at most 63 characters)',
        })
      }
      if (bool('UseInternalIPOnly') && str('Address')) {
        throw new MachineError('invalid-option', '--google-address cannot be used with --google-use-internal-ip-only (no external IP)')
      }
      try {
        parseImage(str('MachineImage') || DEFAULT_IMAGE, p)
      } catch (e) {
        throw new MachineError('invalid-option', `--google-machine-image: ${(e as Error).message}`)
      }
      let exists: boolean
      try {
        await getInstance(p, ctx.signal)
        exists = true
      } catch (e) {
        // A 404 about the instance is the answer we want; one about the project or zone is not.
        if (!isMissing(e) || !/\/instances\//.test(String((rawOf(e) as Error).message))) throw e
        exists = false
      }
      if (bool('UseExisting') && !exists) {
        throw new MachineError('google-not-found', `No instance ${name} in zone ${zone()} of project ${p} to use (--google-use-existing)`)
      }
      if (!bool('UseExisting') && exists) {
        throw new MachineError('google-instance-exists', `Instance ${name} already exists in zone ${zone()} of project ${p}`, {
          hint: 'choose another machine name, or pass --google-use-existing to provision that instance',
        })
      }
    },

    async create(journal) {
      const signal = ctx.signal
      const p = await project()
      c.MachineId = str('MachineId') || randomUUID()
      const key = await ensureMachineSshKey(ctx.machineDir)
      c.SSHKeyPath = key.path
      c.SSHUser = user()
      c.SSHPort = SSH_PORT
      const allowed = firewallAllowed([...openPorts(), ...swarmPorts()])
      const rule = firewallRuleName(networkPath(str('Network') || 'default', p), allowed)
      if (bool('UseExisting')) {
        await ensureFirewall(journal, p, rule, allowed, signal)
        await adoptExisting(journal, p, rule, key.publicKey, signal)
      } else {
        const sourceImage = await resolveImage(p, signal)
        c.SourceImage = sourceImage
        const natIP = await staticAddress(p, signal)
        await ensureFirewall(journal, p, rule, allowed, signal)
        await insertInstance(journal, p, rule, sourceImage, natIP, key.publicKey, signal)
      }
      log.info(`Waiting for instance ${name} to run`)
      const { inst, ip } = await waitRunning(p, signal)
      if (inst.id) c.InstanceId = String(inst.id)
      c.IPAddress = ip
    },

    async remove(journal) {
      // Not ctx.signal: remove is also the rollback after Ctrl-C, when that signal has fired.
      const failed: Array<{ e: JournalEntry; err: unknown }> = []
      const handled = new Set<string>()
      const run = async (e: JournalEntry, fn: () => Promise<void>, forget: boolean) => {
        handled.add(`${e.kind}:${e.id}`)
        try {
          await fn()
          if (forget) await journal.forget(e.kind, e.id)
        } catch (err) {
          failed.push({ e, err })
        }
      }
      for (const e of [...journal.entries()].reverse()) {
        if (e.kind === 'instance') await run(e, () => removeInstance(e), true)
        else if (e.kind === 'disk') await run(e, () => removeDisk(e), true)
        else if (e.kind === 'instance-config') await run(e, () => releaseExisting(e), true)
        else if (e.kind === 'firewall') await run(e, () => removeFirewall(e.id, String(e.data?.project ?? str('Project'))), true)
      }
      // A journal lost or from an older store: the saved config still names the instance (by its
      // unique id, so a namesake is never deleted) and the rule.
      const p = str('Project')
      if (c.InstanceId && !bool('UseExisting') && !handled.has(`instance:${name}`)) {
        await run({ kind: 'instance', id: name, data: { project: p, zone: zone(), id: c.InstanceId } }, () => removeInstance({ kind: 'instance', id: name, data: { project: p, zone: zone(), id: c.InstanceId } }), false)
      }
      if (str('FirewallRule') && !handled.has(`firewall:${str('FirewallRule')}`)) {
        const fw: JournalEntry = { kind: 'firewall', id: str('FirewallRule'), data: { project: networkProject(str('Network') || 'default', p) } }
        await run(fw, () => removeFirewall(fw.id, String(fw.data?.project)), false)
      }
      if (failed.length) {
        const what = failed.map((f) => `${f.e.kind} ${f.e.id} (${(f.err as Error).message})`).join('; ')
        throw new MachineError('google-remove-incomplete', `Could not delete ${what}`, {
          hint: `retry "machine rm", or delete by hand: ${failed.map((f) => manualHint(f.e)).join(' && ')}`,
        })
      }
      // Gone: a second remove has nothing to look for.
      delete c.InstanceId
      delete c.FirewallRule
    },

    async start() {
      const p = await project()
      const inst = await getInstance(p, ctx.signal)
      if (inst.status !== 'RUNNING') {
        const resume = inst.status === 'SUSPENDED'
        const what = `${resume ? 'resume' : 'start'} instance ${name}`
        const op = await call(what, (g) => (resume ? g.resumeInstance(p, zone(), name, randomUUID()) : g.startInstance(p, zone(), name, randomUUID())), ctx.signal)
        await waitOp(op, what, { project: p, zone: zone() }, ctx.signal)
      }
      // A stopped instance gets a new ephemeral IP when it starts again.
      c.IPAddress = (await waitRunning(p, ctx.signal)).ip
    },

    async stop() {
      const p = await project()
      const op = await call(`stop instance ${name}`, (g) => g.stopInstance(p, zone(), name, randomUUID()), ctx.signal)
      await waitOp(op, `stop instance ${name}`, { project: p, zone: zone() }, ctx.signal)
    },

    async restart() {
      // `reset` is a hard reset (like the power button): the instance keeps its IP and disk.
      const p = await project()
      const op = await call(`reset instance ${name}`, (g) => g.resetInstance(p, zone(), name, randomUUID()), ctx.signal)
      await waitOp(op, `reset instance ${name}`, { project: p, zone: zone() }, ctx.signal)
    },

    async kill() {
      // GCE has no "pull the plug"; stop with discardLocalSsd skips preserving local SSD data,
      // the fastest stop there is (the guest still gets the ACPI shutdown signal).
      const p = await project()
      const op = await call(`stop instance ${name}`, (g) => g.stopInstance(p, zone(), name, randomUUID(), { discardLocalSsd: true }), ctx.signal)
      await waitOp(op, `stop instance ${name}`, { project: p, zone: zone() }, ctx.signal)
    },

    async state() {
      const p = await project()
      const inst = await find(`read instance ${name}`, (g) => g.getInstance(p, zone(), name), ctx.signal)
      // Gone from the cloud: docker-machine's "None" state.
      if (!inst) return ''
      return stateOf(inst.status)
    },

    async ip() {
      const p = await project()
      const inst = await getInstance(p, ctx.signal)
      const ip = ipOf(inst)
      if (!ip) {
        throw new MachineError('no-ip', `Instance ${name} has no ${internalIp() ? 'internal' : 'external'} IP address (it is ${inst.status ?? 'in an unknown state'})`, {
          hint: stateOf(inst.status) === 'Stopped' ? `start it with "machine start ${name}"` : undefined,
        })
      }
      c.IPAddress = ip
      return ip
    },

    async sshInfo(): Promise<SshInfo> {
      return savedSshInfo(ctx, { host: await driver.ip(), port: Number(c.SSHPort ?? SSH_PORT), user: user() })
    },

    enginePort: () => ENGINE_PORT,
  }
  return driver
}
