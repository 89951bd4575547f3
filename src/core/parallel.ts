/**
 * Several machines worked on at once (create a b c, start/stop/rm/provision … of several): at
 * most `limit` at a time, so fifty cloud creates do not hit an API's rate limit together and
 * three local VMs do not starve a laptop. `--parallel N` (MACHINE_PARALLEL) sets the limit.
 */
import { MachineError } from './errors.js'

export const PARALLEL_DEFAULT = 4
export const PARALLEL_RANGE = { min: 1, max: 64 } as const

/** --parallel as given (flag text or number), checked: one line with the range otherwise. */
export function checkParallelFlag(given: string | number | undefined): number {
  if (given === undefined || given === '') return PARALLEL_DEFAULT
  const n = typeof given === 'number' ? given : /^\s*\d+\s*$/.test(given) ? Number(given) : Number.NaN
  if (!Number.isSafeInteger(n) || n < PARALLEL_RANGE.min || n > PARALLEL_RANGE.max) {
    throw new MachineError('invalid-parallel', `--parallel ${JSON.stringify(String(given).trim())} is not a whole number from ${PARALLEL_RANGE.min} to ${PARALLEL_RANGE.max}`, {
      hint: `give how many machines to work on at once, e.g. --parallel ${PARALLEL_DEFAULT}`,
    })
  }
  return n
}

/** Promise.allSettled over `items` with at most `limit` running at once; results in the items' order. */
export async function settleAll<I, T>(items: readonly I[], limit: number, fn: (item: I, index: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!, i) }
      } catch (reason) {
        results[i] = { status: 'rejected', reason }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker))
  return results
}
