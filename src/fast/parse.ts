/**
 * The fast path's flag parser: node:util's parseArgs over the declarations in cli/flag-spec.ts,
 * giving the values oclif would (env var defaults, declared defaults, integers as numbers).
 * oclif's own parser costs ~40 ms of module loading, most of what the fast path saves.
 * It only has to be right or give up: undefined sends the command to oclif (help, an unknown
 * flag, a bad integer, extra arguments), which reports it with oclif's messages.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { GLOBAL_FLAGS, type FlagSpecs, type FlagValues, type GlobalFlagValues } from '../cli/flag-spec.js'

type Options = NonNullable<ParseArgsConfig['options']>
type Raw = Record<string, string | boolean | string[] | number | undefined>

function toParseArgs(specs: FlagSpecs): Options {
  const o: Options = {}
  for (const [name, s] of Object.entries(specs)) {
    o[name] = { type: s.type === 'boolean' ? 'boolean' : 'string', ...(s.char ? { short: s.char } : {}), ...(s.multiple ? { multiple: true } : {}) }
  }
  return o
}

export function parseFlags<S extends FlagSpecs>(
  argv: string[],
  specs: S,
  maxArgs: number,
  env: NodeJS.ProcessEnv = process.env,
): { flags: FlagValues<S> & GlobalFlagValues & { json?: boolean }; args: string[] } | undefined {
  const all: FlagSpecs = { ...GLOBAL_FLAGS, ...specs }
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  // No flag at all (`env dev`, `ls`: the usual case) is what parseArgs would make of it, without
  // loading parseArgs (~5% of such a start). A lone "-" is a positional for both.
  if (argv.every((a) => a === '-' || !a.startsWith('-'))) parsed = { values: {}, positionals: [...argv] }
  else {
    try {
      parsed = parseArgs({ args: argv, options: { ...toParseArgs(all), json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
    } catch {
      return undefined
    }
  }
  if (parsed.values.help || parsed.positionals.length > maxArgs) return undefined
  const v = parsed.values as Raw
  for (const [name, s] of Object.entries(all)) {
    if (v[name] === undefined && s.env && env[s.env]) v[name] = env[s.env]
    if (v[name] === undefined && s.default !== undefined) v[name] = s.default
    if (s.type === 'integer' && v[name] !== undefined) {
      if (!/^-?\d+$/.test(String(v[name]))) return undefined
      v[name] = Number(v[name])
    }
  }
  return { flags: v as FlagValues<S> & GlobalFlagValues, args: parsed.positionals }
}
