import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/** --storage-path, else $MACHINE_STORAGE_PATH, else ~/.docker/machine (docker-machine's default). */
export function resolveStorePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const p = flag || env.MACHINE_STORAGE_PATH || join(homedir(), '.docker', 'machine')
  return resolve(p)
}

export const machinesDir = (store: string): string => join(store, 'machines')
export const machineDir = (store: string, name: string): string => join(store, 'machines', name)
export const certsDir = (store: string): string => join(store, 'certs')
export const cacheDir = (store: string): string => join(store, 'cache')
export const locksDir = (store: string): string => join(store, '.locks')
/** Evidence of failed creates (console logs, transcripts), kept after their machine was rolled back. */
export const failedDir = (store: string): string => join(store, 'failed')
