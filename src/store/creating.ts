import { existsSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from './atomic.js'
import { machineLockPath } from './paths.js'
import { processAlive } from './process-alive.js'

/**
 * A create in progress is marked by `.creating` in its machine directory (holding the creating
 * pid), written right after the name is reserved and removed as the create's very last step,
 * after the final save of config.json. A create killed at any point in between (SIGKILL, power
 * loss) leaves the marker, so the entry shows as interrupted instead of as a finished machine.
 * config.json stays in docker-machine's shape; docker-machine ignores the extra file.
 */
export const CREATING_MARKER = '.creating'

export async function markCreating(dir: string): Promise<void> {
  // Atomic and fsynced: on disk before any config.json that could look finished.
  await writeFileAtomic(join(dir, CREATING_MARKER), `${process.pid}\n`, 0o600)
}

export async function markCreated(dir: string): Promise<void> {
  await rm(join(dir, CREATING_MARKER), { force: true })
}

export type CreationState = { state: 'complete' } | { state: 'creating'; pid: number } | { state: 'interrupted' }

const pidIn = (path: string): number => {
  try {
    const pid = Number(readFileSync(path, 'utf8').split('\n')[0]!.trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : 0
  } catch {
    return 0
  }
}

/**
 * Whether the machine in `dir` was fully created. Unfinished (a marker, or no config.json at
 * all) is "creating" while a live process holds the machine's lock (store/lock.ts; the create
 * holds it from before the reserve to after the marker is gone), else "interrupted". With a
 * marker, the lock holder must be the pid in the marker: a reused pid or another command's lock
 * does not make a dead create look alive. Synchronous: `ls` asks this of every machine.
 */
export function creationState(store: string, name: string, dir: string, hasConfig: boolean): CreationState {
  const marker = join(dir, CREATING_MARKER)
  const marked = existsSync(marker)
  if (!marked && hasConfig) return { state: 'complete' }
  const holder = pidIn(machineLockPath(store, name))
  if (holder && processAlive(holder) && (!marked || pidIn(marker) === holder)) return { state: 'creating', pid: holder }
  return { state: 'interrupted' }
}
