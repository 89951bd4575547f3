import { MachineError } from './errors.js'

/** docker-machine's rule: a hostname-safe name, so it can also be the VM's hostname. */
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/

export function validateMachineName(name: string): void {
  if (!VALID_NAME.test(name)) {
    throw new MachineError('invalid-name', `Invalid machine name "${name}"`, {
      hint: 'use letters, digits, "." and "-", starting with a letter or digit',
    })
  }
  if (name.length > 63) {
    throw new MachineError('invalid-name', `Invalid machine name "${name}"`, { hint: 'use at most 63 characters (it becomes the hostname)' })
  }
}

/** docker-machine's ls order: case-insensitive natural sort ("m2" before "m10"). */
// Made on first use: building an ICU collator costs ~10 ms, and `env` never sorts.
let collator: Intl.Collator | undefined
export const naturalCompare = (a: string, b: string): number =>
  (collator ??= new Intl.Collator('en', { numeric: true, sensitivity: 'base' })).compare(a, b) || (a < b ? -1 : a > b ? 1 : 0)

/** Closest candidate by edit distance, for "did you mean" hints; undefined when nothing is close. */
export function nearest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const d = editDistance(input.toLowerCase(), c.toLowerCase())
    if (d < bestD) {
      bestD = d
      best = c
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(input.length / 2)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]!
}
