import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs'
import { MachineError } from '../core/errors.js'

/** A store document larger than this is not one of ours (config.json is a few KiB). */
export const MAX_DOCUMENT_BYTES = 1024 * 1024

// O_NOFOLLOW: a symlink is refused, not followed out of the store. O_NONBLOCK: opening a FIFO
// returns at once instead of waiting forever for a writer (it is then refused by its type).
// Both are 0 where the platform lacks them (Windows).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0)

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device'
  if (st.isSymbolicLink()) return 'a symlink'
  return 'not a regular file'
}

/** What the user sees for a store file that cannot be read: the path, the reason, the fix. */
export interface ReadProblem {
  code: string
  message: string
  hint: string
}

/**
 * Read a small store file (config.json, journal.json) that must be a regular file: never
 * blocks on a FIFO, never follows a symlink, never reads more than `maxBytes`. ENOENT is
 * rethrown as is (callers say what a missing file means); everything else is a MachineError
 * naming the path and the fix, of which `orElse` ("remove the machine with …") is the last resort.
 */
export function readStoreFileSync(path: string, what: string, orElse: string, maxBytes = MAX_DOCUMENT_BYTES): string {
  const fail = (p: ReadProblem) => new MachineError(p.code, p.message, { hint: p.hint })
  let fd: number
  try {
    fd = openSync(path, OPEN_FLAGS)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e
    throw fail(openProblem(e as NodeJS.ErrnoException, path, what, orElse))
  }
  try {
    const st = fstatSync(fd)
    const replace = `put the real file in its place (this one was left untouched), or ${orElse}`
    if (!st.isFile()) throw fail({ code: 'corrupt-config', message: `${what} ${path} is ${kindOf(st)}, not a file`, hint: replace })
    if (st.size > maxBytes) {
      throw fail({ code: 'corrupt-config', message: `${what} ${path} is too large (${st.size} bytes; at most ${maxBytes} are read)`, hint: replace })
    }
    // One read of the size fstat gave (readFileSync(fd) would fstat again and read past EOF):
    // `ls` does this for every machine.
    const buf = Buffer.allocUnsafe(st.size)
    let got = 0
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got)
      if (n === 0) break
      got += n
    }
    return buf.toString('utf8', 0, got)
  } catch (e) {
    if (e instanceof MachineError) throw e
    throw fail(openProblem(e as NodeJS.ErrnoException, path, what, orElse))
  } finally {
    closeSync(fd)
  }
}

/** The errno of an open/read of a store file, as a one-line problem with a stable code and its fix. */
export function openProblem(e: NodeJS.ErrnoException, path: string, what: string, orElse: string): ReadProblem {
  const replace = `put the real file in its place (this one was left untouched), or ${orElse}`
  switch (e.code) {
    case 'ELOOP':
    case 'EMLINK': // FreeBSD's O_NOFOLLOW
      return { code: 'corrupt-config', message: `${what} ${path} is a symlink, not a file`, hint: `links are not followed out of the store: ${replace}` }
    case 'EACCES':
    case 'EPERM':
      return { code: 'config-unreadable', message: `Cannot read ${lower(what)} ${path}: permission denied`, hint: `make it readable by you (chmod u+r ${path}), or ${orElse}` }
    case 'EISDIR':
      return { code: 'corrupt-config', message: `${what} ${path} is a directory, not a file`, hint: replace }
    case 'ENOTDIR':
      return { code: 'corrupt-config', message: `${what} ${path} is not in a directory (a part of its path is a file)`, hint: orElse }
    default:
      return { code: 'config-unreadable', message: `Cannot read ${lower(what)} ${path}: ${e.code ?? e.message}`, hint: `check the file system, or ${orElse}` }
  }
}

const lower = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1)
