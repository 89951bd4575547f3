/**
 * `--timeout SECONDS` of `ls` and `active`: one check for both commands (and ls's fast path), so
 * `-1`, `0`, `1.5`, `abc` or an overflowing value is the same one-line error with the range,
 * never oclif's parse message or Node's TimeoutNegativeWarning/TimeoutOverflowWarning.
 */
import { MachineError } from './errors.js'

/** Whole seconds per machine; more than an hour is a typo, and Node timers overflow past 24 days. */
export const TIMEOUT_RANGE = { min: 1, max: 3600 } as const

const hint = `give whole seconds from ${TIMEOUT_RANGE.min} to ${TIMEOUT_RANGE.max}`

/**
 * --timeout as given (a number, or the flag's text: the flag is declared as a string so that
 * "1.5" or "abc" reach this check instead of oclif's integer parser), in seconds.
 */
export function checkTimeoutFlag(given: string | number | undefined, fallback = 10): number {
  if (given === undefined) return fallback
  if (typeof given === 'string' && !/^\s*[-+]?\d+\s*$/.test(given)) {
    throw new MachineError('invalid-timeout', `--timeout ${JSON.stringify(given)} is not a whole number of seconds`, { hint })
  }
  const s = Number(given)
  if (!Number.isSafeInteger(s) || s < TIMEOUT_RANGE.min || s > TIMEOUT_RANGE.max) {
    throw new MachineError('invalid-timeout', `--timeout ${String(given).trim()} is out of range`, { hint })
  }
  return s
}
