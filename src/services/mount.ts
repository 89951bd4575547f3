/**
 * The local side of `machine mount`: is a directory a mount point, get a mount point ready,
 * find sshfs / the unmount program, run them. No SSH and no oclif here.
 */
import { spawn } from 'node:child_process'
import { constants, existsSync } from 'node:fs'
import { access, mkdir, readFile, realpath, rmdir, stat } from 'node:fs/promises'
import { basename, delimiter, dirname, join } from 'node:path'
import { MachineError } from '../core/errors.js'

/** The first executable `name` on PATH (as exec would find it), or undefined. */
export async function findProgram(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const p = join(dir, name)
    try {
      await access(p, constants.X_OK)
      if ((await stat(p)).isFile()) return p
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * The path as the kernel lists it: symlinks of the parent resolved (/tmp → /private/tmp on
 * macOS), the last part kept as is, since a dead FUSE mount cannot even be stat'ed.
 */
async function canonical(path: string): Promise<string> {
  try {
    return join(await realpath(dirname(path)), basename(path))
  } catch {
    return path
  }
}

/** /proc/self/mounts escapes space, tab, newline and backslash as \ooo. */
const unescapeMountField = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))

/**
 * Whether something is mounted on `path`. Linux: the kernel's mount table (a FUSE mount whose
 * sshfs died is still listed and still needs unmounting). Elsewhere: the device differs from
 * the parent's, or stat fails the way a dead FUSE mount does.
 */
export async function isMountPoint(path: string): Promise<boolean> {
  const p = await canonical(path)
  if (process.platform === 'linux' && existsSync('/proc/self/mounts')) {
    const table = await readFile('/proc/self/mounts', 'utf8')
    return table.split('\n').some((line) => {
      const field = line.split(' ')[1]
      return field !== undefined && unescapeMountField(field) === p
    })
  }
  try {
    const [self, parent] = await Promise.all([stat(p), stat(dirname(p))])
    return self.dev !== parent.dev || self.ino === parent.ino
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return code === 'ENOTCONN' || code === 'EIO' || code === 'ENXIO'
  }
}

/**
 * Check `mountpoint` without touching anything: not already a mount, a directory, or missing
 * with an existing parent (it will be created: docker-machine required it to exist).
 */
export async function checkMountpoint(mountpoint: string): Promise<{ exists: boolean }> {
  if (await isMountPoint(mountpoint)) {
    throw new MachineError('already-mounted', `${mountpoint} is already a mount point`, { hint: `unmount it first ("machine mount -u ${mountpoint}") or choose another directory` })
  }
  const st = await stat(mountpoint).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined
    throw new MachineError('invalid-mountpoint', `Cannot use mount point ${mountpoint}: ${e.message}`)
  })
  if (st) {
    if (!st.isDirectory()) throw new MachineError('invalid-mountpoint', `Mount point ${mountpoint} is not a directory`, { hint: 'give a directory (it is created if only the last part is missing)' })
    return { exists: true }
  }
  const parent = dirname(mountpoint)
  if (!(await stat(parent).catch(() => undefined))?.isDirectory()) {
    throw new MachineError('invalid-mountpoint', `Cannot create mount point ${mountpoint}: ${parent} does not exist`, { hint: `create it first (mkdir -p ${parent})` })
  }
  return { exists: false }
}

/** checkMountpoint, then create it if missing. Returns whether it was created, so a failed mount can take it away again. */
export async function prepareMountpoint(mountpoint: string): Promise<{ created: boolean }> {
  if ((await checkMountpoint(mountpoint)).exists) return { created: false }
  await mkdir(mountpoint)
  return { created: true }
}

/** Remove a mount point we created for a mount that did not happen (only if still empty). */
export async function removeCreatedMountpoint(mountpoint: string): Promise<void> {
  await rmdir(mountpoint).catch(() => {})
}

/** The program that unmounts a FUSE mount as this user: fusermount3/fusermount on Linux, umount elsewhere. */
export async function unmountProgram(env: NodeJS.ProcessEnv = process.env): Promise<{ program: string; args: (mountpoint: string) => string[] }> {
  if (process.platform === 'linux') {
    for (const name of ['fusermount3', 'fusermount']) {
      const p = await findProgram(name, env)
      if (p) return { program: p, args: (mp) => ['-u', '--', mp] }
    }
    throw new MachineError('fusermount-missing', 'Neither fusermount3 nor fusermount is installed', { hint: 'install fuse3 (apt-get install fuse3)' })
  }
  const p = await findProgram('umount', { PATH: `${env.PATH ?? ''}${delimiter}/sbin${delimiter}/usr/sbin` })
  if (!p) throw new MachineError('umount-missing', 'umount was not found', { hint: 'put /sbin on PATH' })
  return { program: p, args: (mp) => [mp] }
}

export interface RunResult {
  code: number
  stderr: string
}

/**
 * Run a program until it exits, its stderr captured. Waits for the exit, not for the pipes to
 * close: sshfs leaves a daemon (and its ssh) behind that could hold inherited pipes open.
 */
export function runProgram(program: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'], env })
    let stderr = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (d: string) => (stderr += d))
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      // Whatever was already written is in the pipe: read it, then let go of the pipe.
      setImmediate(() => {
        child.stderr.destroy()
        resolve({ code: code ?? (signal ? 128 : 1), stderr })
      })
    })
  })
}
