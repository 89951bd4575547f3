/**
 * docker-machine takes global flags before the command (`machine -s DIR ls`); oclif wants them
 * after it, so bin/run.js moves them there. The names come from the declarations (flag-spec.ts),
 * plus --json (BaseCommand.enableJsonFlag): `machine --json ls` is `machine ls --json`, and
 * `machine --json nosuch` reaches the command_not_found hook with --json in its argv.
 * Loaded on every start: it imports only the plain-data flag-spec.ts.
 */
import { GLOBAL_FLAGS, type FlagSpecs } from './flag-spec.js'

function spellings(specs: FlagSpecs, bool: boolean): Set<string> {
  const out = new Set<string>()
  for (const [name, s] of Object.entries(specs)) {
    if ((s.type === 'boolean') !== bool) continue
    out.add(`--${name}`)
    if (s.char) out.add(`-${s.char}`)
  }
  return out
}

/**
 * Topics: commands of two words (`swarm init`). Global flags go after both words, since oclif
 * reads `swarm -s DIR init` as the topic alone and prints its help. Plain data so start-up reads
 * no manifest; test/unit/global-argv.test.ts fails when a folder under src/commands is missing.
 */
export const TOPICS: ReadonlySet<string> = new Set(['swarm'])

const WITH_VALUE = spellings(GLOBAL_FLAGS, false)
const BOOL = spellings(GLOBAL_FLAGS, true).add('--json')

/** argv (after the program) with the global flags that lead it moved to just after the command's id. */
export function hoistGlobalFlags(args: readonly string[]): string[] {
  const argv = [...args]
  const moved: string[] = []
  while (argv.length > 0) {
    const a = argv[0]!
    const eqName = a.startsWith('--') ? a.split('=')[0]! : a
    if (BOOL.has(a)) moved.push(argv.shift()!)
    else if (WITH_VALUE.has(eqName) && a.includes('=')) moved.push(argv.shift()!)
    else if (WITH_VALUE.has(a) && argv.length > 1) moved.push(argv.shift()!, argv.shift()!)
    else break
  }
  // After the command's id: one word, or two for a topic's command.
  const idWords = TOPICS.has(argv[0] ?? '') && argv[1] !== undefined && !argv[1].startsWith('-') ? 2 : 1
  if (moved.length > 0 && argv.length > 0) argv.splice(idWords, 0, ...moved)
  else argv.unshift(...moved)
  return argv
}
