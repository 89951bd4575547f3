/**
 * The order oclif sorts a plugin's commands in (`a.id.localeCompare(b.id)`, in its Plugin.load),
 * without the cost of localeCompare: its first call builds ICU's collator, ~67 M instructions,
 * which was three quarters of a bare `node -e 0` on every start through oclif.
 * scripts/oclif-patches.mjs puts this comparator in place of oclif's.
 *
 * Where the answer is provably localeCompare's it is computed by code point, else localeCompare
 * gives it: ids of lowercase ASCII letters, `:` and `-` only, in the default locale's collation
 * when that is the root one (`und`) or English without a Unicode extension (`en`, `en-GB`, `en-US`;
 * English has no tailoring but en-US-POSIX, whose tag carries `-u-va-posix`). There every one of
 * those characters has its own primary weight, in the order `-` < `:` < a … z, which is also their
 * code point order, nothing is ignorable, there is no contraction and no case, so strings compare
 * as their code points do (a prefix first). Other locales reorder letters (Lithuanian puts y with
 * i), hence the check; test/unit/command-order.test.ts compares both on generated ids.
 */

const PLAIN_ID = /^[a-z:-]*$/
// A default locale whose collation of PLAIN_ID strings is root's: the language, at most a
// script and a region, no extension or variant that could select another collation.
const ROOT_COLLATION_LOCALE = /^(?:und|en)(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|\d{3}))?$/

let rootCollation: boolean | undefined

/** localeCompare's own default locale (navigator.language reads ICU's default, as V8 does; cheap). */
function defaultLocaleSortsLikeRoot(): boolean {
  rootCollation ??= ROOT_COLLATION_LOCALE.test(globalThis.navigator?.language ?? '')
  return rootCollation
}

/** What `a.localeCompare(b)` answers for command ids (its sign is all a sort reads). */
export function compareCommandIds(a: string, b: string): number {
  if (PLAIN_ID.test(a) && PLAIN_ID.test(b) && defaultLocaleSortsLikeRoot()) return a < b ? -1 : a > b ? 1 : 0
  return a.localeCompare(b)
}
