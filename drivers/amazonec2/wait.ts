import { MachineError } from '../../src/driver-kit/errors.js'

/** Sleep that ends early (rejecting) when the signal aborts (Ctrl-C, step timeout). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new MachineError('aborted', 'interrupted'))
    const onAbort = () => {
      clearTimeout(t)
      reject(new MachineError('aborted', 'interrupted'))
    }
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Poll `probe` until it returns a value; bounded by `timeoutMs` and the signal. The probe may
 * throw to stop waiting (e.g. the instance was terminated while we waited for it to run).
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  o: { intervalMs: number; timeoutMs: number; signal: AbortSignal },
): Promise<T> {
  const deadline = Date.now() + o.timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() >= deadline) {
      throw new MachineError('timeout', `timed out after ${Math.round(o.timeoutMs / 1000)}s waiting for ${what}`)
    }
    await sleep(o.intervalMs, o.signal)
  }
}
