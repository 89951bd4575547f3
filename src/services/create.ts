import { randomUUID } from 'node:crypto'
import type { Config } from '@oclif/core'
import { validateEngineOptions } from '../core/engine-options.js'
import { MachineError, messageOf } from '../core/errors.js'
import { authOptionsFor, CONFIG_VERSION, defaultEngineOptions, defaultSwarmOptions, type EngineOptions, type HostConfig } from '../core/host-config.js'
import { validateMachineName } from '../core/names.js'
import { programName } from '../core/program-name.js'
import { swarmColumn } from '../core/swarm-cluster.js'
import { checkSwarmFlags, type SwarmFlags } from '../core/swarm-flags.js'
import { capabilitiesOf, type DriverContext } from '../driver-kit/contract.js'
import { resolveOptions, withClusterDefaults } from '../driver-kit/options.js'
import { interrupted } from '../driver-kit/wait.js'
import { getDriverDefinition } from '../registry/index.js'
import { removeDeadTemps } from '../store/atomic.js'
import { markCreated, markCreating } from '../store/creating.js'
import { FileJournal } from '../store/journal.js'
import { lockMachine } from '../store/lock.js'
import { certsDir, locksDir } from '../store/paths.js'
import { readSettings } from '../store/settings.js'
import { machineExists, type Store } from '../store/store.js'
import { DOCKERD_PLACEHOLDER, engineBootstrapCommand } from '../provision/bootstrap.js'
import { renderDropIn } from '../provision/engine-config.js'
import { ensureCertsFor, ensureServerCert } from './certs.js'
import { reportMachineContext } from './docker-context.js'
import { keepFailureEvidence, withEvidence } from './failure-evidence.js'
import type { OpenMachine } from './machine.js'
import { certNames, engineUrlFromDriver, provisionMachine } from './provision.js'
import type { Reporter } from './reporter.js'

export interface CreateInput {
  name: string
  driver: string
  /** Every parsed flag by name (driver flags included). */
  flags: Record<string, unknown>
  engine: Partial<EngineOptions>
  tlsSans: string[]
  auth: { CaCertPath?: string; CaPrivateKeyPath?: string; ClientCertPath?: string; ClientKeyPath?: string }
  keepOnFailure: boolean
  /** false: make no docker context (--no-docker-context); the store's settings.json can say so too. */
  dockerContext?: boolean
  /** docker-machine's --swarm* flags (core/swarm-flags.ts): join or start a swarm after provisioning. */
  swarm?: SwarmFlags
  config?: Config
  reporter: Reporter
  signal: AbortSignal
  env?: NodeJS.ProcessEnv
}

export interface CreateResult {
  name: string
  driver: string
  url: string
  /** The docker context made for it (docs/contexts.md), when one was. */
  dockerContext?: string
}

/**
 * `machine create`: everything a user can get wrong is checked before anything is made; then
 * the name is reserved, the driver creates (journaling each resource), the host is provisioned
 * over one SSH connection, and the config saved. Failure or Ctrl-C removes what was made and
 * the half-made store entry (unless --keep-on-failure).
 */
export async function createMachine(store: Store, i: CreateInput): Promise<CreateResult> {
  const env = i.env ?? process.env
  const r = i.reporter
  const log = (l: string) => r.info(l)
  validateMachineName(i.name)
  // Before anything is stored: a newline in an engine option would become a line of the unit.
  validateEngineOptions(i.engine, i.tlsSans)
  validateInstallUrl(i.engine.InstallURL)
  const def = await getDriverDefinition(i.driver, i.config)
  const swarm = checkSwarmFlags(i.swarm ?? {})
  // A machine made to join a cluster takes its driver's cluster defaults for options the user
  // left unset (qemu: --qemu-network default, the host-local network its VMs share).
  const flags = swarm.plan.kind === 'none' ? i.flags : withClusterDefaults(def.name, def.options, i.flags, env)
  const resolved = resolveOptions(def.name, def.options, flags, env)
  // A broken settings.json is reported now, before anything is made.
  const wantContext = i.dockerContext !== false && readSettings(store.path).DockerContexts
  if (await store.exists(i.name)) {
    // Checked before taking the lock, so an existing name is reported as such even while
    // another command holds that machine's lock; reserve() below is the atomic check.
    throw machineExists(i.name)
  }
  const swarmCtx = { reporter: r, config: i.config, signal: i.signal, env }
  const swarmPlan = swarm.plan.kind === 'join' ? { ...swarm.plan, cluster: swarm.plan.cluster ?? (await onlyCluster(store)) } : swarm.plan
  if (swarmPlan.kind === 'join') {
    // The swarm to join must exist and a manager of it answer, before anything is made.
    const { checkJoin } = await import('./swarm.js')
    await checkJoin(store, { cluster: swarmPlan.cluster, name: i.name }, swarmCtx)
  }
  for (const line of swarm.ignored) r.note(line)

  // Another create of the same name that got past the check above holds the lock: that is
  // "already exists" to this one, not "busy".
  const lock = await lockMachine(store.path, i.name).catch((e: unknown) => {
    throw e instanceof MachineError && e.code === 'machine-locked' ? machineExists(i.name) : e
  })
  let dir: string
  try {
    dir = await store.reserve(i.name)
  } catch (e) {
    await lock.release()
    throw e
  }
  try {
    // Marked unfinished before anything else lands in the directory; the mark goes only as the
    // last step below. A create killed in between shows as interrupted, not as a machine.
    await markCreating(dir)
  } catch (e) {
    await store.remove(i.name).catch(() => undefined)
    await lock.release()
    throw e
  }
  const host: HostConfig = {
    ConfigVersion: CONFIG_VERSION,
    Driver: {
      IPAddress: '',
      MachineName: i.name,
      SSHUser: '',
      SSHPort: 0,
      SSHKeyPath: '',
      StorePath: store.path,
      SwarmMaster: false,
      SwarmHost: '',
      SwarmDiscovery: '',
      // Tagged on every cloud resource, so leaked resources can be found and attributed.
      MachineId: randomUUID(),
      ...resolved.config,
    },
    DriverName: def.name,
    HostOptions: {
      Driver: '',
      Memory: 0,
      Disk: 0,
      EngineOptions: { ...defaultEngineOptions(), ...i.engine },
      SwarmOptions: { ...defaultSwarmOptions(), Address: swarmPlan.kind === 'none' ? '' : (swarmPlan.address ?? '') },
      AuthOptions: { ...authOptionsFor(store.path, dir, i.auth), ServerCertSANs: i.tlsSans },
    },
    Name: i.name,
  }
  const transcript = r.record()
  let created = false
  const journal = await FileJournal.open(dir)
  const driverLog = { info: log, debug: (l: string) => r.debug(l) }
  const ctx: DriverContext = { machineName: i.name, storePath: store.path, machineDir: dir, config: host.Driver, options: resolved.values, log: driverLog, signal: i.signal, env }
  let m: OpenMachine | undefined
  try {
    const driver = (await def.load()).createDriver(ctx)
    m = { host, def, ctx, driver }
    if (swarmPlan.kind !== 'none' && !swarmPlan.address && !driver.clusterAddress && capabilitiesOf(def).engineBootstrap) {
      // A driver whose address is known before create and that has no cluster network (qemu
      // today: 127.0.0.1, a forward) is refused now, not after minutes of booting.
      const { chooseAdvertiseAddress } = await import('./swarm-address.js')
      await chooseAdvertiseAddress(m, capabilitiesOf(def).ssh)
    }
    try {
      await r.step('Running pre-create checks', { timeoutMs: 120_000, signal: i.signal }, () => driver.preCreateCheck())
    } catch (e) {
      if (e instanceof MachineError && e.code === 'interrupted') throw e
      throw e instanceof MachineError
        ? new MachineError(e.code, `Pre-create check failed: ${e.message}`, { hint: e.hint, exitCode: 3 })
        : new MachineError('pre-create-check', `Pre-create check failed: ${messageOf(e)}`, { exitCode: 3 })
    }
    // Temp files that killed commands left in the shared directories (machine directories go
    // whole with rm); the certs' and locks' writes do not pass through writeFileAtomic.
    await Promise.all([removeDeadTemps(certsDir(store.path)), removeDeadTemps(locksDir(store.path))])
    // Every machine gets the CA + client certificate (docker-machine does the same for none):
    // DOCKER_CERT_PATH points at the machine directory for all drivers.
    await ensureCertsFor(store, host, log)
    await store.save(host)
    const caps = capabilitiesOf(def)
    if (caps.engineBootstrap && caps.ssh) ctx.engineBootstrap = await engineBootstrapFor(m)
    created = true
    await r.step('Creating machine', { timeoutMs: 1_800_000, signal: i.signal }, () => driver.create(journal))
    host.Driver.EngineURL = await engineUrlFromDriver(m)
    await store.save(host)
    if (caps.ssh) {
      await provisionMachine(store, m, { reporter: r, signal: i.signal })
      log('Docker is up and running!')
    }
    if (swarmPlan.kind !== 'none') {
      // A failure here rolls the machine back like any other step (its engine goes with it).
      const { initOn, joinOn } = await import('./swarm.js')
      if (swarmPlan.kind === 'init') await initOn(store, m, swarmCtx)
      else await joinOn(store, m, { cluster: swarmPlan.cluster, manager: swarmPlan.manager }, swarmCtx)
      await store.save(host)
    }
    if (i.signal.aborted) throw interrupted()
    // The very last step: from here on the machine is complete for every other command.
    await markCreated(dir)
    // After the machine is complete: a context that cannot be written is a note, not a failed create.
    const dockerContext = wantContext && (await reportMachineContext(store, host, { env, create: true, reporter: r }))
    return { name: i.name, driver: def.name, url: String(host.Driver.EngineURL ?? ''), ...(dockerContext ? { dockerContext: i.name } : {}) }
  } catch (e) {
    if (i.keepOnFailure) {
      await store.save(host).catch(() => undefined)
      // Kept on purpose, for debugging with ssh/inspect: not an interrupted create.
      await markCreated(dir).catch(() => undefined)
      r.note(`Keeping the half-made machine "${i.name}" (--keep-on-failure); remove it with "machine rm -y ${i.name}"`)
      throw e
    }
    // A machine that got as far as being made leaves its logs behind for the user to read.
    const evidence = created && !i.signal.aborted ? await keepFailureEvidence(store.path, i.name, dir, transcript.lines, e) : undefined
    await rollback(store, i.name, m, journal, r)
    throw evidence ? withEvidence(e, evidence, dir) : e
  } finally {
    transcript.stop()
    await lock.release()
  }
}

/** `--swarm` without `--swarm-cluster`: the one swarm this store's machines are in. */
async function onlyCluster(store: Store): Promise<string> {
  const hosts = (await store.loadAll()).flatMap((e) => (e.host ? [e.host] : []))
  const clusters = [...new Set([...swarmColumn(hosts).values()].map((v) => v.replace(/ \(master\)$/, '')))].sort()
  if (clusters.length === 1) return clusters[0]!
  if (clusters.length === 0) {
    throw new MachineError('no-such-cluster', '--swarm joins a swarm, but no machine in this store is a swarm master', { hint: `create one with --swarm-master first, or make one with "${programName()} swarm init NAME"` })
  }
  throw new MachineError('usage', `--swarm: this store has several swarms (${clusters.join(', ')})`, { hint: 'name the one to join with --swarm-cluster NAME' })
}

/**
 * The install URL's form (http(s) or "none"); every other engine option is checked by
 * core/engine-options.ts, which for this one checks only that it is a single line.
 */
function validateInstallUrl(url: string | undefined): void {
  if (url && url !== 'none' && !/^https?:\/\//.test(url)) {
    throw new MachineError('invalid-option', `--engine-install-url "${url}" is not an http(s) URL`, { hint: 'give a URL of an install script, or "none" to never install' })
  }
}

/**
 * The TLS files and drop-in for the host's first boot, made now because the driver knows the
 * address in advance (see engineBootstrapCommand). The same server certificate is kept by
 * provisioning, which then verifies instead of rewriting.
 */
async function engineBootstrapFor(m: OpenMachine): Promise<string> {
  const certs = await ensureServerCert(m.host, await certNames(m))
  const dropIn = (containerd: boolean) =>
    renderDropIn({
      machineName: m.host.Name,
      driverName: m.host.DriverName,
      dockerd: DOCKERD_PLACEHOLDER,
      port: m.driver.enginePort?.() ?? 2376,
      engine: m.host.HostOptions.EngineOptions,
      containerd,
    })
  return engineBootstrapCommand({ caCert: certs.ca, serverCert: certs.cert, serverKey: certs.key, dropIn: dropIn(false), dropInContainerd: dropIn(true) })
}

async function rollback(store: Store, name: string, m: OpenMachine | undefined, journal: FileJournal, reporter: Reporter): Promise<void> {
  const made = journal.entries().map((e) => `${e.kind} ${e.id}`)
  if (m && made.length > 0) {
    // The create's signal may be the aborted one (Ctrl-C): rollback gets its own, bounded.
    m.ctx.signal = AbortSignal.timeout(600_000)
    reporter.note(`Rolling back: removing ${made.join(', ')}`)
    try {
      await m.driver.remove(journal)
    } catch (e) {
      const left = journal.entries().map((x) => `${x.kind} ${x.id}`)
      reporter.note(`Could not remove everything (${messageOf(e)}). Left: ${left.join(', ') || 'nothing'}; the machine directory is kept so "machine rm -f ${name}" can retry`)
      await store.save(m.host).catch(() => undefined)
      return
    }
  }
  await store.remove(name)
}
