/**
 * What the commands that scripts ask about machines print — `inspect`, `status`, `url`, `ip`,
 * `config`, `active` — once for both paths: the oclif commands (src/commands) and the fast path
 * (src/fast/run.ts), which print `text` or put `json` in the --json envelope. Each takes what its
 * command has parsed; a loaded host where the fast path must see the driver's name first (a
 * plugin's driver is found through oclif's hooks: the fast path leaves those to oclif).
 */
import type { Config } from '@oclif/core'
import { MachineError } from '../core/errors.js'
import { renderGoTemplate } from '../core/go-template.js'
import { serializeHost, type HostConfig } from '../core/host-config.js'
import { parseFilters } from '../core/ls-format.js'
import { programName } from '../core/program-name.js'
import { isSecretField } from '../core/secrets.js'
import { checkTimeoutFlag } from '../core/timeout-flag.js'
import type { LoadedEntry, Store } from '../store/store.js'
import { forEachMachine, loadNamedMachine, nameOrDefault, type RunOptions } from './each-machine.js'
import { checkEnvTarget } from './env.js'
import { listMachines } from './ls.js'
import { machineState, machineTlsFiles, runningEngineUrl } from './machine.js'

/** A command's answer: the text for the terminal, the data for --json. */
export interface QueryOutput {
  text: string
  json: unknown
}

const REDACTED = '<redacted>'

/**
 * A copy of `v` with every credential field (core/secrets.ts, the rule the store drops them by on
 * save) that holds something replaced by "<redacted>", whatever the output form.
 */
function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isSecretField(k) && x !== '' && x !== null && x !== undefined ? REDACTED : redact(x)]))
}

/** `machine inspect`: the saved config.json (credentials redacted), whole or through --format. */
export async function inspectOutput(store: Store, r: { name?: string; format?: string }): Promise<QueryOutput> {
  const host = redact(await loadNamedMachine(store, r.name, 'inspect')) as HostConfig
  return { text: `${r.format ? renderGoTemplate(r.format, host) : serializeHost(host)}\n`, json: host }
}

/** `machine status`: the driver's answer for a loaded machine (`config` finds plugin drivers). */
export async function statusOutput(store: Store, host: HostConfig, config?: Config): Promise<QueryOutput> {
  const state = await machineState(store, host, config)
  return { text: `${state}\n`, json: { name: host.Name, state } }
}

/** `machine url`: the engine URL of a loaded machine that is running. */
export async function urlOutput(store: Store, host: HostConfig, config?: Config): Promise<QueryOutput> {
  const url = await runningEngineUrl(store, host, config)
  return { text: `${url}\n`, json: { name: host.Name, url } }
}

/** `machine ip NAME...`: each machine's address from its driver, in the order named. */
export async function ipOutput(store: Store, names: string[], o: RunOptions): Promise<QueryOutput> {
  const ips = await forEachMachine(store, names, o, async (m) => m.driver.ip())
  return { text: ips.map(({ result }) => `${result}\n`).join(''), json: ips.map(({ name, result }) => ({ name, ip: result })) }
}

/** Go's %q for the paths, as docker-machine prints them. */
const q = (s: string) => JSON.stringify(s)

/** `machine config`: the docker client's TLS flags for a machine, from its saved config. */
export async function configOutput(store: Store, r: { name?: string; swarm?: boolean }): Promise<QueryOutput> {
  const name = await nameOrDefault(store, r.name, 'config')
  const t = await checkEnvTarget(store, name, { swarm: r.swarm })
  const f = machineTlsFiles(store, name)
  return {
    text: `--tlsverify\n--tlscacert=${q(f.ca)}\n--tlscert=${q(f.cert)}\n--tlskey=${q(f.key)}\n-H=${t.url}\n`,
    json: { tlsverify: true, tlscacert: f.ca, tlscert: f.cert, tlskey: f.key, host: t.url },
  }
}

/** Whom `active` looks for: checked before any machine is read. */
export interface ActiveTarget {
  timeout: number
  dockerHost?: string
  contextMachine?: string
}

/**
 * `machine active`'s checks: a bad --timeout is one line with the range (before anything else,
 * never a timer warning), and without DOCKER_HOST nor a docker context of this store's there is
 * nothing to look for.
 */
export async function activeTarget(store: Store, timeoutFlag: string | undefined, env: NodeJS.ProcessEnv): Promise<ActiveTarget> {
  const timeout = checkTimeoutFlag(timeoutFlag)
  const dockerHost = env.DOCKER_HOST || undefined
  // Without DOCKER_HOST, the machine of docker's active context (DOCKER_CONTEXT, else config.json's
  // currentContext). Imported here, as ls does: env's and ls's start need none of it.
  const contextMachine = dockerHost ? undefined : (await import('./docker-context.js')).activeContextMachine(store, env)
  if (!dockerHost && !contextMachine) {
    throw new MachineError('no-active-host', "No active host found: $DOCKER_HOST is not set and docker's context is none of this store's machines", {
      hint: `run eval "$(${programName()} env NAME)" or "${programName()} use NAME" first`,
    })
  }
  return { timeout, dockerHost, contextMachine }
}

/** `machine active`: the running machine docker talks to; `entries` when the caller has read them. */
export async function activeOutput(store: Store, t: ActiveTarget, o: { config?: Config; entries?: LoadedEntry[] } = {}): Promise<QueryOutput> {
  const { dockerHost, contextMachine } = t
  const rows = await listMachines(store, { config: o.config, timeoutMs: t.timeout * 1000, filters: parseFilters([]), dockerHost, contextMachine, probe: true, entries: o.entries })
  const active = rows.find((r) => r.ActiveHost)
  if (!active) {
    if (rows.some((r) => r.State === 'Timeout')) throw new MachineError('timeout', 'Error getting active host: timeout')
    throw new MachineError('no-active-host', 'No active host found', { hint: dockerHost ? `no running machine has the URL ${dockerHost}` : `"${contextMachine}" is not running` })
  }
  return { text: `${active.Name}\n`, json: { name: active.Name, url: active.URL } }
}
