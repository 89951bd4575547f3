import { readFileSync, existsSync } from 'node:fs'
import { certCoversHost } from '../certs/certs.js'
import { MachineError } from '../core/errors.js'
import type { MachineState } from '../core/state.js'
import { capabilitiesOf, NotSupportedError, supports } from '../driver-kit/contract.js'
import { poll, pollIntervalMs } from '../driver-kit/wait.js'
import { withMachineLock } from '../store/lock.js'
import type { Store } from '../store/store.js'
import { parseEngineUrl } from '../core/engine-url.js'
import { programName } from '../core/program-name.js'
import type { RunOptions } from './each-machine.js'
import { machineTlsFiles, type OpenMachine } from './machine.js'

import { whileBooting } from './boot-watch.js'
import { reportMachineContext } from './docker-context.js'
import { engineUrlFromDriver, provisionMachine, waitForEngine } from './provision.js'

/** Poll the driver until it reports `want` (1 s apart, or MACHINE_POLL_INTERVAL_MS), bounded; ends with the signal. */
export async function waitForState(m: OpenMachine, want: MachineState, timeoutMs = 300_000, signal?: AbortSignal): Promise<void> {
  let last: MachineState = ''
  const reached = async () => {
    last = await m.driver.state().catch(() => 'Error' as const)
    return last === want ? true : undefined
  }
  await poll(`state ${want}`, reached, { intervalMs: pollIntervalMs(m.ctx.env, 1000), timeoutMs, signal }).catch((e: unknown) => {
    // The kit's "timed out" says less than which state the machine was left in.
    if (e instanceof MachineError && e.code === 'timeout') throw new MachineError('state-timeout', `Machine "${m.host.Name}" did not reach state ${want} (last: ${last || 'unknown'})`)
    throw e
  })
}

export type Action = 'start' | 'stop' | 'restart' | 'kill'
const verbs: Record<Action, string> = { start: 'Starting', stop: 'Stopping', restart: 'Restarting', kill: 'Killing' }

/**
 * start/stop/restart/kill one machine: refuse when already there, call the driver, wait for the
 * state, and after start/restart make sure the engine answers — regenerating the server
 * certificate first when the address changed (a cloud VM's new public IP, a new local port).
 */
export async function runAction(store: Store, m: OpenMachine, action: Action, o: RunOptions & { save?: boolean }): Promise<{ addressChanged: boolean }> {
  const name = m.host.Name
  // Declared up front by the driver: refused before the lock and before asking the host anything.
  if (!supports(m.def, action)) throw new NotSupportedError(m.host.DriverName, action)
  const save = action === 'stop' && o.save === true
  if (save && !capabilitiesOf(m.def).saveState) {
    throw new MachineError('not-supported', `The ${m.host.DriverName} driver cannot save a machine's state`, { hint: `run "${programName()} stop ${name}" to power it off` })
  }
  return withMachineLock(store.path, name, 30_000, async () => {
    const before = await m.driver.state()
    if (action === 'start' && before === 'Running') throw new MachineError('already-running', `Machine "${name}" is already running`)
    if ((action === 'stop' || action === 'kill') && before === 'Stopped') throw new MachineError('already-stopped', `Machine "${name}" is already stopped`)
    if (save && before === 'Saved') throw new MachineError('already-saved', `Machine "${name}" is already saved`, { hint: `"${programName()} start ${name}" resumes it` })
    o.reporter.info(`${save ? 'Saving' : verbs[action]} "${name}"...`)
    if (action === 'stop') await m.driver.stop(save ? { save } : undefined)
    else await m.driver[action]()
    const want: MachineState = save ? 'Saved' : action === 'stop' || action === 'kill' ? 'Stopped' : 'Running'
    await waitForState(m, want, 300_000, o.signal)
    const addressChanged = want === 'Running' && capabilitiesOf(m.def).ssh ? await afterBoot(store, m, o) : false
    await store.save(m.host)
    // The machine's docker context, if it has one of ours, follows the new address.
    if (addressChanged) await reportMachineContext(store, m.host, { env: m.ctx.env, create: false, reporter: o.reporter })
    return { addressChanged }
  })
}

/** After a boot: the engine answers with a certificate for the current address; true if its URL changed. */
async function afterBoot(store: Store, m: OpenMachine, o: RunOptions): Promise<boolean> {
  const name = m.host.Name
  const url = await engineUrlFromDriver(m)
  const old = String(m.host.Driver.EngineURL ?? '')
  const server = machineTlsFiles(store, name).server
  const host = parseEngineUrl(url).host
  const covered = existsSync(server) && certCoversHost(readFileSync(server, 'utf8'), host)
  if (!covered) {
    o.reporter.info(`The address of "${name}" changed (${old || 'none'} → ${url}): regenerating its certificates`)
    await provisionMachine(store, m, { reporter: o.reporter, signal: o.signal })
    return true
  }
  // Same host, another port (a local VM's forwarded port was taken): the certificates still
  // fit, but an environment made before points at the old URL.
  const changed = old !== '' && old !== url
  m.host.Driver.EngineURL = url
  await o.reporter.step('Waiting for the Docker engine', { timeoutMs: 300_000, signal: o.signal }, (signal, report) =>
    whileBooting(m, signal, report, (s) => waitForEngine(store, name, url, s)),
  )
  return changed
}
