import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { expect } from 'vitest'
import { tempDir } from './tmp.js'

export const ROOT = resolve(import.meta.dirname, '..', '..')
export const BIN = join(ROOT, 'bin', 'run.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  ms: number
}

/** Another user to run the CLI as (root ignores file modes: permission tests run as nobody then). */
export interface RunAs {
  uid: number
  gid: number
}

/**
 * What a start of the built binary loaded (test/helpers/trace-imports.mjs): each module's URL and,
 * for a bundle file, `src:<path>` lines for the sources it holds.
 */
export async function importTrace(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<string> {
  const trace = join(await tempDir('trace-'), 'imports.txt')
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/helpers/trace-imports.mjs'), BIN, ...args], {
    env: { ...process.env, ...env, MACHINE_TRACE_IMPORTS: trace },
    encoding: 'utf8',
    input,
  })
  expect(r.error).toBeUndefined()
  const loaded = await readFile(trace, 'utf8')
  expect(loaded).toContain('src:src/main.ts') // the trace works
  return loaded
}

/** Whether that start loaded oclif: false when the command was answered on a fast path (src/fast). */
export const loadsOclif = async (args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<boolean> => (await importTrace(args, env, input)).includes('@oclif/core')

/** Run the built `machine` binary like a user would (a fresh process, its own store). */
export function runCli(args: string[], o: { store?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; as?: RunAs } = {}): Promise<CliResult> {
  if (!existsSync(join(ROOT, 'dist', 'bundle', 'src', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it) first')
  const started = Date.now()
  return new Promise((res, rej) => {
    // CI runs without $SHELL (as cron does): drop the caller's so a test that needs one says so.
    const { SHELL: _callerShell, ...inherited } = process.env
    const env: NodeJS.ProcessEnv = { ...inherited, ...o.env }
    if (o.store) env.MACHINE_STORAGE_PATH = o.store
    const p = spawn(process.execPath, [BIN, ...args], { env, cwd: ROOT, ...(o.as ? { uid: o.as.uid, gid: o.as.gid } : {}) })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    const t = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 120_000)
    p.on('error', rej)
    p.on('close', (code) => {
      clearTimeout(t)
      res({ code: code ?? -1, stdout, stderr, ms: Date.now() - started })
    })
    // A command that exits without reading its stdin makes this write fail (EPIPE): not an error.
    p.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') rej(e)
    })
    p.stdin.end(o.input ?? '')
  })
}

/** The built binary running in the background (a test interrupts it): its output so far and its exit code. */
export interface RunningCli {
  proc: ChildProcess
  stdout(): string
  stderr(): string
  /** The exit code (-1 for a signal). */
  exit: Promise<number>
  /** Resolve once `ready()` holds (polled), or fail after `ms` naming `what` and the CLI's stderr. */
  until(ready: () => boolean, what: string, ms?: number): Promise<void>
}

/** Start the built `machine` binary with the store and environment given, without waiting for it. */
export function startCli(args: string[], o: { store: string; env?: NodeJS.ProcessEnv }): RunningCli {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...o.env, MACHINE_STORAGE_PATH: o.store }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d) => (stdout += d))
  proc.stderr.on('data', (d) => (stderr += d))
  const exit = new Promise<number>((res) => proc.on('close', (code) => res(code ?? -1)))
  return {
    proc,
    stdout: () => stdout,
    stderr: () => stderr,
    exit,
    async until(ready, what, ms = 60_000) {
      const deadline = Date.now() + ms
      while (!ready()) {
        if (Date.now() > deadline) throw new Error(`the CLI never reached ${what} in ${ms} ms: ${stderr}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
  }
}

/** A new store directory (it holds a CA key once used), removed when done: see tempDir in tmp.ts. */
export const tempStore = (): Promise<string> => tempDir('machine-store-')

/** Every file under `dir` with its mode and content hash: to prove a failed command changed nothing. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const walk = async (d: string): Promise<void> => {
    let entries
    try {
      entries = await readdir(d, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const p = join(d, e.name)
      if (e.isDirectory()) {
        out[`${relative(dir, p)}/`] = 'dir'
        await walk(p)
      } else if (e.isFile()) {
        const st = await stat(p)
        // A file this user may not read (a permission test's, when not root) by its mode only.
        const content = await readFile(p).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'EACCES') return undefined
          throw e
        })
        out[relative(dir, p)] = `${(st.mode & 0o777).toString(8)} ${content ? createHash('sha256').update(content).digest('hex') : 'unreadable'}`
      } else {
        // FIFOs, sockets, symlinks: recorded by kind and target, never read (a FIFO would block).
        const st = await lstat(p)
        out[relative(dir, p)] = `${e.isSymbolicLink() ? `link ${await readlink(p)}` : 'special'} ${(st.mode & 0o777).toString(8)}`
      }
    }
  }
  await walk(dir)
  return out
}

/**
 * The one-line error contract, checked through the built binary: exit ≠ 0, stderr exactly one
 * "Error: …" line, the same failure in --json as an envelope with ok:false and a code (and the
 * same exit code, nothing on stderr), and the store byte-for-byte unchanged. `stdoutEmpty` also
 * requires that nothing at all went to stdout (commands that print no progress).
 */
export async function expectCleanFailure(
  args: string[],
  store: string,
  o: { env?: NodeJS.ProcessEnv; stdoutEmpty?: boolean; as?: RunAs } = {},
): Promise<{ line: string; code: string; exit: number; ms: number }> {
  const env = o.env ?? {}
  const before = await snapshot(store)
  const r = await runCli(args, { store, env, as: o.as })
  expect(r.code, r.stderr).not.toBe(0)
  if (o.stdoutEmpty) expect(r.stdout).toBe('')
  expect(r.stderr).toMatch(/^Error: [^\n]+\n$/)
  const j = await runCli([...args, '--json'], { store, env, as: o.as })
  expect(j.code).toBe(r.code)
  expect(j.stderr).toBe('')
  const e = JSON.parse(j.stdout) as { ok: boolean; error: { code: string; message: string } }
  expect(e.ok).toBe(false)
  expect(e.error.code).toMatch(/^[a-z-]+$/)
  expect(r.stderr).toContain(e.error.message)
  expect(await snapshot(store)).toEqual(before)
  return { line: r.stderr.trimEnd(), code: e.error.code, exit: r.code, ms: r.ms }
}

/** Rebuild dist/ when it is missing or older than any source file (others may build too). */
export function ensureBuilt(): void {
  const newest = (dir: string): number => {
    let t = 0
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) t = Math.max(t, newest(p))
      else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs)
    }
    return t
  }
  const built = join(ROOT, 'dist', 'bundle', 'src', 'main.js')
  const manifest = join(ROOT, 'oclif.manifest.json')
  const sources = Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'drivers')))
  if (existsSync(built) && existsSync(manifest) && statSync(built).mtimeMs >= sources && statSync(manifest).mtimeMs >= sources) return
  const opts = { cwd: ROOT, stdio: 'pipe' as const, env: process.env }
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], opts)
  } catch (e) {
    // Someone else's half-finished file may not type-check; tsc still emits JavaScript.
    if (!existsSync(join(ROOT, 'dist', 'src', 'commands', 'create.js'))) throw e
  }
  execFileSync(process.execPath, ['scripts/bundle.mjs'], opts)
  execFileSync('npx', ['oclif', 'manifest'], opts)
}
