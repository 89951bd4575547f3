// Waiting, polling and retrying for drivers: every wait is bounded and ends at once when the
// machine's signal aborts (Ctrl-C, a step's timeout, a boot watcher that saw the boot fail).
// Built on node:timers/promises, which takes the signal itself.
import { setTimeout as delay } from 'node:timers/promises'
import { MachineError } from '../core/errors.js'

/** What Ctrl-C ends a command with (exit 130, as a shell reports SIGINT). */
export const interrupted = (): MachineError => new MachineError('interrupted', 'Interrupted', { exitCode: 130 })

/**
 * Why `signal` aborted, as the error a wait rejects with: the reason the aborting code gave (the
 * create command aborts with interrupted(), a boot watcher with what the console showed), or
 * interrupted() when there is none.
 */
export const abortReason = (signal: AbortSignal): unknown => {
  const r: unknown = signal.reason
  // AbortController.abort() without a reason leaves a bare DOMException "AbortError".
  return r === undefined || (r instanceof Error && r.name === 'AbortError' && !(r instanceof MachineError)) ? interrupted() : r
}

export function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortReason(signal)
}

/** Wait `ms`; rejects with the abort reason as soon as `signal` aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  checkAborted(signal)
  try {
    await delay(ms, undefined, signal ? { signal } : undefined)
  } catch (e) {
    if (signal?.aborted) throw abortReason(signal)
    throw e
  }
}

/** Stop waiting for `p` when the signal aborts (the operation itself may still finish in the background). */
export function raceAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p
  if (signal.aborted) return Promise.reject(abortReason(signal))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    )
  })
}

/**
 * Bound `p` by `ms`: rejects with a `timeout` MachineError saying "<what> did not answer within
 * N s" (or the abort reason when `signal` aborts first).
 */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  const timer = AbortSignal.timeout(ms)
  const both = signal ? AbortSignal.any([signal, timer]) : timer
  return raceAbort(p, both).catch((e: unknown) => {
    if (timer.aborted && !signal?.aborted) throw new MachineError('timeout', `${what} did not answer within ${Math.round(ms / 1000)} s`)
    throw e
  })
}

/**
 * A duration from the environment, in milliseconds (the MACHINE_*_MS knobs: tests shorten waits,
 * scripts that would rather fail fast may too): `env[name]` (else the process's) when it is a
 * number from `min` (0) to `max`, else `fallbackMs`. The one parse of every such knob.
 */
export function envMs(env: NodeJS.ProcessEnv, name: string, fallbackMs: number, o: { min?: number; max?: number } = {}): number {
  const raw = env[name] ?? process.env[name]
  if (raw === undefined || raw.trim() === '') return fallbackMs
  const n = Number(raw)
  return Number.isFinite(n) && n >= (o.min ?? 0) && n <= (o.max ?? Infinity) ? n : fallbackMs
}

/**
 * The poll interval of a wait: MACHINE_POLL_INTERVAL_MS (tests make it a few milliseconds) when
 * it is a non-negative number, else the caller's own `fallbackMs`.
 */
export function pollIntervalMs(env: NodeJS.ProcessEnv, fallbackMs: number): number {
  return envMs(env, 'MACHINE_POLL_INTERVAL_MS', fallbackMs)
}

export interface PollOptions {
  intervalMs: number
  timeoutMs: number
  signal?: AbortSignal
  /** The error when `timeoutMs` has passed, for a driver's own code and hint (default: a `timeout` MachineError). */
  onTimeout?: () => Error
}

/**
 * Call `probe` until it returns a value (not undefined), pausing `intervalMs` between calls.
 * Bounded by `timeoutMs` ("timed out after N s waiting for <what>") and by the signal; the probe
 * may throw to stop waiting (e.g. the instance was terminated while we waited for it to run).
 */
export async function poll<T>(what: string, probe: () => Promise<T | undefined>, o: PollOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs
  for (;;) {
    checkAborted(o.signal)
    const v = await probe()
    if (v !== undefined) return v
    const left = deadline - Date.now()
    if (left <= 0) throw o.onTimeout?.() ?? new MachineError('timeout', `timed out after ${Math.round(o.timeoutMs / 1000)}s waiting for ${what}`)
    await sleep(Math.min(o.intervalMs, left), o.signal)
  }
}

export interface RetryOptions {
  /** Whether a failure is worth another attempt; the others are thrown at once. */
  isRetryable: (e: unknown) => boolean
  /** First back-off; doubles each attempt (with jitter) up to capMs. */
  baseMs: number
  capMs?: number
  /** Attempts in all, the first included (default 6). */
  attempts?: number
  signal?: AbortSignal
  onRetry?: (e: unknown, delayMs: number, attempt: number) => void
  /** Injected by tests for a deterministic jitter. */
  random?: () => number
}

/** Exponential back-off with full jitter between half and all of the delay: concurrent machines spread out. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** (attempt - 1))
  return Math.round(exp / 2 + random() * (exp / 2))
}

/** Run `fn`, retrying retryable failures with exponential back-off; the last error is thrown. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const attempts = o.attempts ?? 6
  const cap = o.capMs ?? 30_000
  for (let attempt = 1; ; attempt++) {
    checkAborted(o.signal)
    try {
      return await fn(attempt)
    } catch (e) {
      if (attempt >= attempts || !o.isRetryable(e) || o.signal?.aborted) throw e
      const wait = backoffDelay(attempt, o.baseMs, cap, o.random)
      o.onRetry?.(e, wait, attempt)
      await sleep(wait, o.signal)
    }
  }
}
