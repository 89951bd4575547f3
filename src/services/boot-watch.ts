import type { StepReport } from './reporter.js'
import type { OpenMachine } from './machine.js'

/**
 * Run `wait` (for SSH, for the engine) while the driver watches the host's boot: the user sees
 * the boot stage as the step's detail, and a boot that fails or stalls ends the wait at once
 * with the driver's words instead of a timeout minutes later. Without a watchdog, just waits.
 */
export async function whileBooting<T>(m: OpenMachine, signal: AbortSignal, report: StepReport, wait: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (!m.driver.watchBoot) return wait(signal)
  // Ends with the caller's signal, or when either side is done.
  const ac = new AbortController()
  const both = AbortSignal.any([signal, ac.signal])
  const watch = m.driver.watchBoot({ signal: both, onStage: (stage) => report(`guest: ${stage}`) })
  // The watch resolves only when told to stop; its rejection is the boot's failure.
  const failed = watch.then(
    () => new Promise<never>(() => undefined),
    (e: unknown) => {
      ac.abort(e)
      throw e
    },
  )
  try {
    return await Promise.race([wait(both), failed])
  } finally {
    if (!ac.signal.aborted) ac.abort()
    await watch.catch(() => undefined)
  }
}
