import { chmod, mkdir, open, readdir, rename, rm } from 'node:fs/promises'
import { dirname, join, basename } from 'node:path'
import { processAlive } from './process-alive.js'

/**
 * Temp files of atomic writes: `.<name>.<pid>.<hex>.tmp` (this file's and certs' writeNew), and
 * the lock files' `<name>.<pid>.<hex>.tmp`. The pid says whether its writer may still need it.
 */
const TEMP_FILE = /^.+\.(\d+)\.[0-9a-f]{8,}\.tmp$/

/**
 * Remove the temp files in `dir` left by writes whose process died (SIGKILL, power loss)
 * between creating the temp file and renaming it into place. A live writer's are kept.
 * Best effort: a directory that cannot be read is left as it is.
 */
export async function removeDeadTemps(dir: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return
  }
  await Promise.all(
    names.map(async (n) => {
      const m = TEMP_FILE.exec(n)
      if (m && !processAlive(Number(m[1]))) await rm(join(dir, n), { force: true }).catch(() => undefined)
    }),
  )
}

/**
 * Write a file so readers see either the old or the new content, never half of it: write a
 * temp file beside it, fsync, rename over. Mode is applied to the temp file before any data
 * lands, so a key is never readable by others even for a moment. Temp files that interrupted
 * writes left in the directory are removed first.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await removeDeadTemps(dirname(path))
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}.tmp`)
  const fh = await open(tmp, 'wx', mode)
  try {
    try {
      await fh.chmod(mode)
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
    await chmod(path, mode)
  } catch (e) {
    // A full disk or a vanished directory: no temp file is left behind.
    await rm(tmp, { force: true })
    throw e
  }
}
