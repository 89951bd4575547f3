import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { invalidMachineName, isValidMachineName } from '../core/names.js'

/** --storage-path, else $MACHINE_STORAGE_PATH, else ~/.docker/machine (docker-machine's default). */
export function resolveStorePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const p = flag || env.MACHINE_STORAGE_PATH || join(homedir(), '.docker', 'machine')
  return resolve(p)
}

export const machinesDir = (store: string): string => join(store, 'machines')
/**
 * The one place a machine name becomes a path. Every command reaches a machine's directory
 * through here (Store.dir), so a name that fails the name rule (`..`, `../certs`, `a/b`, an
 * absolute path, control characters) or that would resolve anywhere but directly under
 * `machines/` is refused before anything reads, writes or deletes.
 */
export function machineDir(store: string, name: string): string {
  if (!isValidMachineName(name)) throw invalidMachineName(name)
  const root = resolve(store, 'machines')
  const dir = resolve(root, name)
  if (dirname(dir) !== root) throw invalidMachineName(name)
  return dir
}
export const certsDir = (store: string): string => join(store, 'certs')
export const cacheDir = (store: string): string => join(store, 'cache')
export const locksDir = (store: string): string => join(store, '.locks')
/** A machine's lock file (store/lock.ts), also read by creating.ts to tell a live create from a dead one. */
export const machineLockPath = (store: string, name: string): string => join(locksDir(store), `${name}.lock`)
/** Evidence of failed creates (console logs, transcripts), kept after their machine was rolled back. */
export const failedDir = (store: string): string => join(store, 'failed')
