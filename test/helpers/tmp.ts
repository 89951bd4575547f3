/**
 * Temp directories that clean up after themselves, pass or fail: `tempDir()` makes one and
 * registers its removal: made inside a test, it goes when that test finishes (onTestFinished);
 * made anywhere else (beforeAll, a describe body, module top level), or with scope 'file', when
 * the test file finishes (the afterAll in test/helpers/tmp-setup.ts, a vitest setup file).
 * `removeLater()` registers a path made some other way, `onCleanup()` any other clean-up (the
 * sshd and chroot-host helpers stop their servers with it, should a test not get to).
 *
 * Removal never reaches through a mount: FUSE mounts under the directory (a failed sshfs test)
 * are lazily unmounted first, and a directory that still has anything mounted under it is left
 * alone with a warning rather than deleted through the mount.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { onTestFinished } from 'vitest'

// On globalThis, so the setup file and the tests share one list even if this module were
// loaded twice.
const KEY = Symbol.for('machine.test.cleanups')
const pending: Array<() => Promise<void>> = ((globalThis as Record<symbol, unknown>)[KEY] as Array<() => Promise<void>> | undefined) ?? []
;(globalThis as Record<symbol, unknown>)[KEY] = pending

/** Mount points under `dir` (or `dir` itself), deepest first. */
function mountsUnder(dir: string): string[] {
  let table: string
  try {
    table = readFileSync('/proc/self/mounts', 'utf8')
  } catch {
    return [] // not Linux: nothing to look at
  }
  return table
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter(Boolean)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(dir + sep))
    .sort((a, b) => b.length - a.length)
}

function unmountLazily(mp: string): void {
  for (const [cmd, ...args] of [['fusermount3', '-u', '-z'], ['fusermount', '-u', '-z'], ['umount', '-l']] as const) {
    try {
      execFileSync(cmd, [...args, mp], { stdio: 'ignore' })
      return
    } catch {
      // try the next way
    }
  }
}

/** Remove `path` recursively, but never through a mount point. */
export async function removeTree(path: string): Promise<void> {
  if (!existsSync(path)) return
  for (const mp of mountsUnder(path)) unmountLazily(mp)
  const still = mountsUnder(path)
  if (still.length) {
    console.warn(`not removing ${path}: ${still.join(', ')} still mounted`)
    return
  }
  await rm(path, { recursive: true, force: true, maxRetries: 3 })
}

/**
 * When a registered clean-up runs: 'auto' when the test it was registered in finishes (or,
 * registered outside a test, when the file does); 'file' when the test file finishes, wherever
 * it was registered (for what a later test may still use, like a server and its directory).
 */
export type TempScope = 'auto' | 'file'

/** Run `fn` when done (see TempScope): stopping a server, removing a directory. */
export function onCleanup(fn: () => Promise<void> | void, scope: TempScope = 'auto'): void {
  if (scope === 'auto') {
    try {
      onTestFinished(async () => {
        await fn()
      })
      return
    } catch {
      // Not inside a test: the file's afterAll (tmp-setup.ts) runs it.
    }
  }
  pending.push(async () => {
    await fn()
  })
}

/** Register `path` for removal (see TempScope); returns it. */
export function removeLater(path: string, scope: TempScope = 'auto'): string {
  onCleanup(() => removeTree(path), scope)
  return path
}

/** A new directory `<parent>/<prefix>XXXXXX` (parent: the system temp dir), removed when done. */
export async function tempDir(prefix = 'machine-test-', o: { parent?: string; scope?: TempScope } = {}): Promise<string> {
  return removeLater(await mkdtemp(join(o.parent ?? tmpdir(), prefix)), o.scope)
}

/** Run the cleanups registered for the file, newest first; tmp-setup.ts calls it after each test file. */
export async function runFileCleanups(): Promise<void> {
  const errors: unknown[] = []
  while (pending.length) {
    try {
      await pending.pop()!()
    } catch (e) {
      errors.push(e)
    }
  }
  if (errors.length) throw errors[0]
}
