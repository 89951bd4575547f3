import { mkdir, open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { MachineError } from '../core/errors.js'
import { locksDir } from './paths.js'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface Lock {
  release(): Promise<void>
}

/**
 * An exclusive per-machine lock (`<store>/.locks/<name>.lock`, O_EXCL, holding our pid) so two
 * commands cannot change one machine at once. A lock left by a dead process is taken over.
 * The lock directory starts with "." so `ls` and docker-machine skip it.
 */
export async function lockMachine(store: string, name: string, waitMs = 0): Promise<Lock> {
  const dir = locksDir(store)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const path = join(dir, `${name}.lock`)
  const deadline = Date.now() + waitMs
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o600)
      await fh.writeFile(String(process.pid))
      await fh.close()
      let released = false
      return {
        release: async () => {
          if (released) return
          released = true
          await rm(path, { force: true })
        },
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim())
      if (!holder || !alive(holder)) {
        // Stale: its owner died without releasing. Remove and retry.
        await rm(path, { force: true })
        continue
      }
      if (Date.now() >= deadline) {
        throw new MachineError('machine-locked', `Machine "${name}" is busy: another machine command (pid ${holder}) is changing it`, {
          hint: `wait for it to finish, or remove ${path} if that process is gone`,
        })
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}
