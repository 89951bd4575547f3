/**
 * Running a hypervisor's programs (qemu-img, VBoxManage…): an argv array, never a shell, output
 * as UTF-8, every run bounded in time; and finding a program on PATH or where installers put it.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  /** True when the run was killed at its time limit. */
  timedOut?: boolean
}

/** Run a program to completion (bounded, default 120 s), capturing its output. */
export function run(cmd: string, args: readonly string[], o: { timeoutMs?: number; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true, ...(o.env ? { env: o.env } : {}) })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, o.timeoutMs ?? 120_000)
    const onAbort = () => child.kill('SIGKILL')
    o.signal?.addEventListener('abort', onAbort, { once: true })
    child.on('error', (e) => {
      clearTimeout(timer)
      o.signal?.removeEventListener('abort', onAbort)
      reject(e)
    })
    const done = (code: number | null) => {
      clearTimeout(timer)
      o.signal?.removeEventListener('abort', onAbort)
      resolve({ code, stdout, stderr, ...(timedOut ? { timedOut } : {}) })
    }
    child.on('close', done)
    // A killed program's own children (a wrapper script's) may hold its output open: 'close'
    // would wait for them. Killed, it is done when it exits.
    child.on('exit', (code) => {
      if (!timedOut && !o.signal?.aborted) return
      child.stdout.destroy()
      child.stderr.destroy()
      done(code)
    })
  })
}

const exe = (name: string, platform: NodeJS.Platform) => (platform === 'win32' ? `${name}.exe` : name)

/** `name` on PATH, else in one of `extraDirs` (where installers put it); undefined when nowhere. */
export function which(name: string, env: NodeJS.ProcessEnv = process.env, extraDirs: readonly string[] = [], platform: NodeJS.Platform = process.platform): string | undefined {
  const dirs = [...(env.PATH ?? env.Path ?? '').split(delimiter).filter(Boolean), ...extraDirs]
  for (const d of dirs) {
    const p = join(d, exe(name, platform))
    if (existsSync(p)) return p
  }
  return undefined
}
