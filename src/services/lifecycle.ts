import type { Config } from '@oclif/core'
import { readFileSync, existsSync } from 'node:fs'
import type { Output } from '../cli/output.js'
import { Progress } from '../cli/progress.js'
import { certCoversHost } from '../certs/certs.js'
import { MachineError, messageOf } from '../core/errors.js'
import type { MachineState } from '../core/state.js'
import { capabilitiesOf, NotSupportedError, supports } from '../driver-kit/contract.js'
import { lockMachine } from '../store/lock.js'
import type { Store } from '../store/store.js'
import { parseEngineUrl } from '../core/engine-url.js'
import { machineTlsFiles, openMachine, type OpenMachine } from './machine.js'

import { whileBooting } from './boot-watch.js'
import { engineUrlFromDriver, provisionMachine, waitForEngine } from './provision.js'

export interface RunOptions {
  config?: Config
  out: Output
  signal?: AbortSignal
}

/**
 * Run an action on several machines concurrently (docker-machine's multi-host commands): every
 * machine is loaded first (a load error aborts before anything runs), then all errors are
 * reported together, one line each.
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
  const log = { info: (l: string) => o.out.info(l), debug: (l: string) => o.out.debug(l) }
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

/** Poll the driver until it reports `want` (1 s apart, bounded). */
export async function waitForState(m: OpenMachine, want: MachineState, timeoutMs = 300_000, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: MachineState = ''
  while (Date.now() < deadline && !signal?.aborted) {
    last = await m.driver.state().catch(() => 'Error' as const)
    if (last === want) return
    await new Promise((r) => setTimeout(r, Number(process.env.MACHINE_POLL_INTERVAL_MS ?? 1000)))
  }
  throw new MachineError('state-timeout', `Machine "${m.host.Name}" did not reach state ${want} (last: ${last || 'unknown'})`)
}

export type Action = 'start' | 'stop' | 'restart' | 'kill'
const verbs: Record<Action, string> = { start: 'Starting', stop: 'Stopping', restart: 'Restarting', kill: 'Killing' }

/**
 * start/stop/restart/kill one machine: refuse when already there, call the driver, wait for the
 * state, and after start/restart make sure the engine answers — regenerating the server
 * certificate first when the address changed (a cloud VM's new public IP, a new local port).
 */
export async function runAction(store: Store, m: OpenMachine, action: Action, o: RunOptions): Promise<{ addressChanged: boolean }> {
  const name = m.host.Name
  // Declared up front by the driver: refused before the lock and before asking the host anything.
  if (!supports(m.def, action)) throw new NotSupportedError(m.host.DriverName, action)
  const lock = await lockMachine(store.path, name, 30_000)
  try {
    const before = await m.driver.state()
    if (action === 'start' && before === 'Running') throw new MachineError('already-running', `Machine "${name}" is already running`)
    if ((action === 'stop' || action === 'kill') && before === 'Stopped') throw new MachineError('already-stopped', `Machine "${name}" is already stopped`)
    o.out.info(`${verbs[action]} "${name}"...`)
    await m.driver[action]()
    const want: MachineState = action === 'stop' || action === 'kill' ? 'Stopped' : 'Running'
    await waitForState(m, want, 300_000, o.signal)
    const addressChanged = want === 'Running' && capabilitiesOf(m.def).ssh ? await afterBoot(store, m, o) : false
    await store.save(m.host)
    return { addressChanged }
  } finally {
    await lock.release()
  }
}

/** After a boot: the engine answers with a certificate for the current address; true if its URL changed. */
async function afterBoot(store: Store, m: OpenMachine, o: RunOptions): Promise<boolean> {
  const name = m.host.Name
  const url = await engineUrlFromDriver(m)
  const old = String(m.host.Driver.EngineURL ?? '')
  const server = machineTlsFiles(store, name).server
  const host = parseEngineUrl(url).host
  const covered = existsSync(server) && certCoversHost(readFileSync(server, 'utf8'), host)
  const progress = new Progress(o.out, o.signal ?? new AbortController().signal)
  if (!covered) {
    o.out.info(`The address of "${name}" changed (${old || 'none'} → ${url}): regenerating its certificates`)
    await provisionMachine(store, m, { progress, log: (l) => o.out.debug(l) })
    return true
  }
  // Same host, another port (a local VM's forwarded port was taken): the certificates still
  // fit, but an environment made before points at the old URL.
  const changed = old !== '' && old !== url
  m.host.Driver.EngineURL = url
  await progress.step('Waiting for the Docker engine', 300_000, (signal, report) => whileBooting(m, signal, report, (s) => waitForEngine(store, name, url, s)))
  return changed
}
