import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import { resolve } from 'node:path'

/**
 * The tag (label) key every cloud resource carries beside the machine's id and name: which store
 * made it. `machine prune` deletes by default only the leaks of its own store; another computer's
 * or another store's machines are listed, and deleted only with --all-stores.
 */
export const STORE_TAG = 'machine-store'

/**
 * This store's mark: 16 hex digits of a hash of this computer's name and the store's path (no
 * path or host name is revealed to whoever reads the tags). Derived, not saved, so a store
 * recreated at the same place on the same computer keeps it, and a store copied elsewhere does
 * not: its machines look like another store's, the safe side. Hex fits GCE's label rules.
 */
export function storeMarker(storePath: string): string {
  return createHash('sha256').update(`${hostname()}\0${resolve(storePath)}`).digest('hex').slice(0, 16)
}
