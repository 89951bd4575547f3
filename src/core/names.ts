import { MachineError } from './errors.js'

/** docker-machine's rule: a hostname-safe name, so it can also be the VM's hostname. */
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/

/** A name as it can be shown on one line: control characters and quotes escaped as in JSON. */
export const showName = (name: string): string => JSON.stringify(name)

export const isValidMachineName = (name: string): boolean => VALID_NAME.test(name)

export const invalidMachineName = (name: string, hint = 'use letters, digits, "." and "-", starting with a letter or digit'): MachineError =>
  new MachineError('invalid-name', `Invalid machine name ${showName(name)}`, { hint })

/** The rule create applies to a new name: the store's rule plus the hostname length limit. */
export function validateMachineName(name: string): void {
  if (!isValidMachineName(name)) throw invalidMachineName(name)
  if (name.length > 63) throw invalidMachineName(name, 'use at most 63 characters (it becomes the hostname)')
}

/** docker-machine's ls order: case-insensitive natural sort ("m2" before "m10"). */
// Names are ASCII (VALID_NAME), so no ICU collator (~10 ms to build, and slow per compare):
// digit runs compare by value, everything else case-insensitively, then byte order breaks ties.
export function naturalCompare(a: string, b: string): number {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  let i = 0
  let j = 0
  while (i < x.length && j < y.length) {
    const cx = x.charCodeAt(i)
    const cy = y.charCodeAt(j)
    if (isDigit(cx) && isDigit(cy)) {
      const si = i
      const sj = j
      while (i < x.length && isDigit(x.charCodeAt(i))) i++
      while (j < y.length && isDigit(y.charCodeAt(j))) j++
      // Compare digit runs by value without overflow: strip leading zeros, then length, then text.
      const dx = x.slice(si, i).replace(/^0+/, '')
      const dy = y.slice(sj, j).replace(/^0+/, '')
      if (dx.length !== dy.length) return dx.length - dy.length
      if (dx !== dy) return dx < dy ? -1 : 1
    } else {
      if (cx !== cy) return cx - cy
      i++
      j++
    }
  }
  const rest = x.length - i - (y.length - j)
  if (rest !== 0) return rest
  return a < b ? -1 : a > b ? 1 : 0
}

const isDigit = (c: number) => c >= 48 && c <= 57

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
