/**
 * File-system and crypto failures as users should see them. Node's own text ("EROFS: read-only
 * file system, mkdir '/x/.locks'", OpenSSL's "error:1E08010C:DECODER routines::unsupported")
 * names neither what we were doing nor the fix; this turns such an error into one MachineError
 * line naming the path, what is wrong with it and what to do, with a stable code. It is applied
 * in one place, where every command's error is reported (cli/render-error.ts), so a command
 * need not wrap each file operation itself.
 */
import { accessSync, constants, lstatSync } from 'node:fs'
import { dirname, isAbsolute, relative } from 'node:path'
import { MachineError } from './errors.js'

interface ErrnoLike {
  code?: unknown
  syscall?: unknown
  path?: unknown
  dest?: unknown
  library?: unknown
  reason?: unknown
  message?: unknown
}

/** What we were doing, from the failing system call. */
const VERBS: Record<string, string> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create the directory',
  mkdtemp: 'create a temporary directory at',
  scandir: 'list the directory',
  opendir: 'list the directory',
  rename: 'move',
  copyfile: 'copy',
  cp: 'copy',
  unlink: 'remove',
  rmdir: 'remove the directory',
  rm: 'remove',
  chmod: 'change the mode of',
  fchmod: 'change the mode of',
  chown: 'change the owner of',
  lstat: 'look at',
  stat: 'look at',
  access: 'access',
  symlink: 'create the link',
  link: 'create the link',
  utime: 'touch',
  fsync: 'write',
  ftruncate: 'write',
}

export interface FsErrorContext {
  /** The store directory: a failing path inside it gets a hint about --storage-path. */
  storePath?: string
}

const inside = (path: string, dir: string | undefined): boolean => {
  if (!dir) return false
  const r = relative(dir, path)
  return r === '' || (!r.startsWith('..') && !isAbsolute(r))
}

/** The nearest ancestor of `path` that exists (itself, if it does), and whether it is a directory. */
function nearestExisting(path: string): { path: string; isDir: boolean } | undefined {
  for (let p = path; ; p = dirname(p)) {
    try {
      return { path: p, isDir: lstatSync(p).isDirectory() }
    } catch {
      if (dirname(p) === p) return undefined
    }
  }
}

const short = (p: string): string => (p.length > 120 ? `${p.slice(0, 60)}…${p.slice(-40)}` : p)

/**
 * Node's recursive mkdir reports ENOENT whatever stopped it (a read-only file system, no write
 * permission, a file in the way): ask the nearest existing ancestor what the real cause is.
 */
function realMkdirCode(path: string): string {
  const near = nearestExisting(dirname(path))
  if (!near) return 'ENOENT'
  if (!near.isDir) return 'ENOTDIR'
  try {
    accessSync(near.path, constants.W_OK)
    return 'ENOENT'
  } catch (e) {
    return String((e as NodeJS.ErrnoException).code ?? 'ENOENT')
  }
}

/** A file-system error (errno code with a path) as one line with the path and the fix; else undefined. */
export function fsError(err: unknown, ctx: FsErrorContext = {}): MachineError | undefined {
  const e = err as ErrnoLike
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || typeof e.path !== 'string') return undefined
  const code = e.code === 'ENOENT' && e.syscall === 'mkdir' ? realMkdirCode(e.path) : e.code
  const path = e.path
  const dest = typeof e.dest === 'string' ? e.dest : undefined
  const verb = VERBS[String(e.syscall)] ?? String(e.syscall ?? 'use')
  const what = `Cannot ${verb} ${short(path)}${dest ? ` to ${short(dest)}` : ''}`
  const target = dest && (code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTDIR') ? dest : path
  const inStore = inside(target, ctx.storePath)
  const orStore = inStore ? `, or choose another store with --storage-path (or MACHINE_STORAGE_PATH)` : ', or use another path'
  const mk = (c: string, reason: string, hint: string) => new MachineError(c, `${what}: ${reason} (${code})`, { hint, cause: err })
  switch (code) {
    case 'EACCES':
    case 'EPERM': {
      const near = nearestExisting(dirname(target))
      const dir = near?.path ?? dirname(target)
      return mk('fs-permission', 'permission denied', `give your user access to ${short(target === dir ? target : dir)} (see "ls -ld ${short(dir)}")${orStore}`)
    }
    case 'EROFS':
      return mk('fs-read-only', 'the file system is read-only', `remount it read-write${inStore ? orStore : ', or use a writable path'}`)
    case 'ENOTDIR': {
      const near = nearestExisting(target)
      const culprit = near && !near.isDir ? near.path : undefined
      return mk(
        'fs-not-a-directory',
        culprit ? `${short(culprit)} is a file, not a directory` : 'a part of the path is a file, not a directory',
        `move ${culprit ? short(culprit) : 'that file'} away${orStore}`,
      )
    }
    case 'EISDIR':
      return mk('fs-is-a-directory', `${short(target)} is a directory, not a file`, `move that directory away${orStore}`)
    case 'EEXIST':
      return mk('fs-exists', `${short(target)} already exists`, `move it away${orStore}`)
    case 'ENAMETOOLONG':
      return mk('fs-name-too-long', 'the path is too long for the file system', inStore ? 'choose a store with a shorter path (--storage-path)' : 'use a shorter path')
    case 'ENOSPC':
    case 'EDQUOT':
      return mk('fs-no-space', code === 'EDQUOT' ? 'the disk quota is exceeded' : 'no space is left on the device', `free some space${inStore ? ', or choose a store on another disk (--storage-path)' : ', or use another disk'}`)
    case 'ENOENT':
      return mk('fs-not-found', `${short(target)} does not exist`, inStore ? `check the store ${short(ctx.storePath!)} (--storage-path)` : 'check the path')
    case 'ELOOP':
      return mk('fs-symlink-loop', 'too many levels of symbolic links', `fix the links in ${short(target)}`)
    case 'EMFILE':
    case 'ENFILE':
      return mk('fs-too-many-files', 'too many files are open', 'raise the limit (ulimit -n) and retry')
    default:
      return undefined
  }
}

/**
 * OpenSSL's errors about certificates and keys ("PEM routines::no start line", a key that is
 * not the certificate's) as one line. They carry no path: `path`, when given (or attached to the
 * error as `path`), is named; otherwise the hint says where such files come from.
 */
export function cryptoError(err: unknown, path?: string): MachineError | undefined {
  const e = err as ErrnoLike
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || !e.code.startsWith('ERR_OSSL_')) return undefined
  const file = path ?? (typeof e.path === 'string' ? e.path : undefined)
  const reason = typeof e.reason === 'string' && e.reason ? e.reason : String(e.message ?? e.code)
  const lib = typeof e.library === 'string' && e.library ? `${e.library}::` : ''
  const subject = file ? short(file) : 'A certificate or key file'
  const hint = file
    ? `give a PEM file (it begins with "-----BEGIN"), or for a machine's own files run "machine regenerate-certs NAME"`
    : 'check the files given with --tls-ca-cert, --tls-ca-key, --tls-client-cert and --tls-client-key, or run "machine regenerate-certs NAME" for a machine\'s own'
  if (/PEM|DECODER|ASN1|NO_START_LINE|BAD_BASE64|UNSUPPORTED/.test(e.code) || /PEM|DECODER/.test(String(e.library))) {
    return new MachineError('bad-pem', `${subject} is not a valid PEM certificate or key (${lib}${reason})`, { hint, cause: err })
  }
  if (/KEY_VALUES_MISMATCH/.test(e.code)) {
    return new MachineError('cert-key-mismatch', `${file ? `${subject}: the` : 'The'} private key does not belong to the certificate (${lib}${reason})`, { hint, cause: err })
  }
  return new MachineError('bad-certificate', `${subject} could not be used (${lib}${reason})`, { hint, cause: err })
}

/** fsError, else cryptoError, else undefined: for the error reporter. */
export const mapSystemError = (err: unknown, ctx: FsErrorContext = {}): MachineError | undefined => fsError(err, ctx) ?? cryptoError(err)

