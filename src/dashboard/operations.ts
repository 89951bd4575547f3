import type { Config } from '@oclif/core'
import { renderEnv } from '../core/env-render.js'
import { capabilitiesOf, supports } from '../driver-kit/contract.js'
import { getDriverDefinition } from '../registry/index.js'
import { programName } from '../core/program-name.js'
import { createMachine } from '../services/create.js'
import { forEachMachine } from '../services/each-machine.js'
import { checkEnvTarget } from '../services/env.js'
import { runAction, type Action } from '../services/lifecycle.js'
import { reprovision } from '../services/provision.js'
import { removeMachine } from '../services/remove.js'
import type { Reporter } from '../services/reporter.js'
import type { Store } from '../store/store.js'

// What the page's buttons do, each through the service the CLI command calls (the same locks,
// journals, refusals and lines): start/stop/restart as lifecycle-command.ts, rm as rm.ts,
// regenerate-certs as regenerate-certs.ts, create as create.ts. Nothing here re-implements them.

export type MachineOperation = Action | 'regenerate-certs' | 'remove'

export const MACHINE_OPERATIONS: readonly MachineOperation[] = ['start', 'stop', 'restart', 'kill', 'regenerate-certs', 'remove']

export interface OperationContext {
  store: Store
  config?: Config
  /** The dashboard's run: aborted when it is stopped (Ctrl-C), which ends (and rolls back) what runs. */
  signal: AbortSignal
  env: NodeJS.ProcessEnv
}

/**
 * What the page offers for a machine: the lifecycle operations its driver declares, regenerate-certs
 * where there is SSH (the CLI refuses the others the same way); remove always, as `rm -f` can
 * remove even an entry that does not load.
 */
export async function offeredOperations(store: Store, name: string, config?: Config): Promise<MachineOperation[]> {
  const host = await store.load(name).catch(() => undefined)
  const def = host && (await getDriverDefinition(host.DriverName, config).catch(() => undefined))
  if (!def) return ['remove']
  return MACHINE_OPERATIONS.filter((op) => (op === 'remove' ? true : op === 'regenerate-certs' ? capabilitiesOf(def).ssh : supports(def, op)))
}

export async function runMachineOperation(c: OperationContext, name: string, op: MachineOperation, reporter: Reporter): Promise<unknown> {
  const o = { config: c.config, reporter, signal: c.signal }
  if (op === 'remove') {
    await removeMachine(c.store, name, { reporter, config: c.config, env: c.env })
    reporter.info(`Successfully removed ${name}`)
    return { removed: name }
  }
  if (op === 'regenerate-certs') {
    const ro = { ...o, regenerateCerts: { clientCerts: false } }
    await forEachMachine(c.store, [name], ro, (m, mo) => reprovision(c.store, m, { ...ro, ...mo }))
    return { regenerated: name }
  }
  const [done] = await forEachMachine(c.store, [name], o, (m, mo) => runAction(c.store, m, op, mo))
  return done?.result
}

/** create, from a request checked by checkCreateRequest: engine settings are create's defaults. */
export async function runCreate(c: OperationContext, r: { name: string; driver: string; flags: Record<string, unknown> }, reporter: Reporter): Promise<unknown> {
  const result = await createMachine(c.store, {
    name: r.name,
    driver: r.driver,
    flags: r.flags,
    engine: {},
    tlsSans: [],
    auth: {},
    keepOnFailure: false,
    config: c.config,
    reporter,
    signal: c.signal,
    env: c.env,
  })
  reporter.info(`To point your Docker client at it, run: eval "$(${programName()} env ${r.name})"`)
  return result
}

/** What `machine env NAME` prints for a POSIX shell, and the one line that applies it. */
export async function envLines(store: Store, name: string): Promise<{ eval: string; script: string }> {
  const t = await checkEnvTarget(store, name)
  const command = [programName(), 'env', name]
  return { eval: `eval "$(${command.join(' ')})"`, script: renderEnv({ shell: 'bash', vars: t.vars, command }) }
}
