import { MachineError } from '../core/errors.js'
import { validateMachineName } from '../core/names.js'
import { programName } from '../core/program-name.js'
import { refuseStrayFlag } from '../core/stray-flag.js'
import { machineExists, type Store } from '../store/store.js'

/** More than this in one command is a typo (and a cloud bill). */
const COUNT_MAX = 100

/**
 * The machines one `create` makes: its names (`create a b c`), or with `--count N` one prefix
 * numbered on after the machines that already carry it (`--count 2 web` beside web-1 makes
 * web-2 and web-3), so repeating the command adds machines instead of failing on a name.
 * Checked before anything is made: no stray flag among the names (create parses leniently to
 * take several), no name twice, every name valid.
 */
export async function createNames(store: Store, given: readonly string[], count: unknown): Promise<string[]> {
  refuseStrayFlag(given, 'create')
  if (count === undefined) {
    const twice = given.find((n, i) => given.indexOf(n) !== i)
    if (twice) throw new MachineError('duplicate-name', `"${twice}" is named twice`, { hint: 'give each machine a different name' })
    for (const n of given) validateMachineName(n)
    // Several: one taken name stops the command before any is made (create checks one itself).
    if (given.length > 1) for (const n of given) if (await store.exists(n)) throw machineExists(n)
    return [...given]
  }
  const n = typeof count === 'string' && /^\d+$/.test(count.trim()) ? Number(count) : Number.NaN
  if (!Number.isSafeInteger(n) || n < 1 || n > COUNT_MAX) {
    throw new MachineError('invalid-count', `--count ${JSON.stringify(String(count))} is not a whole number from 1 to ${COUNT_MAX}`, { hint: 'e.g. --count 3 web makes web-1, web-2 and web-3' })
  }
  if (given.length !== 1) {
    throw new MachineError('invalid-count', `--count takes one NAME, the prefix of the names it makes; got ${given.length}`, { hint: `e.g. "${programName()} create --count ${n} web" makes web-1 … web-${n}` })
  }
  const prefix = given[0]!
  validateMachineName(`${prefix}-${n}`)
  const taken = new RegExp(`^${prefix.replace(/[.]/g, '\\.')}-(\\d+)$`)
  const highest = Math.max(0, ...(await store.names()).map((m) => Number(taken.exec(m)?.[1] ?? 0)))
  return Array.from({ length: n }, (_, i) => `${prefix}-${highest + i + 1}`)
}
