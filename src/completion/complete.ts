/**
 * Shell completion: what may come next on a `machine` command line. The shell scripts that
 * `machine completion SHELL` prints call `machine __complete --cur=WORD WORDS...` on every Tab;
 * bin/run.js answers that before loading oclif (it runs on each key press, so it reads only the
 * oclif manifest and the store's directory listing: no driver, no SDK, no config.json).
 *
 * The answer is one candidate per line, each a full replacement for the word under the cursor,
 * then at most one directive line starting with ':' (a candidate never does: names, flags and
 * choices cannot start with one):
 *   :files    no candidates of ours; let the shell complete a file name
 *   :nospace  do not add a space after the candidate (`NAME:` for scp, `driver=` for --filter)
 */
import { LS_FILTER_KEYS } from '../core/ls-filter.js'
import { MachineStates } from '../core/state.js'

/** The parts of oclif.manifest.json that completion reads. */
export interface CompletionManifest {
  commands: Record<string, ManifestCommand>
}
interface ManifestCommand {
  hidden?: boolean
  flags: Record<string, ManifestFlag>
  args: Record<string, { name: string; options?: string[] }>
}
interface ManifestFlag {
  name: string
  char?: string
  type: 'boolean' | 'option'
  hidden?: boolean
  multiple?: boolean
  options?: string[]
}

export interface CompletionSources {
  manifest: CompletionManifest
  /** Machine names in the store (--storage-path given on the line, else the usual default). */
  machines: (storagePath: string | undefined) => string[]
  drivers: readonly string[]
  shells: readonly string[]
  /** Choices of driver options by flag name (the kit checks them itself, so oclif's manifest lacks them). */
  driverChoices?: Readonly<Record<string, readonly string[]>>
}

export interface Completion {
  candidates: string[]
  directive?: 'files' | 'nospace'
}

/** Shells `machine completion` writes for. */
export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const
/** Flags whose value is an existing machine's name. */
const MACHINE_VALUED = new Set(['cluster', 'swarm-cluster'])
/** Commands whose positional arguments are `[[user@]NAME:]path`. */
const REMOTE_PATH_ARGS = new Set(['scp', 'mount'])

export function complete(cur: string, before: readonly string[], src: CompletionSources): Completion {
  const { commands } = src.manifest
  const words: string[] = []
  let id: string | undefined
  let pending: ManifestFlag | undefined
  let storagePath: string | undefined
  let literal = false
  const used = new Set<string>()
  const positional: string[] = []
  const flagsOf = (): Record<string, ManifestFlag> => (id ? commands[id]!.flags : globalFlags(src.manifest))

  for (const w of before) {
    if (pending) {
      if (pending.name === 'storage-path') storagePath = w
      pending = undefined
      continue
    }
    if (!literal && w === '--') {
      literal = true
      continue
    }
    if (!literal && w.length > 1 && w.startsWith('-')) {
      const f = findFlag(flagsOf(), w)
      if (!f) continue
      used.add(f.name)
      const eq = w.indexOf('=')
      if (f.type === 'option' && eq < 0 && !/^-[^-]./.test(w)) pending = f
      else if (f.name === 'storage-path') storagePath = eq >= 0 ? w.slice(eq + 1) : w.slice(2)
      continue
    }
    if (!id) {
      words.push(w)
      const joined = words.join(':')
      if (commands[joined]) id = joined
      else if (!isTopic(src.manifest, joined)) return { candidates: [] } // an unknown command: nothing to offer
      continue
    }
    positional.push(w)
  }

  const machines = (): string[] => src.machines(storagePath)
  const values = (flag: ManifestFlag, prefix: string): Completion => flagValues(flag, prefix, { ...src, machines })

  if (pending) return values(pending, cur)
  if (!literal && cur.startsWith('--') && cur.includes('=')) {
    const eq = cur.indexOf('=')
    const f = findFlag(flagsOf(), cur.slice(0, eq))
    if (!f || f.type !== 'option') return { candidates: [] }
    const v = values(f, cur.slice(eq + 1))
    return { ...v, candidates: v.candidates.map((c) => `${cur.slice(0, eq + 1)}${c}`) }
  }
  if (!literal && cur.startsWith('-')) {
    const flags = Object.values(flagsOf()).filter((f) => !f.hidden && (f.multiple || !used.has(f.name)))
    const names = [...flags.map((f) => `--${f.name}`), ...(id ? [] : ['--version']), '--help']
    return { candidates: names.filter((n) => n.startsWith(cur)).sort() }
  }
  if (!id) return { candidates: nextCommandWords(src.manifest, words).filter((c) => c.startsWith(cur)) }
  return argValues(id, positional, cur, { ...src, machines })
}

type Sources = Omit<CompletionSources, 'machines'> & { machines: () => string[] }

function argValues(id: string, positional: readonly string[], cur: string, src: Sources): Completion {
  const args = Object.values(src.manifest.commands[id]!.args)
  if (args.length === 0) return { candidates: [] }
  if (REMOTE_PATH_ARGS.has(id)) {
    // Before the colon: a machine (NAME: then its path) or a local file; after it, a remote path we cannot list.
    if (cur.includes(':')) return { candidates: [] }
    const names = src.machines().filter((n) => n.startsWith(cur.replace(/^[^@]*@/, '')))
    const user = /^[^@]*@/.exec(cur)?.[0] ?? ''
    return { candidates: names.map((n) => `${user}${n}:`), directive: names.length ? 'nospace' : 'files' }
  }
  // The last declared argument takes the rest (`rm a b c`); a name given once is not offered again.
  const arg = args[Math.min(positional.length, args.length - 1)]!
  const variadic = positional.length >= args.length - 1 && /s$/.test(arg.name)
  if (positional.length >= args.length && !variadic) return { candidates: [] }
  if (arg.options) return { candidates: arg.options.filter((o) => o.startsWith(cur)) }
  if (id === 'completion') return { candidates: COMPLETION_SHELLS.filter((s) => s.startsWith(cur)) }
  // create names a new machine, swarm load an image: nothing to offer.
  if (id === 'create' || (arg.name !== 'name' && arg.name !== 'names')) return { candidates: [] }
  const given = new Set(positional)
  return { candidates: src.machines().filter((n) => n.startsWith(cur) && !given.has(n)) }
}

function flagValues(flag: ManifestFlag, cur: string, src: Sources): Completion {
  const pick = (all: readonly string[]): Completion => ({ candidates: all.filter((v) => v.startsWith(cur)) })
  if (flag.options) return pick(flag.options)
  const choices = src.driverChoices?.[flag.name]
  if (choices) return pick(choices)
  if (flag.name === 'driver') return pick(src.drivers)
  if (flag.name === 'shell') return pick(src.shells)
  if (MACHINE_VALUED.has(flag.name)) return pick(src.machines())
  if (flag.name === 'filter') {
    const eq = cur.indexOf('=')
    if (eq < 0) return { candidates: LS_FILTER_KEYS.map((k) => `${k}=`).filter((k) => k.startsWith(cur)), directive: 'nospace' }
    const key = cur.slice(0, eq)
    const vals = key === 'driver' ? src.drivers : key === 'state' ? MachineStates : key === 'name' || key === 'swarm' ? src.machines() : []
    // ls matches states whatever their case (state=running): so does completion.
    const fold = key === 'state' ? (v: string): string => v.toLowerCase() : (v: string): string => v
    return { candidates: vals.map((v) => `${key}=${v}`).filter((v) => fold(v).startsWith(fold(cur))) }
  }
  // Paths (--storage-path, --tls-*, images, keys) and free text: the shell's file completion.
  return { candidates: [], directive: 'files' }
}

/** `--name`, `--name=value`, `-c` or `-cVALUE` of these flags. */
function findFlag(flags: Record<string, ManifestFlag>, word: string): ManifestFlag | undefined {
  const all = Object.values(flags)
  if (word.startsWith('--')) {
    const name = word.slice(2).split('=')[0]
    return all.find((f) => f.name === name)
  }
  return all.find((f) => f.char === word[1])
}

/** The global flags (every command has them): the flags the commands share. */
function globalFlags(manifest: CompletionManifest): Record<string, ManifestFlag> {
  const v = manifest.commands.version ?? Object.values(manifest.commands)[0]
  return Object.fromEntries(Object.entries(v?.flags ?? {}).filter(([name]) => Object.values(manifest.commands).every((c) => name in c.flags)))
}

const isTopic = (m: CompletionManifest, prefix: string): boolean => Object.keys(m.commands).some((id) => id.startsWith(`${prefix}:`))

/** The words that may follow `words` toward a command: top-level commands and topics, or a topic's commands. */
function nextCommandWords(m: CompletionManifest, words: readonly string[]): string[] {
  const prefix = words.length ? `${words.join(':')}:` : ''
  const out = new Set<string>()
  for (const [id, c] of Object.entries(m.commands)) {
    if (c.hidden || !id.startsWith(prefix)) continue
    out.add(id.slice(prefix.length).split(':')[0]!)
  }
  return [...out].sort()
}

/** The text the shell scripts read: candidates, then the directive line. */
export function formatCompletion(c: Completion): string {
  const lines = [...c.candidates, ...(c.directive ? [`:${c.directive}`] : [])]
  return lines.length ? `${lines.join('\n')}\n` : ''
}
