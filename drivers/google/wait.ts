/** Sleeping, retrying and giving up: bounded, and interruptible by the machine's abort signal. */
import { MachineError } from '../../src/driver-kit/errors.js'

export const interrupted = (): MachineError => new MachineError('interrupted', 'Interrupted', { exitCode: 130 })

export function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw interrupted()
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(interrupted())
    const onAbort = () => {
      clearTimeout(t)
      reject(interrupted())
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Stop waiting for `p` when the signal fires (the request itself may still finish in the background). */
export function raceAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p
  if (signal.aborted) return Promise.reject(interrupted())
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(interrupted())
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    )
  })
}

export interface RetryOptions {
  isRetryable: (e: unknown) => boolean
  /** First delay; doubles each attempt (with jitter) up to capMs. */
  baseMs: number
  capMs?: number
  attempts?: number
  signal?: AbortSignal
  onRetry?: (e: unknown, delayMs: number, attempt: number) => void
}

/** Run `fn`, retrying retryable failures with exponential backoff; the last error is thrown. */
export async function withRetry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const attempts = o.attempts ?? 6
  const cap = o.capMs ?? 30_000
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (e) {
      if (attempt >= attempts || !o.isRetryable(e)) throw e
      // Full jitter between half and all of the exponential delay: concurrent machines spread out.
      const exp = Math.min(cap, o.baseMs * 2 ** (attempt - 1))
      const delay = Math.round(exp / 2 + Math.random() * (exp / 2))
      o.onRetry?.(e, delay, attempt)
      await sleep(delay, o.signal)
    }
  }
}
