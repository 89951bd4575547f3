import { certsPaths, machineTlsPaths } from '../store/paths.js'
import { MachineError } from './errors.js'

/**
 * config.json in docker-machine 0.16's shape (ConfigVersion 3), so stores written by
 * docker-machine load here and ours load there. Keys keep docker-machine's order.
 */
export const CONFIG_VERSION = 3

export interface EngineOptions {
  ArbitraryFlags: string[]
  Dns: string[] | null
  GraphDir: string
  Env: string[]
  Ipv6: boolean
  InsecureRegistry: string[]
  Labels: string[]
  LogLevel: string
  StorageDriver: string
  SelinuxEnabled: boolean
  TlsVerify: boolean
  RegistryMirror: string[]
  InstallURL: string
}

export interface SwarmOptions {
  IsSwarm: boolean
  Address: string
  Discovery: string
  Agent: boolean
  Master: boolean
  Host: string
  Image: string
  Strategy: string
  Heartbeat: number
  Overcommit: number
  ArbitraryFlags: string[]
  ArbitraryJoinFlags: string[]
  Env: string[] | null
  IsExperimental: boolean
}

export interface AuthOptions {
  CertDir: string
  CaCertPath: string
  CaPrivateKeyPath: string
  CaCertRemotePath: string
  ServerCertPath: string
  ServerKeyPath: string
  ClientKeyPath: string
  ServerCertRemotePath: string
  ServerKeyRemotePath: string
  ClientCertPath: string
  ServerCertSANs: string[]
  StorePath: string
}

export interface HostOptions {
  Driver: string
  Memory: number
  Disk: number
  EngineOptions: EngineOptions
  SwarmOptions: SwarmOptions
  AuthOptions: AuthOptions
}

export interface HostConfig {
  ConfigVersion: number
  Driver: Record<string, unknown>
  DriverName: string
  HostOptions: HostOptions
  Name: string
}

export const DEFAULT_INSTALL_URL = 'https://get.docker.com'

export function defaultEngineOptions(): EngineOptions {
  return {
    ArbitraryFlags: [],
    Dns: null,
    GraphDir: '',
    Env: [],
    Ipv6: false,
    InsecureRegistry: [],
    Labels: [],
    LogLevel: '',
    StorageDriver: '',
    SelinuxEnabled: false,
    TlsVerify: true,
    RegistryMirror: [],
    InstallURL: DEFAULT_INSTALL_URL,
  }
}

export function defaultSwarmOptions(): SwarmOptions {
  return {
    IsSwarm: false,
    Address: '',
    Discovery: '',
    Agent: false,
    Master: false,
    Host: 'tcp://0.0.0.0:3376',
    Image: 'swarm:latest',
    Strategy: 'spread',
    Heartbeat: 0,
    Overcommit: 0,
    ArbitraryFlags: [],
    ArbitraryJoinFlags: [],
    Env: null,
    IsExperimental: false,
  }
}

export function authOptionsFor(storePath: string, machineDir: string, paths?: Partial<AuthOptions>): AuthOptions {
  const certs = certsPaths(storePath)
  const own = machineTlsPaths(machineDir)
  return {
    CertDir: certs.dir,
    CaCertPath: paths?.CaCertPath || certs.caCert,
    CaPrivateKeyPath: paths?.CaPrivateKeyPath || certs.caKey,
    CaCertRemotePath: '',
    ServerCertPath: own.server,
    ServerKeyPath: own.serverKey,
    ClientKeyPath: paths?.ClientKeyPath || certs.clientKey,
    ServerCertRemotePath: '',
    ServerKeyRemotePath: '',
    ClientCertPath: paths?.ClientCertPath || certs.clientCert,
    ServerCertSANs: [],
    StorePath: machineDir,
  }
}

/** Serialise exactly as docker-machine does: 4-space indent, no trailing newline. */
export const serializeHost = (h: HostConfig): string => JSON.stringify(h, null, 4)

const corrupt = (path: string, what: string, name?: string): MachineError =>
  new MachineError('corrupt-config', `Corrupt machine config ${path}: ${what}`, {
    hint: name ? `fix or remove the file (it was left untouched), or remove the machine with "machine rm -f ${name}"` : 'fix or remove the file; it was left untouched',
  })

// The quick shape check's templates: our defaults, whose JSON types are the schema's.
const DRIVER_TEMPLATE = { IPAddress: '', MachineName: '', SSHUser: '', SSHPort: 0, SSHKeyPath: '', StorePath: '', SwarmMaster: false, SwarmHost: '', SwarmDiscovery: '', URL: '', EngineURL: '', EnginePort: 0 }
const HOST_OPTIONS_TEMPLATE = { Driver: '', Memory: 0, Disk: 0 }
const TOP_TEMPLATE = { ConfigVersion: 0, Name: '' }
const ENGINE_TEMPLATE: Record<string, unknown> = { ...defaultEngineOptions() }
const SWARM_TEMPLATE: Record<string, unknown> = { ...defaultSwarmOptions() }
const AUTH_TEMPLATE: Record<string, unknown> = { ...authOptionsFor('', '') }

const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x)

/**
 * Whether every field of `value` that `template` has is of the template's JSON type: numbers
 * whole, lists (or null: Go's nil slice) of strings. Absent fields are fine.
 */
function fitsTemplate(value: unknown, template: Record<string, unknown>): boolean {
  if (value === undefined) return true
  if (!isObject(value)) return false
  for (const k in template) {
    const x = value[k]
    if (x === undefined) continue
    const t = template[k]
    if (Array.isArray(t) || t === null) {
      if (x !== null && !(Array.isArray(x) && x.every((s) => typeof s === 'string'))) return false
    } else if (typeof t === 'number') {
      if (!Number.isSafeInteger(x)) return false
    } else if (typeof x !== typeof t) return false
  }
  return true
}

/**
 * The quick shape check: true only for documents the schema (host-schema.ts) accepts, without
 * loading it. Anything else is decided by the schema. A test holds the two together.
 */
export function quickShapeOk(o: Record<string, unknown>): boolean {
  if (typeof o.DriverName !== 'string' || !o.DriverName) return false
  if (!fitsTemplate(o, TOP_TEMPLATE) || !fitsTemplate(o.Driver, DRIVER_TEMPLATE)) return false
  const ho = o.HostOptions
  if (ho === undefined) return true
  if (!fitsTemplate(ho, HOST_OPTIONS_TEMPLATE)) return false
  const h = ho as Record<string, unknown>
  return fitsTemplate(h.EngineOptions, ENGINE_TEMPLATE) && fitsTemplate(h.SwarmOptions, SWARM_TEMPLATE) && fitsTemplate(h.AuthOptions, AUTH_TEMPLATE)
}

const AUTH_KEYS = Object.keys(authOptionsFor('', '')) as ReadonlyArray<keyof AuthOptions>

/**
 * `{ ...authOptionsFor(storePath, ''), ...saved }`, without making the defaults (ten paths) when
 * the saved section has every field, as every config we write does: `ls` parses hundreds.
 */
function withAuthDefaults(storePath: string, saved: Partial<AuthOptions> | undefined): AuthOptions {
  if (!saved || !AUTH_KEYS.every((k) => Object.hasOwn(saved, k))) return { ...authOptionsFor(storePath, ''), ...saved }
  const inOrder: Partial<Record<keyof AuthOptions, unknown>> = {}
  for (const k of AUTH_KEYS) inOrder[k] = saved[k]
  return { ...inOrder, ...saved } as AuthOptions
}

/** Go's nil slice (null) as the empty list our code expects; other values as they are. */
function listsOf<T extends object>(section: T, keys: ReadonlyArray<keyof T>): T {
  const out = { ...section }
  for (const k of keys) if (out[k] === null) (out as Record<keyof T, unknown>)[k] = []
  return out
}

/**
 * Parse a config.json. A corrupt file, a field of the wrong type, or a version from the future
 * is an error naming the file (and the field); callers never overwrite such a file. Older
 * versions' missing sections get defaults. `expectedName` is the machine's directory name.
 */
export async function parseHost(text: string, path: string, expectedName?: string): Promise<HostConfig> {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw corrupt(path, (e as Error).message, expectedName)
  }
  if (!isObject(raw)) throw corrupt(path, 'not a JSON object', expectedName)
  const o = raw
  const version = typeof o.ConfigVersion === 'number' ? o.ConfigVersion : 0
  if (version > CONFIG_VERSION) {
    throw new MachineError('unknown-config-version', `Machine config ${path} has ConfigVersion ${version}, newer than this tool understands (${CONFIG_VERSION})`, {
      hint: 'upgrade machine; the file was left untouched',
    })
  }
  if (!quickShapeOk(o)) {
    const { shapeProblem } = await import('./host-schema.js')
    const problem = shapeProblem(o)
    if (problem) throw corrupt(path, problem, expectedName)
  }
  const driver = (o.Driver ?? {}) as Record<string, unknown>
  const ho = (o.HostOptions ?? {}) as Partial<HostOptions>
  const name = typeof o.Name === 'string' && o.Name ? o.Name : (expectedName ?? String(driver.MachineName ?? ''))
  return {
    ConfigVersion: CONFIG_VERSION,
    Driver: driver,
    DriverName: o.DriverName as string,
    HostOptions: {
      Driver: ho.Driver ?? '',
      Memory: ho.Memory ?? 0,
      Disk: ho.Disk ?? 0,
      EngineOptions: listsOf({ ...defaultEngineOptions(), ...(ho.EngineOptions ?? {}) }, ['ArbitraryFlags', 'Env', 'InsecureRegistry', 'Labels', 'RegistryMirror']),
      SwarmOptions: listsOf({ ...defaultSwarmOptions(), ...(ho.SwarmOptions ?? {}) }, ['ArbitraryFlags', 'ArbitraryJoinFlags']),
      AuthOptions: listsOf(withAuthDefaults(String(driver.StorePath ?? ''), ho.AuthOptions), ['ServerCertSANs']),
    },
    Name: name,
  }
}
