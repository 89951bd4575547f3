import { existsSync } from 'node:fs'
import type { Config } from '@oclif/core'
import { formatEngineUrl } from '../core/engine-url.js'
import { MachineError } from '../core/errors.js'
import type { HostConfig } from '../core/host-config.js'
import type { MachineState } from '../core/state.js'
import { capabilitiesOf, type Driver, type DriverContext, type DriverDefinition, type DriverLogger } from '../driver-kit/contract.js'
import { resolveOptions, withClusterDefaults } from '../driver-kit/options.js'
import { withTimeout } from '../driver-kit/wait.js'
import { getDriverDefinition, loadDriverModule } from '../registry/index.js'
import { machineTlsPaths } from '../store/paths.js'
import type { Store } from '../store/store.js'

export interface OpenOptions {
  config?: Config
  log: DriverLogger
  signal?: AbortSignal
  env?: NodeJS.ProcessEnv
  /**
   * Resolve the driver's options as for a machine that joins a cluster (`swarm init/join`): an
   * option with a cluster default that neither create, the environment nor a flag set takes it
   * (the cloud drivers' swarm-ports), while a saved opt-out stays.
   */
  forCluster?: boolean
}

export interface OpenMachine {
  host: HostConfig
  def: DriverDefinition
  ctx: DriverContext
  driver: Driver
}

/** Load a machine and its driver (this imports the driver's lifecycle code, and its SDK). */
export async function openMachine(store: Store, name: string, o: OpenOptions): Promise<OpenMachine> {
  const host = await store.load(name)
  return openLoaded(store, host, o)
}

export async function openLoaded(store: Store, host: HostConfig, o: OpenOptions): Promise<OpenMachine> {
  const def = await getDriverDefinition(host.DriverName, o.config).catch((e: unknown) => {
    if (e instanceof MachineError && e.code === 'unknown-driver') {
      throw new MachineError('unknown-driver', `Machine "${host.Name}" uses driver "${host.DriverName}", which is not installed`, {
        hint: `install the plugin that provides it (see "machine drivers")`,
      })
    }
    throw e
  })
  const env = o.env ?? process.env
  const ctx: DriverContext = {
    machineName: host.Name,
    storePath: store.path,
    machineDir: store.dir(host.Name),
    config: host.Driver,
    // The same resolution as create's, with the saved config as the flags' stand-in.
    options: resolveOptions(def.name, def.options, o.forCluster ? withClusterDefaults(def.name, def.options, {}, env, host.Driver) : {}, env, {
      config: host.Driver,
      from: store.configPath(host.Name),
    }).values,
    log: o.log,
    signal: o.signal ?? new AbortController().signal,
    env,
  }
  const mod = await loadDriverModule(def)
  return { host, def, ctx, driver: mod.createDriver(ctx) }
}

/**
 * The engine URL from the saved config alone (no driver code, no network): what `env`,
 * `config` and `url` print. Drivers' engineUrl() results are saved as Driver.EngineURL when
 * the machine is created or started; docker-machine stores (no EngineURL) fall back to its rule.
 */
export function engineUrlOf(host: HostConfig): string {
  const d = host.Driver
  // The none driver saves the URL the user gave (docker-machine's field); it has no IPAddress rule.
  if (typeof d.URL === 'string' && d.URL) return d.URL
  if (typeof d.EngineURL === 'string' && d.EngineURL) return d.EngineURL
  const ip = String(d.IPAddress ?? '')
  if (!ip) return ''
  return formatEngineUrl(ip, Number(d.EnginePort ?? 2376))
}

/** The client-side TLS files `docker` uses for this machine (copies in its directory). */
export function machineTlsFiles(store: Store, name: string): { ca: string; cert: string; key: string; server: string } {
  return machineTlsPaths(store.dir(name))
}

/** The client TLS files to reach a machine's engine with: its own copies, else its AuthOptions (docker-machine stores' none machines). */
export function clientTlsFiles(store: Store, host: HostConfig): { ca: string; cert: string; key: string } {
  const own = machineTlsFiles(store, host.Name)
  if (existsSync(own.ca) && existsSync(own.cert) && existsSync(own.key)) return own
  const a = host.HostOptions.AuthOptions
  return { ca: a.CaCertPath, cert: a.ClientCertPath, key: a.ClientKeyPath }
}

/** The driver's state for a loaded host, bounded in time. */
export async function machineState(store: Store, host: HostConfig, config?: Config, timeoutMs = 20_000): Promise<MachineState> {
  const m = await openLoaded(store, host, { config, log: { info: () => {}, debug: () => {} } })
  return withTimeout(m.driver.state(), timeoutMs, `The ${host.DriverName} driver`)
}

/** `machine url`: the engine URL of a machine that is running (a stopped one's URL would mislead). */
export async function runningEngineUrl(store: Store, host: HostConfig, config?: Config): Promise<string> {
  const state = await machineState(store, host, config)
  if (state !== 'Running') throw new MachineError('not-running', `Machine "${host.Name}" is not running (state: ${state || 'unknown'})`, { hint: `start it with "machine start ${host.Name}"` })
  return engineUrlOf(host)
}

/** ssh, scp and mount reach the host over SSH: a driver without it (none) is refused. */
export function requireSshAccess(m: OpenMachine): void {
  if (!capabilitiesOf(m.def).ssh) throw new MachineError('not-supported', `Machine "${m.host.Name}" (driver ${m.host.DriverName}) has no SSH access`)
}

/** `doing` ("run SSH command", "mount") needs the machine running: say so, with how to start it. */
export async function requireRunning(m: OpenMachine, doing: string): Promise<void> {
  const state = await m.driver.state()
  if (state !== 'Running') {
    throw new MachineError('not-running', `Cannot ${doing}: machine "${m.host.Name}" is not running (${state || 'unknown'})`, { hint: `start it with "machine start ${m.host.Name}"` })
  }
}
