import { link, lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { MachineError } from '../core/errors.js'
import { invalidMachineName, isValidMachineName } from '../core/names.js'
import { sleep } from '../driver-kit/wait.js'
import { clusterLockPath, locksDir, machineLockPath, networkDir, networkLockPath } from './paths.js'
import { processAlive } from './process-alive.js'

export interface Lock {
  release(): Promise<void>
}

const randomHex = (): string => process.getBuiltinModule('node:crypto').randomBytes(6).toString('hex')

// A lock file whose content cannot be read yet (a holder on a filesystem without hard links,
// between its create and its write) is taken as held for this long before it counts as stale.
const UNWRITTEN_GRACE_MS = 2_000

/**
 * Create `path` holding `content`, or return false if it exists. The file appears with its
 * content complete (written to a temp file, then hard-linked into place, which fails if the
 * name exists), so no contender ever reads an empty lock and takes it for a dead one.
 */
async function createLockFile(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomHex()}.tmp`
  await writeExclusive(tmp, content)
  try {
    await link(tmp, path)
    return true
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    // Filesystems without hard links: O_EXCL alone (the unwritten-grace rule covers the gap).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      try {
        await writeExclusive(path, content)
        return true
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false
        throw e2
      }
    }
    throw e
  } finally {
    await rm(tmp, { force: true })
  }
}

async function writeExclusive(path: string, content: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600)
  try {
    await fh.writeFile(content)
  } finally {
    await fh.close()
  }
}

/** The holder's pid, 0 when the content is not (yet) a pid, undefined when the file is gone. */
async function holderOf(path: string): Promise<{ pid: number; content: string; ageMs: number } | undefined> {
  try {
    const [content, st] = await Promise.all([readFile(path, 'utf8'), lstat(path)])
    const pid = Number(content.split('\n')[0]!.trim())
    return { pid: Number.isInteger(pid) && pid > 0 ? pid : 0, content, ageMs: Date.now() - st.mtimeMs }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

/**
 * Remove a stale lock whose content was `seen`. It is first renamed aside (only one contender
 * can move a given file), then checked: if what was moved is not the stale lock (another
 * contender broke it and took the lock in between), it is linked back.
 */
async function breakStale(path: string, seen: string): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${randomHex()}.tmp`
  try {
    await rename(path, aside)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
    throw e
  }
  try {
    const moved = await readFile(aside, 'utf8').catch(() => seen)
    if (moved !== seen) await link(aside, path).catch(() => undefined)
  } finally {
    await rm(aside, { force: true })
  }
}

/**
 * Take the lock file `path` (O_EXCL, holding our pid), waiting up to `waitMs`. A lock left by a
 * dead process is taken over. Release removes the file only while it is still ours.
 */
async function acquire(path: string, waitMs: number, pollMs: number, busy: (holder: number) => MachineError): Promise<Lock> {
  const content = `${process.pid}\n${randomHex()}\n`
  const deadline = Date.now() + waitMs
  for (;;) {
    if (await createLockFile(path, content)) {
      let released = false
      return {
        release: async () => {
          if (released) return
          released = true
          const now = await readFile(path, 'utf8').catch(() => '')
          if (now === content) await rm(path, { force: true })
        },
      }
    }
    const h = await holderOf(path)
    if (!h) continue // released just now: try again at once
    if (h.pid ? !processAlive(h.pid) : h.ageMs > UNWRITTEN_GRACE_MS) {
      // Stale: its owner died without releasing.
      await breakStale(path, h.content)
      continue
    }
    if (Date.now() >= deadline) throw busy(h.pid)
    // Jitter, so contenders polling together do not all retry on the same tick.
    await sleep(Math.min(pollMs * (0.5 + Math.random()), Math.max(1, deadline - Date.now())))
  }
}

/**
 * An exclusive per-machine lock (`<store>/.locks/<name>.lock`, holding our pid) so two
 * commands cannot change one machine at once. A lock left by a dead process is taken over.
 * The lock directory starts with "." so `ls` and docker-machine skip it.
 */
export async function lockMachine(store: string, name: string, waitMs = 0): Promise<Lock> {
  // The name becomes a file name under .locks/: the same rule as Store.dir, so `..` cannot
  // point a lock file anywhere else.
  if (!isValidMachineName(name)) throw invalidMachineName(name)
  await mkdir(locksDir(store), { recursive: true, mode: 0o700 })
  const path = machineLockPath(store, name)
  return acquire(path, waitMs, 200, (holder) =>
    new MachineError('machine-locked', `Machine "${name}" is busy: another machine command (pid ${holder}) is changing it`, {
      hint: `wait for it to finish, or remove ${path} if that process is gone`,
    }),
  )
}

/** Run `fn` holding the machine's lock (waiting up to `waitMs` for it); released however `fn` ends. */
export async function withMachineLock<T>(store: string, name: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  return holding(await lockMachine(store, name, waitMs), fn)
}

/** What a store-wide lock guards; each is one lock file. */
export type StoreResource = 'certs'

/**
 * A store-wide lock (`<store>/.locks/_store.<what>.lock`) for what all machines share, such as
 * the CA and client certificate: parallel creates on a fresh store must make one CA, not one
 * each. Same rules as lockMachine (pid inside, a dead holder's lock taken over). The "_" cannot
 * begin a machine name, so it never collides with a machine's lock.
 */
export async function lockStore(store: string, what: StoreResource, waitMs = 0): Promise<Lock> {
  const dir = locksDir(store)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const path = join(dir, `_store.${what}.lock`)
  // Held for milliseconds (under a second when a CA is made): poll often.
  return acquire(path, waitMs, 25, (holder) =>
    new MachineError('store-locked', `The store's ${what} are busy: another machine command (pid ${holder}) is making them`, {
      hint: `wait for it to finish, or remove ${path} if that process is gone`,
    }),
  )
}

/** Run `fn` holding the lock file `path`, waited for up to `waitMs` (polled every `pollMs`); `busy` says who holds it. */
async function withLockFile<T>(path: string, waitMs: number, busy: (holder: number) => MachineError, fn: () => Promise<T>, pollMs = 25): Promise<T> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  return holding(await acquire(path, waitMs, pollMs, busy), fn)
}

/** `fn`'s result, with `lock` released however `fn` ends. */
async function holding<T>(lock: Lock, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } finally {
    await lock.release()
  }
}

/**
 * Run `fn` holding the lock over all networks (`<store>/.locks/_net..all.lock`: "." starts no
 * network name): a new network's subnet is chosen among the others', which must not change meanwhile.
 */
export function withAllNetworksLock<T>(store: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const path = join(locksDir(store), '_net..all.lock')
  const busy = (holder: number) =>
    new MachineError('network-locked', `The store's networks are busy: another machine command (pid ${holder}) is making one`, {
      hint: `wait for it to finish, or remove ${path} if that process is gone`,
    })
  return withLockFile(path, waitMs, busy, fn)
}

/**
 * Run `fn` holding a network's lock (`<store>/.locks/_net.<name>.lock`): machines of one network
 * created, started or removed at once must not both take the same address or start two switches.
 * Held for milliseconds (a file read and write, a process spawn).
 */
export function withNetworkLock<T>(store: string, name: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  networkDir(store, name) // the name check
  const path = networkLockPath(store, name)
  const busy = (holder: number) =>
    new MachineError('network-locked', `Network "${name}" is busy: another machine command (pid ${holder}) is changing it`, {
      hint: `wait for it to finish, or remove ${path} if that process is gone`,
    })
  return withLockFile(path, waitMs, busy, fn)
}

/**
 * Run `fn` holding a swarm's lock (`<store>/.locks/_swarm.<hash>.lock`): who joins, leaves or is
 * removed is decided one command at a time per cluster. Two managers removed at once would
 * otherwise each see the other as the manager that stays, and both leave. Held for a join or a
 * leave (seconds, up to the engine's step timeouts), so contenders wait long and poll less often.
 */
export function withClusterLock<T>(store: string, discovery: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const path = clusterLockPath(store, discovery)
  const busy = (holder: number) =>
    new MachineError('cluster-locked', `The swarm is busy: another machine command (pid ${holder}) is changing its members`, {
      hint: `wait for it to finish, or remove ${path} if that process is gone`,
    })
  return withLockFile(path, waitMs, busy, fn, 200)
}
