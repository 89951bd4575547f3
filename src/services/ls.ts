import type { Config } from '@oclif/core'
import { setMaxListeners } from 'node:events'
import { compileFormat, DEFAULT_LS_FORMAT, goDuration, matchesFilters, parseFilters, renderLs, sortRows, type LsFilters, type LsRow } from '../core/ls-format.js'
import { messageOf, type MachineError } from '../core/errors.js'
import type { HostConfig } from '../core/host-config.js'
import { swarmColumn } from '../core/swarm-cluster.js'
import { MachineCreating, type LoadedEntry, type Store } from '../store/store.js'
import { engineVersion, readTls } from './engine.js'
import { clientTlsFiles, engineUrlOf, openLoaded } from './machine.js'

function baseRow(name: string, host?: HostConfig, swarm = ''): LsRow {
  return {
    Name: name,
    Active: '-',
    ActiveHost: false,
    ActiveSwarm: false,
    DriverName: host?.DriverName ?? 'not found',
    Arch: typeof host?.Driver.Arch === 'string' ? host.Driver.Arch : '',
    State: '',
    URL: '',
    Swarm: swarm,
    DockerVersion: '',
    Error: '',
    ResponseTime: '',
    SwarmOptions: host ? JSON.stringify(host.HostOptions.SwarmOptions) : '',
    EngineOptions: host ? JSON.stringify(host.HostOptions.EngineOptions) : '',
    labels: host?.HostOptions.EngineOptions.Labels ?? [],
  }
}

/**
 * The row of a machine that cannot be used: its error in the ERROR column. An unfinished
 * create gets a short form (the row already names the machine), and one still running in
 * another process is "Starting", not an error.
 */
function errorRow(name: string, error: MachineError | undefined, known: HostConfig | undefined): LsRow {
  const row: LsRow = { ...baseRow(name, known), State: 'Error', Active: '', loadError: true, SwarmOptions: '', EngineOptions: '' }
  if (error?.code === 'create-interrupted') return { ...row, Error: `create was interrupted: ${error.hint}` }
  if (error instanceof MachineCreating) return { ...row, State: 'Starting', Error: `being created (pid ${error.pid})` }
  return { ...row, Error: messageOf(error).replace(/\s*\n\s*/g, ' ') }
}

const QUIET = { info: () => {}, debug: () => {} }

// The engine call gets what the state check left of the row's budget, so a silent engine shows
// its own error ("did not answer…") before the row's overall timeout turns it into a bare Timeout.
const remaining = (started: number, timeoutMs: number): number => Math.max(100, timeoutMs - (performance.now() - started) - 50)

/** Which machine docker talks to: DOCKER_HOST's URL when set (docker-machine's rule), else the machine of the active docker context. */
export interface ActiveTarget {
  dockerHost?: string
  contextMachine?: string
}

/** What every row's probe shares: one driver signal and one deadline for the whole listing. */
interface ProbeContext {
  config: Config | undefined
  timeoutMs: number
  signal: AbortSignal
  active: ActiveTarget
}

async function probe(store: Store, host: HostConfig, p: ProbeContext, swarm: string): Promise<LsRow> {
  const { timeoutMs, active } = p
  const row = baseRow(host.Name, host, swarm)
  const started = performance.now()
  // No timer of its own (machineState's): the listing's deadline, set before any probe started,
  // always fired first and makes the row "Timeout".
  const m = await openLoaded(store, host, { config: p.config, signal: p.signal, log: QUIET })
  row.State = await m.driver.state()
  if (row.State === 'Running') {
    row.URL = engineUrlOf(host)
    row.ActiveHost = active.dockerHost ? row.URL === active.dockerHost : row.Name === active.contextMachine
    row.Active = row.ActiveHost ? '*' : '-'
    if (row.URL.startsWith('tcp://')) {
      try {
        row.DockerVersion = `v${await engineVersion(row.URL, () => readTls(clientTlsFiles(store, host)), remaining(started, timeoutMs))}`
      } catch (e) {
        row.DockerVersion = 'Unknown'
        row.Error = messageOf(e).replace(/\s*\n\s*/g, ' ')
      }
    }
  }
  row.ResponseTime = goDuration(performance.now() - started)
  return row
}

/**
 * Every machine probed at once, each bounded by `timeoutMs`: an unreachable or slow machine
 * shows its error (or Timeout) in its own row and never fails the listing.
 */
export async function listMachines(
  store: Store,
  o: { config?: Config; timeoutMs: number; filters: LsFilters; dockerHost?: string; contextMachine?: string; probe: boolean; entries?: LoadedEntry[] },
): Promise<LsRow[]> {
  const entries = o.entries ?? (await store.loadAll())
  // From the saved configs of every machine (a cluster is named by its master), not only those listed.
  const swarm = swarmColumn(entries.flatMap((e) => (e.host ? [e.host] : [])))
  // One deadline for every row (the probes start together): a row still unanswered then is
  // "Timeout". One timer and one driver signal instead of one each per machine (ls of hundreds).
  let timer: NodeJS.Timeout | undefined
  const deadline = o.probe ? new Promise<void>((resolve) => (timer = setTimeout(resolve, o.timeoutMs))) : undefined
  const drivers = new AbortController()
  // Every driver's waits may listen on the one signal: hundreds of listeners are expected here.
  setMaxListeners(0, drivers.signal)
  const shared: ProbeContext = { config: o.config, timeoutMs: o.timeoutMs, signal: drivers.signal, active: { dockerHost: o.dockerHost, contextMachine: o.contextMachine } }
  try {
    const rows = await Promise.all(
      entries.map(async ({ name, host, error, known }): Promise<LsRow> => {
        if (error || !host) return errorRow(name, error, known)
        const sw = swarm.get(name) ?? ''
        if (!deadline) return baseRow(name, host, sw)
        return Promise.race([
          probe(store, host, shared, sw).catch((e: unknown) => ({ ...baseRow(name, host, sw), State: 'Error', Error: messageOf(e) })),
          deadline.then((): LsRow => ({ ...baseRow(name, host, sw), State: 'Timeout', Active: '', SwarmOptions: '', EngineOptions: '' })),
        ])
      }),
    )
    return sortRows(rows.filter((r) => matchesFilters(r, o.filters)))
  } finally {
    clearTimeout(timer)
  }
}

export interface LsRequest {
  quiet?: boolean
  filter?: string[]
  timeout?: number
  format?: string
  config?: Config
  dockerHost?: string
  /** The environment docker reads its context from (DOCKER_CONTEXT, DOCKER_CONFIG): the ACTIVE column without DOCKER_HOST. */
  env?: NodeJS.ProcessEnv
  /** Already loaded store entries (the fast path has them). */
  entries?: LoadedEntry[]
}

/** `machine ls`: the text to print, and the rows for --json. */
export async function lsOutput(store: Store, r: LsRequest): Promise<{ text: string; json: unknown }> {
  const filters = parseFilters(r.filter ?? [])
  const format = r.format ?? DEFAULT_LS_FORMAT
  compileFormat(format) // a bad template fails before any machine is probed
  // -q without a state filter needs no probing at all.
  const probe = !r.quiet || filters.state.length > 0
  // Only without DOCKER_HOST, which overrides every context (docker's rule): ~5 ms of imports, two small reads.
  const contextMachine = probe && !r.dockerHost && r.env ? (await import('./docker-context.js')).activeContextMachine(store, r.env) : undefined
  const rows = await listMachines(store, { config: r.config, timeoutMs: (r.timeout ?? 10) * 1000, filters, dockerHost: r.dockerHost, contextMachine, probe, entries: r.entries })
  const json = rows.map(({ labels: _l, loadError: _e, ...row }) => row)
  if (r.quiet) {
    const names = rows.filter((x) => !x.loadError).map((x) => x.Name).sort()
    return { text: names.map((n) => `${n}\n`).join(''), json }
  }
  return { text: renderLs(rows, format), json }
}
