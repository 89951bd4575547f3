import type { Config } from '@oclif/core'
import { MachineError, messageOf } from '../core/errors.js'
import type { HostConfig } from '../core/host-config.js'
import { PARALLEL_DEFAULT, settleAll } from '../core/parallel.js'
import { programName } from '../core/program-name.js'
import { NotSupportedError } from '../driver-kit/contract.js'
import type { Store } from '../store/store.js'
import { openMachine, type OpenMachine } from './machine.js'
import type { Reporter } from './reporter.js'

/** What a command hands the services it runs on machines. */
export interface RunOptions {
  config?: Config
  reporter: Reporter
  /** The operation's signal (Ctrl-C); without one, nothing aborts it. */
  signal?: AbortSignal
}

export interface EachOptions {
  /** At most this many machines at once (--parallel; default PARALLEL_DEFAULT). */
  parallel?: number
  /** Told as each machine succeeds, while the others still run (its "was started" line). */
  onDone?: (name: string, result: unknown) => void
}

/**
 * Run an action on several machines concurrently (docker-machine's multi-host commands: ip,
 * start/stop/restart/kill, provision, regenerate-certs, upgrade): no name means "default"; every
 * machine is loaded first (a load error aborts before anything runs), then at most `parallel`
 * run at once, each with its own reporter when there are several (lines "NAME: …", a spinner
 * each). A failure does not stop the others; all errors are reported together at the end, one
 * part each ("NAME: problem"), with the first one's code.
 */
export async function forEachMachine<T>(
  store: Store,
  names: string[],
  o: RunOptions,
  fn: (m: OpenMachine, o: RunOptions) => Promise<T>,
  each: EachOptions = {},
): Promise<Array<{ name: string; result: T }>> {
  const list = names.length ? names : ['default']
  if (!names.length && !(await store.exists('default'))) {
    throw new MachineError('no-machine-name', 'No machine name given and no "default" machine exists', { hint: 'pass one or more machine names' })
  }
  const reporterOf = (name: string): Reporter => (list.length > 1 ? o.reporter.scoped(name) : o.reporter)
  const machines = await Promise.all(
    list.map((n) => {
      const r = reporterOf(n)
      return openMachine(store, n, { config: o.config, log: { info: (l) => r.info(l), debug: (l) => r.debug(l) }, signal: o.signal })
    }),
  )
  const settled = await settleAll(machines, each.parallel ?? PARALLEL_DEFAULT, async (m, i) => {
    const result = await fn(m, { ...o, reporter: reporterOf(list[i]!) })
    each.onDone?.(list[i]!, result)
    return result
  })
  throwIfAnyFailed(list, settled)
  return settled.map((s, i) => ({ name: list[i]!, result: (s as PromiseFulfilledResult<T>).value }))
}

/** Nothing if all succeeded; else one error naming each failed machine ("NAME: problem"), with how many succeeded. */
export function throwIfAnyFailed(names: readonly string[], settled: readonly PromiseSettledResult<unknown>[], hint?: string): void {
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ name: names[i]!, reason: s.reason as unknown }] : []))
  if (!failed.length) return
  const first = failed[0]!.reason
  const code = first instanceof MachineError ? first.code : first instanceof NotSupportedError ? 'not-supported' : 'error'
  const ok = names.length - failed.length
  const summary = names.length > 1 ? ` (${ok} of ${names.length} succeeded)` : ''
  throw new MachineError(code, `${failed.map((f) => `${f.name}: ${messageOf(f.reason)}`).join('; ')}${summary}`, hint ? { hint } : undefined)
}

/**
 * The one machine a single-name command (status, url, version, config, inspect) acts on: `name`,
 * else the machine called "default", as docker-machine does; the hint names the command run.
 */
export async function nameOrDefault(store: Store, name: string | undefined, command: string): Promise<string> {
  if (name) return name
  if (await store.exists('default')) return 'default'
  throw new MachineError('no-machine-name', 'No machine name given and no "default" machine exists', { hint: `pass the machine name, e.g. "${programName()} ${command} NAME"` })
}

/** That machine's saved config (nameOrDefault, then the store's load with its own errors). */
export async function loadNamedMachine(store: Store, name: string | undefined, command: string): Promise<HostConfig> {
  return store.load(await nameOrDefault(store, name, command))
}
