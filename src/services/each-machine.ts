import type { Config } from '@oclif/core'
import { MachineError, messageOf } from '../core/errors.js'
import type { HostConfig } from '../core/host-config.js'
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

/**
 * Run an action on several machines concurrently (docker-machine's multi-host commands: ip,
 * start/stop/restart/kill, provision, regenerate-certs, upgrade): no name means "default"; every
 * machine is loaded first (a load error aborts before anything runs), then all errors are
 * reported together, one line each ("NAME: problem"), with the first one's code.
 */
export async function forEachMachine<T>(
  store: Store,
  names: string[],
  o: RunOptions,
  fn: (m: OpenMachine) => Promise<T>,
): Promise<Array<{ name: string; result: T }>> {
  const list = names.length ? names : ['default']
  if (!names.length && !(await store.exists('default'))) {
    throw new MachineError('no-machine-name', 'No machine name given and no "default" machine exists', { hint: 'pass one or more machine names' })
  }
  const log = { info: (l: string) => o.reporter.info(l), debug: (l: string) => o.reporter.debug(l) }
  const machines = await Promise.all(list.map((n) => openMachine(store, n, { config: o.config, log, signal: o.signal })))
  const settled = await Promise.allSettled(machines.map((m) => fn(m)))
  const errors = settled.flatMap((s, i) => (s.status === 'rejected' ? [`${list[i]}: ${messageOf(s.reason)}`] : []))
  if (errors.length) {
    const first = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason
    const code = first instanceof MachineError ? first.code : first instanceof NotSupportedError ? 'not-supported' : 'error'
    throw new MachineError(code, errors.join('; '))
  }
  return settled.map((s, i) => ({ name: list[i]!, result: (s as PromiseFulfilledResult<T>).value }))
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
