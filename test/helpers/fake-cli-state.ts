/**
 * The state plumbing the fake hypervisor CLIs (fake-vboxmanage.ts, fake-powershell.ts,
 * fake-vmrun.ts) share: each call is a separate process, so the fake's world is one JSON file in
 * its home directory, changed by one call at a time under a lock and written atomically, and each
 * call is appended to calls.log (one JSON line) for the tests to read.
 *
 * The fakes run as programs with Node's type stripping, so this is imported with its real
 * extension (`./fake-cli-state.ts`) and imports nothing but Node's own modules.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const statePath = (home: string): string => join(home, 'state.json')

/** The state in `home`, or `empty()` before the first change. */
export function readJsonState<S>(home: string, empty: () => S): S {
  try {
    return JSON.parse(readFileSync(statePath(home), 'utf8')) as S
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty()
    throw e
  }
}

/** Replace the state atomically (a reader never sees half of it). */
export function writeJsonState(home: string, s: unknown): void {
  const tmp = `${statePath(home)}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(s, null, 1)}\n`)
  renameSync(tmp, statePath(home))
}

/** One line of calls.log. */
export const logCall = (home: string, entry: unknown): void => appendFileSync(join(home, 'calls.log'), `${JSON.stringify(entry)}\n`)

export const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Run `fn` holding `home`'s state lock (mkdir is atomic). A holder killed mid-call (the drivers
 * kill their tool on Ctrl-C) leaves its lock: one whose pid is dead is broken; a live holder is
 * waited for 15 s at most. `tool` names the fake in that error.
 */
export function withLock<T>(home: string, tool: string, fn: () => T): T {
  const lock = join(home, 'state.lock')
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      let holder = 0
      try {
        holder = Number(readFileSync(join(lock, 'pid'), 'utf8'))
      } catch {
        // being made or removed right now
      }
      if (holder && !pidAlive(holder)) rmSync(lock, { recursive: true, force: true })
      else if (Date.now() > deadline) throw new Error(`${tool}: ${lock} held by ${holder} for 15 s`)
      else sleepSync(5)
    }
  }
  try {
    return fn()
  } finally {
    rmSync(join(lock, 'pid'), { force: true })
    rmdirSync(lock)
  }
}

/** Run `fn` on the state under the lock, writing it back. */
export function withJsonState<S, T>(home: string, tool: string, empty: () => S, fn: (s: S) => T): T {
  return withLock(home, tool, () => {
    const s = readJsonState(home, empty)
    const out = fn(s)
    writeJsonState(home, s)
    return out
  })
}
