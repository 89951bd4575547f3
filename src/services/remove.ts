import type { Config } from '@oclif/core'
import { MachineError, messageOf } from '../core/errors.js'
import { inSwarm } from '../core/swarm-cluster.js'
import { FileJournal } from '../store/journal.js'
import { withMachineLock } from '../store/lock.js'
import type { Store } from '../store/store.js'
import { removeMachineContext } from './docker-context.js'
import { openLoaded } from './machine.js'
import type { Reporter } from './reporter.js'

/**
 * Remove a machine: the driver deletes what its journal lists (and the host), then the local
 * directory goes. With `force` the local entry goes even if the config cannot be read or the
 * driver fails: what it went past, and what may be left behind, is a warning.
 */
export async function removeMachine(store: Store, name: string, o: { force?: boolean; reporter: Reporter; config?: Config; env?: NodeJS.ProcessEnv }): Promise<void> {
  await withMachineLock(store.path, name, 30_000, async () => {
    try {
      await removeUnderLock(store, name, o)
    } catch (e) {
      // File-system errors stay raw: the error renderer maps them to a line naming the path and the fix.
      throw e instanceof MachineError || (e as NodeJS.ErrnoException)?.code ? e : new MachineError('remove-failed', messageOf(e))
    }
  })
}

async function removeUnderLock(store: Store, name: string, o: { force?: boolean; reporter: Reporter; config?: Config; env?: NodeJS.ProcessEnv }): Promise<void> {
  try {
    // An interrupted create is loaded too: its driver config and journal say what to delete.
    const host = await store.load(name, { incomplete: true })
    const m = await openLoaded(store, host, { config: o.config, log: { info: (l) => o.reporter.info(l), debug: (l) => o.reporter.debug(l) } })
    if (inSwarm(host.HostOptions.SwarmOptions)) {
      // A swarm node is drained, leaves, and is removed from the managers' list before its host
      // goes, so the swarm neither keeps a Down node nor loses its last manager by surprise
      // (that needs -f, and says why).
      // Its cluster ports are closed as swarm leave closes them (the same driver code and "last
      // user" rule as the teardown's), while the swarm's lock is held.
      const { closeClusterPorts, leaveSwarm } = await import('./swarm.js')
      const c = { reporter: o.reporter, config: o.config }
      await leaveSwarm(store, name, { force: !!o.force, drain: true }, c, () => closeClusterPorts(store, name, m.driver, c))
    }
    const journal = await FileJournal.open(store.dir(name))
    await m.driver.remove(journal)
  } catch (e) {
    if (!o.force) throw e
    const left = await FileJournal.open(store.dir(name)).then((j) => j.entries().map((x) => `${x.kind} ${x.id}`), () => [])
    // The problem only: its fix ("fix the file…", "rm -f") is moot, the entry goes now.
    const problem = e instanceof MachineError ? e.message : messageOf(e)
    o.reporter.warn(`${problem}${left.length ? `; may be left behind: ${left.join(', ')}` : ''}`)
  }
  // Before the entry goes: a context of ours removed (currentContext reset if it named it), another's left alone.
  const contextNote = await removeMachineContext(store, name, o.env ?? process.env)
  if (contextNote) o.reporter.note(contextNote)
  await store.remove(name)
}
