import type { MachineState } from '../core/state.js'
import type { OptionSpec, OptionsOf } from './options.js'

// Drivers report states in the same vocabulary `ls` shows.
export type { MachineState } from '../core/state.js'

/** What a driver tells the SSH layer about reaching its host. */
export interface SshInfo {
  host: string
  port: number
  user: string
  /** Private key file the client authenticates with. */
  keyPath: string
  /**
   * OpenSSH public host keys ("ssh-ed25519 AAAA…") the driver injected or learned out of band.
   * When given, the very first connection is verified against them; when absent the host key
   * is trusted on first use (or checked against `hostKeyFingerprint`) and pinned afterwards.
   */
  hostKeys?: string[]
  /** "SHA256:…" fingerprint the user supplied to verify from the very first connection. */
  hostKeyFingerprint?: string
}

/** One resource a driver made (or is about to make), recorded before it is created. */
export interface JournalEntry {
  /** Resource kind, driver-defined: 'instance', 'security-group', 'disk', 'process', … */
  kind: string
  /** Identifier the driver needs to delete it (instance id, resource id, file path, pid). */
  id: string
  /** Anything else the driver wants back at delete time (region, zone, resource group…). */
  data?: Record<string, unknown>
}

/**
 * The machine's journal (`journal.json` in its store directory). `record` is awaited BEFORE the
 * resource is created, so an interrupted create can always be rolled back; `forget` after the
 * resource is gone.
 */
export interface Journal {
  record(entry: JournalEntry): Promise<void>
  /** Merge extra data into the entry of this kind+id (e.g. the id the cloud assigned). */
  update(kind: string, id: string, data: Record<string, unknown>): Promise<void>
  forget(kind: string, id: string): Promise<void>
  /** Entries in creation order. */
  entries(): readonly JournalEntry[]
}

export interface DriverLogger {
  /** A user-facing progress line ("Waiting for the instance to run…"). */
  info(message: string): void
  /** Shown with --debug only. Never pass secrets. */
  debug(message: string): void
}

/**
 * What every driver instance gets. `O` is the driver's declared options (`typeof options` of an
 * `as const satisfies readonly OptionSpec[]` list): `options` is then typed from them.
 */
export interface DriverContext<O extends readonly OptionSpec[] = readonly OptionSpec[]> {
  machineName: string
  /** Store root ($MACHINE_STORAGE_PATH). */
  storePath: string
  /** This machine's directory in the store: keys, disks, known_hosts live here. */
  machineDir: string
  /**
   * The machine's driver state, saved as config.json "Driver" (docker-machine's base fields
   * IPAddress, SSHUser, SSHPort, SSHKeyPath, … and what the driver records: instance id, ports).
   * Drivers update it and the caller saves it. Option values are saved there too, under their
   * config keys, but a driver reads options only from `options`.
   */
  config: Record<string, unknown>
  /**
   * The option values, resolved once by the kit for create and for every later command alike
   * (flag → saved config → environment → default; secrets from flag or environment only), typed
   * and keyed by camelCase name (`instance-type` → `instanceType`).
   */
  options: OptionsOf<O>
  log: DriverLogger
  /** Aborted on Ctrl-C / step timeout; long waits should honour it. */
  signal: AbortSignal
  /** Environment to read credentials from (tests inject fakes). */
  env: NodeJS.ProcessEnv
  /**
   * For drivers with the `engineBootstrap` capability: a shell command to run once, as root, early in
   * the host's first boot (cloud-init `bootcmd`). It installs the engine's TLS files and config
   * before the engine first starts, so provisioning then finds everything right and need not
   * restart the engine. It holds the server's private key: deliver it like the SSH host key.
   */
  engineBootstrap?: string
}

export interface BootWatchOptions {
  signal: AbortSignal
  /** A short description of what the host is doing now ("firmware", "kernel booting"). */
  onStage(stage: string): void
}

export interface Driver {
  /** Validate credentials, quotas, names: nothing is created before this passes. */
  preCreateCheck(): Promise<void>
  /** Create the host. Record each resource in the journal before making it. */
  create(journal: Journal): Promise<void>
  /** Delete what the journal lists (and the host itself); idempotent, missing things are fine. */
  remove(journal: Journal): Promise<void>
  start(): Promise<void>
  /**
   * Power the host off cleanly; with `save` (drivers with the `saveState` capability only), save
   * its running state instead, so that the next start() resumes it (state() then says Saved).
   * stop() of a Saved host discards the saved state: its next start boots afresh.
   */
  stop(o?: StopOptions): Promise<void>
  restart(): Promise<void>
  kill(): Promise<void>
  state(): Promise<MachineState>
  /** Address the engine URL and the server certificate use. */
  ip(): Promise<string>
  sshInfo(): Promise<SshInfo>
  /** Engine URL; default `tcp://<ip>:<enginePort()>`. */
  engineUrl?(): Promise<string>
  /** Port dockerd listens on inside the host (may differ from the URL's port behind a forward). */
  enginePort?(): number
  /** Extra names/IPs the server certificate must cover (e.g. 127.0.0.1 behind a forward). */
  certSans?(): Promise<string[]>
  /**
   * The host's address on the network the machines of a cluster share (a second NIC on a
   * host-local network, a cloud's private address), which swarm mode advertises to the other
   * nodes; undefined when it has none. Without this method, ip() is used. Never a NAT address
   * every host has alike (QEMU's user-mode 10.0.2.15). The server certificate covers it.
   */
  clusterAddress?(): Promise<string | undefined>
  /**
   * Open what swarm mode needs between the machines of a cluster (2377/tcp, 7946/tcp+udp,
   * 4789/udp), from the cluster's own network only, unless the driver's option says not to
   * (`--<driver>-swarm-ports=false`, saved at create). The one implementation a driver has: its
   * create uses it for `create --swarm*`, and `swarm init/join` of an existing machine calls it.
   * Idempotent: rules already there are left as they are. What it opens or starts to use is
   * recorded in `journal` (the machine's journal.json) before it is made, so `remove()` and
   * `closeClusterPorts()` take it away again with the last machine that needs it. Cloud
   * drivers only; without it nothing is opened (a local network or the user's own).
   */
  openClusterPorts?(journal: Journal): Promise<void>
  /**
   * This machine no longer needs the cluster's ports (it left its swarm): its own mark goes, and
   * the rules openClusterPorts recorded are removed once no other machine uses them; rules other
   * members still use stay. Idempotent; the same "last user" logic as remove().
   */
  closeClusterPorts?(journal: Journal): Promise<void>
  /**
   * For a host that is not on the network its cluster's machines share (a qemu VM made without
   * --qemu-network that now joins a swarm): how to put it there, beside `peer` (a member of the
   * cluster; none for a new cluster). Undefined when the host is on it already, or the driver has
   * no such network (then ip() is advertised). Nothing changes until the plan's attach(); a peer
   * on no network this host can join is a MachineError naming the fix.
   */
  clusterNetworkFor?(peer?: ClusterPeer): Promise<ClusterNetworkPlan | undefined>
  /**
   * Watch the host's boot while the caller waits for it after create() or start() (for SSH,
   * for the engine): report each boot stage through `onStage` ("kernel booting"), resolve when
   * `signal` aborts (the wait is over), and reject with a MachineError as soon as the boot has
   * failed or stopped making progress, saying what the host showed last, so the wait ends then
   * instead of at its timeout. It may also mend the boot itself (the qemu driver restarts a VM
   * whose auto-chosen accelerator hangs the guest kernel). Optional: without it the caller waits.
   */
  watchBoot?(o: BootWatchOptions): Promise<void>
}

export interface StopOptions {
  /** Save the running state (memory, devices) for the next start() to resume, instead of powering off. */
  save?: boolean
}

/** A machine of a cluster, as its saved config describes it. */
export interface ClusterPeer {
  name: string
  driverName: string
  /** Its saved driver config (config.json "Driver"). */
  config: Record<string, unknown>
}

/** See Driver.clusterNetworkFor. */
export interface ClusterNetworkPlan {
  /** The network, as the user knows it: 'qemu network "default" (192.168.99.0/24)'. */
  network: string
  /** The host runs without what that network needs (a NIC): it must be stopped before attach(). */
  needsStop: boolean
  /** Record the network in ctx.config (the caller saves it): the host's next start brings it up there. Returns its address on it. */
  attach(): Promise<string>
  /** A root shell script that, run over SSH on the running host, gives it its address now and at every boot. */
  guestSetup(): string
  /** The guest setup ran: from now on clusterAddress() answers with the address. */
  done(): void
}

export type LifecycleOp = 'start' | 'stop' | 'restart' | 'kill'

/**
 * What a driver's hosts can do, declared once on its definition. Core code and the conformance
 * suite read these; nothing asks a driver's name.
 */
export interface DriverCapabilities {
  /**
   * The host is reached over SSH and the engine is provisioned on it (certificates, config).
   * False for `none`, which records an existing engine by URL: create stops after the driver's
   * create, and ssh/scp/mount/provision/upgrade/regenerate-certs are refused.
   */
  ssh: boolean
  /**
   * ip()/certSans() answer before create(), and create() hands ctx.engineBootstrap to the host's
   * first boot (local VMs whose address is known in advance), so provisioning finds the engine
   * already configured.
   */
  engineBootstrap: boolean
  /** The lifecycle operations it supports; the others reject with NotSupportedError. */
  lifecycle: readonly LifecycleOp[]
  /** Host folders can be shared into the guest. */
  sharedFolders: boolean
  /** Its machines share a host-only network (a cluster's nodes reach each other directly). */
  hostOnlyNetwork: boolean
  /**
   * Its hosts are VMs on this computer (qemu, virtualbox, …): `machine export` refuses them,
   * since another computer could neither start them nor reach their engine.
   */
  local: boolean
  /** stop({ save: true }) saves the running host's state and start() resumes it (`machine stop --save`). */
  saveState: boolean
}

export const DEFAULT_CAPABILITIES: DriverCapabilities = {
  ssh: true,
  engineBootstrap: false,
  lifecycle: ['start', 'stop', 'restart', 'kill'],
  sharedFolders: false,
  hostOnlyNetwork: false,
  local: false,
  saveState: false,
}

/** A definition's capabilities with the defaults filled in (plugins may declare only some). */
export const capabilitiesOf = (d: Pick<DriverDefinition, 'capabilities'>): DriverCapabilities => ({ ...DEFAULT_CAPABILITIES, ...d.capabilities })

export const supports = (d: Pick<DriverDefinition, 'capabilities'>, op: LifecycleOp): boolean => capabilitiesOf(d).lifecycle.includes(op)

/** Where `machine prune` looks: the driver's options resolved from prune's flags and the environment, as create resolves them. */
export interface PruneScope<O extends readonly OptionSpec[] = readonly OptionSpec[]> {
  options: OptionsOf<O>
  env: NodeJS.ProcessEnv
  signal: AbortSignal
  log: DriverLogger
}

/**
 * A cloud resource carrying this tool's marker (the machine-id tag or label every create puts on
 * what it makes), as `machine prune` lists it.
 */
export interface TaggedResource {
  /** What it is, for the table: 'instance', 'security-group', 'disk', … */
  kind: string
  /** Its name or id as the cloud's console shows it. */
  name: string
  /** The machine-id tag: the id the machine's config.json records as Driver.MachineId. */
  machineId: string
  /** The machine-store tag (store-marker.ts), '' when absent (made before stores were marked). */
  store: string
  /** The machine-name tag (or Name), '' when absent. */
  machineName: string
  /** Region, zone or location. */
  region: string
  /** ISO time the cloud says it was made, when it says. */
  createdAt?: string
  /**
   * Other machines may use it too (a firewall rule, a security group, a network, a resource
   * group): remove() deletes it only when nothing else does, else keeps it.
   */
  shared?: boolean
  /**
   * The journal entry create records for it: prune hands these, in creation order, to the
   * driver's own remove(journal), so a leak is deleted by exactly the code `rm` runs.
   */
  entry: JournalEntry
}

export interface DriverModule<O extends readonly OptionSpec[] = readonly OptionSpec[]> {
  // Method syntax on purpose: a module typed for its own options still fits the registry's list.
  createDriver(ctx: DriverContext<O>): Driver
  /**
   * Every resource in the scope (region, project, subscription) that carries this tool's marker,
   * whatever store made it, in creation order per machine (following every page of the cloud's
   * listing). Cloud drivers only: `machine prune` compares the ids with the store's.
   */
  listResources?(scope: PruneScope<O>): Promise<TaggedResource[]>
}

export interface DriverDefinition<O extends readonly OptionSpec[] = readonly OptionSpec[]> {
  name: string
  description: string
  options: O
  /** Defaults: SSH-provisioned, every lifecycle operation, no engine bootstrap (see DEFAULT_CAPABILITIES). */
  capabilities?: Partial<DriverCapabilities>
  /** Dynamic import of the lifecycle code: the only path that loads an SDK or hypervisor code. */
  load(): Promise<DriverModule<O>>
  /**
   * Present when the module has `listResources` (a cloud driver). `configured(env)` says, without
   * loading the SDK, whether credentials for the cloud are set up here, so `machine prune` without
   * -d asks only the clouds this computer can reach.
   */
  prune?: {
    configured(env: NodeJS.ProcessEnv): boolean
    /** The options that say where to look and with which credentials: `machine prune` offers these as flags. */
    options: readonly string[]
  }
}

/**
 * Declare a driver. The option list is inferred as written (`const`), so the lifecycle module's
 * `DriverContext<typeof options>` has typed `options`: declare the list in its own module
 * (`options.ts`) that both the definition and the lifecycle code import.
 */
export const defineDriver = <const O extends readonly OptionSpec[]>(d: DriverDefinition<O>): DriverDefinition<O> => d

/** Thrown by drivers for operations their kind of host cannot do (generic start/stop…). */
export class NotSupportedError extends Error {
  constructor(driver: string, op: string) {
    super(`the ${driver} driver cannot ${op} a machine`)
    this.name = 'NotSupportedError'
  }
}
