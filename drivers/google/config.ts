/**
 * Pure helpers of the google driver: where the project comes from, how flag values become GCE
 * resource paths, the firewall rule's name and contents. No SDK, no network.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** The network tag / firewall rule prefix, docker-machine's tag name. */
export const FIREWALL_PREFIX = 'docker-machine'
export const ENGINE_PORT = 2376
export const SSH_PORT = 22

/** Labels every instance (and its boot disk) carries, so rm and leak hunts find exactly ours. */
/** What create writes as an instance's description: tells ours from an adopted one (--google-use-existing). */
export const INSTANCE_DESCRIPTION = 'Docker host made by machine'
export const LABEL_NAME = 'machine-name'
export const LABEL_ID = 'machine-id'
export const LABEL_FIREWALL = 'machine-firewall'
/** The label naming the swarm rule an instance needs (rm keeps the rule while one carries it). */
export const LABEL_SWARM = 'machine-swarm'

/**
 * One value of an INI file: enough for gcloud's configuration files, which gcloud writes itself
 * (Python's ConfigParser: `[section]` lines, `key = value` lines, `#`/`;` comments) and of which
 * the driver reads one key, [core] project. Hand-written on purpose: the `ini` package in
 * node_modules is only a development-time dependency of another package, and a runtime
 * dependency for these few lines is not worth adding.
 */
export function iniValue(text: string, section: string, key: string): string | undefined {
  let current = ''
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (!line || line.startsWith('#') || line.startsWith(';')) continue
    const sec = /^\[(.+)\]$/.exec(line)
    if (sec) {
      current = sec[1]!.trim()
      continue
    }
    if (current !== section) continue
    const eq = line.indexOf('=')
    if (eq > 0 && line.slice(0, eq).trim() === key) return line.slice(eq + 1).trim() || undefined
  }
  return undefined
}

const readText = (p: string) => readFile(p, 'utf8').catch(() => undefined)

/** gcloud's configuration directory, as gcloud itself finds it. */
export function gcloudConfigDir(env: NodeJS.ProcessEnv): string {
  if (env.CLOUDSDK_CONFIG) return env.CLOUDSDK_CONFIG
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'gcloud')
  return join(env.HOME || homedir(), '.config', 'gcloud')
}

/**
 * The project when neither --google-project nor GOOGLE_PROJECT / CLOUDSDK_CORE_PROJECT gave one:
 * the active gcloud configuration's [core] project, then the project_id of the credentials file.
 */
export async function fallbackProject(env: NodeJS.ProcessEnv): Promise<{ project: string; from: string } | undefined> {
  const dir = gcloudConfigDir(env)
  const active = env.CLOUDSDK_ACTIVE_CONFIG_NAME || (await readText(join(dir, 'active_config')))?.trim() || 'default'
  const file = join(dir, 'configurations', `config_${active}`)
  const text = await readText(file)
  const fromGcloud = text && iniValue(text, 'core', 'project')
  if (fromGcloud) return { project: fromGcloud, from: file }
  const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS
  if (keyFile) {
    try {
      const j = JSON.parse((await readText(keyFile)) ?? '') as { project_id?: unknown; quota_project_id?: unknown }
      const p = typeof j.project_id === 'string' ? j.project_id : typeof j.quota_project_id === 'string' ? j.quota_project_id : undefined
      if (p) return { project: p, from: keyFile }
    } catch {
      // Not JSON: the client library reports the bad file when it loads credentials.
    }
  }
  return undefined
}

export const regionOf = (zone: string): string => zone.replace(/-[a-z]$/, '')

/** Where the boot image comes from: a concrete image, or a family whose newest image is looked up. */
export type ImageRef = { project: string; image: string } | { project: string; family: string }

/**
 * Accepts every form people paste: full API URLs (www.googleapis.com or compute.googleapis.com),
 * `projects/P/global/images/[family/]X`, docker-machine's `P/global/images/X`,
 * `global/images/X` and a bare image name in the machine's own project.
 */
export function parseImage(spec: string, ownProject: string): ImageRef {
  let s = spec.trim().replace(/^https?:\/\/[^/]+\/compute\/(?:v1|beta|alpha)\//, '')
  s = s.replace(/^projects\//, '')
  const m = /^(?:([^/]+)\/)?global\/images\/(?:(family)\/)?([^/]+)$/.exec(s)
  if (m) {
    const project = m[1] ?? ownProject
    return m[2] ? { project, family: m[3]! } : { project, image: m[3]! }
  }
  if (/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(s)) return { project: ownProject, image: s }
  throw new Error(`"${spec}" is not an image: use projects/PROJECT/global/images/NAME or projects/PROJECT/global/images/family/FAMILY`)
}

export const imagePath = (r: ImageRef): string =>
  'family' in r ? `projects/${r.project}/global/images/family/${r.family}` : `projects/${r.project}/global/images/${r.image}`

/** A name or a path: names become `projects/P/<scope>/<kind>/NAME`, paths/URLs are kept (minus the API prefix). */
function pathOf(value: string, prefix: string): string {
  if (!value.includes('/')) return `${prefix}/${value}`
  return value.replace(/^https?:\/\/[^/]+\/compute\/(?:v1|beta|alpha)\//, '')
}

export const networkPath = (network: string, project: string) => pathOf(network, `projects/${project}/global/networks`)
export const subnetworkPath = (sub: string, project: string, zone: string) => pathOf(sub, `projects/${project}/regions/${regionOf(zone)}/subnetworks`)
export const machineTypePath = (type: string, zone: string) => pathOf(type, `zones/${zone}/machineTypes`)
export const diskTypePath = (type: string, zone: string) => pathOf(type, `zones/${zone}/diskTypes`)

/** The project a network belongs to (a Shared VPC's host project), where its firewall rules live. */
export function networkProject(network: string, project: string): string {
  return /(?:^|\/)projects\/([^/]+)\/global\/networks\//.exec(pathOf(network, `projects/${project}/global/networks`))?.[1] ?? project
}

/** Scopes flag → full scope URLs; `cloud-platform` is short for https://www.googleapis.com/auth/cloud-platform. */
export function parseScopes(scopes: string): string[] {
  return scopes
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s.includes('://') ? s : `https://www.googleapis.com/auth/${s}`))
}

export const parseTags = (tags: string | undefined): string[] =>
  (tags ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)

export interface Allowed {
  IPProtocol: string
  ports: string[]
}

/**
 * What the rule allows: SSH, the engine port and the --google-open-port values, nothing else.
 * Grouped per protocol, ports sorted, so the same set always gives the same rule.
 */
export function firewallAllowed(openPorts: readonly string[]): Allowed[] {
  const byProto = new Map<string, Set<string>>([['tcp', new Set([String(SSH_PORT), String(ENGINE_PORT)])]])
  for (const spec of openPorts) {
    const [port, proto = 'tcp'] = spec.trim().split('/')
    if (!port) continue
    if (!byProto.has(proto)) byProto.set(proto, new Set())
    byProto.get(proto)!.add(port)
  }
  const num = (p: string) => Number(p.split('-')[0])
  return [...byProto.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([IPProtocol, ports]) => ({ IPProtocol, ports: [...ports].sort((a, b) => num(a) - num(b) || a.localeCompare(b)) }))
}

/**
 * One rule per (network, port set), shared by every machine that needs exactly those ports, and
 * used as the instances' target tag. A machine with extra --google-open-port values gets its own
 * rule, so no machine ever has a port open that it did not ask for.
 */
export function firewallRuleName(network: string, allowed: Allowed[]): string {
  const key = `${network}|${allowed.map((a) => `${a.IPProtocol}:${a.ports.join(',')}`).join(';')}`
  return `${FIREWALL_PREFIX}-${createHash('sha256').update(key).digest('hex').slice(0, 10)}`
}

/**
 * Swarm mode between the nodes of a cluster: managers (2377/tcp), gossip (7946/tcp+udp), the
 * overlay network's VXLAN (4789/udp, no authentication of its own: never from the world).
 */
export const SWARM_ALLOWED: Allowed[] = [
  { IPProtocol: 'tcp', ports: ['2377', '7946'] },
  { IPProtocol: 'udp', ports: ['4789', '7946'] },
]

/** One swarm rule per network; its name is also the tag it allows from and to. */
export const swarmRuleName = (network: string): string => `${FIREWALL_PREFIX}-swarm-${createHash('sha256').update(network).digest('hex').slice(0, 10)}`

/** Same ports, same protocols? (an existing rule we would reuse). */
export function sameAllowed(a: ReadonlyArray<{ IPProtocol?: string | null; ports?: string[] | null }>, b: Allowed[]): boolean {
  const norm = (x: ReadonlyArray<{ IPProtocol?: string | null; ports?: string[] | null }>) =>
    x
      .map((r) => `${r.IPProtocol ?? ''}:${[...(r.ports ?? [])].sort().join(',')}`)
      .sort()
      .join(';')
  return norm(a) === norm(b)
}

/** The `ssh-keys` metadata line the guest agent turns into an authorized key for the user. */
export const sshKeysLine = (user: string, publicKey: string): string => `${user}:${publicKey.trim()}`

export function isIPv4(s: string): boolean {
  return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((o) => Number(o) <= 255)
}
