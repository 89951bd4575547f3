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
  const certDir = `${storePath}/certs`
  return {
    CertDir: certDir,
    CaCertPath: paths?.CaCertPath || `${certDir}/ca.pem`,
    CaPrivateKeyPath: paths?.CaPrivateKeyPath || `${certDir}/ca-key.pem`,
    CaCertRemotePath: '',
    ServerCertPath: `${machineDir}/server.pem`,
    ServerKeyPath: `${machineDir}/server-key.pem`,
    ClientKeyPath: paths?.ClientKeyPath || `${certDir}/key.pem`,
    ServerCertRemotePath: '',
    ServerKeyRemotePath: '',
    ClientCertPath: paths?.ClientCertPath || `${certDir}/cert.pem`,
    ServerCertSANs: [],
    StorePath: machineDir,
  }
}

/** Serialise exactly as docker-machine does: 4-space indent, no trailing newline. */
export const serializeHost = (h: HostConfig): string => JSON.stringify(h, null, 4)

/**
 * Parse a config.json. A corrupt file or a version from the future is an error naming the
 * file; callers never overwrite such a file. Older versions' missing sections get defaults.
 */
export function parseHost(text: string, path: string, expectedName?: string): HostConfig {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new MachineError('corrupt-config', `Corrupt machine config ${path}: ${(e as Error).message}`, {
      hint: 'fix or remove the file; it was left untouched',
    })
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new MachineError('corrupt-config', `Corrupt machine config ${path}: not a JSON object`, { hint: 'fix or remove the file; it was left untouched' })
  }
  const o = raw as Record<string, unknown>
  const version = typeof o.ConfigVersion === 'number' ? o.ConfigVersion : 0
  if (version > CONFIG_VERSION) {
    throw new MachineError('unknown-config-version', `Machine config ${path} has ConfigVersion ${version}, newer than this tool understands (${CONFIG_VERSION})`, {
      hint: 'upgrade machine; the file was left untouched',
    })
  }
  if (typeof o.DriverName !== 'string' || !o.DriverName) {
    throw new MachineError('corrupt-config', `Corrupt machine config ${path}: DriverName is missing`, { hint: 'fix or remove the file; it was left untouched' })
  }
  const driver = (o.Driver && typeof o.Driver === 'object' ? o.Driver : {}) as Record<string, unknown>
  const ho = (o.HostOptions && typeof o.HostOptions === 'object' ? o.HostOptions : {}) as Partial<HostOptions>
  const name = typeof o.Name === 'string' && o.Name ? o.Name : (expectedName ?? String(driver.MachineName ?? ''))
  return {
    ConfigVersion: CONFIG_VERSION,
    Driver: driver,
    DriverName: o.DriverName,
    HostOptions: {
      Driver: ho.Driver ?? '',
      Memory: ho.Memory ?? 0,
      Disk: ho.Disk ?? 0,
      EngineOptions: { ...defaultEngineOptions(), ...(ho.EngineOptions ?? {}) },
      SwarmOptions: { ...defaultSwarmOptions(), ...(ho.SwarmOptions ?? {}) },
      AuthOptions: { ...authOptionsFor(String(driver.StorePath ?? ''), ''), ...(ho.AuthOptions ?? {}) },
    },
    Name: name,
  }
}
