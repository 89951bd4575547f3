import { chmod, mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname, join, basename } from 'node:path'

/**
 * Write a file so readers see either the old or the new content, never half of it: write a
 * temp file beside it, fsync, rename over. Mode is applied to the temp file before any data
 * lands, so a key is never readable by others even for a moment.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}.tmp`)
  const fh = await open(tmp, 'wx', mode)
  try {
    await fh.chmod(mode)
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, path)
    await chmod(path, mode)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}
