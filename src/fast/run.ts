/**
 * The fast path for the hot commands, `env` and `ls`: bin/run.js calls it before loading oclif
 * (~100 ms of module loading). It parses the same flag declarations (cli/flag-spec.ts) with
 * node:util and runs the same services. Anything unusual (help, a usage error, a plugin
 * driver) returns false and the normal oclif path handles it, with oclif's messages.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ENV_FLAGS, GLOBAL_FLAGS, LS_FLAGS, type FlagSpecs } from '../cli/flag-spec.js'
import { programName } from '../core/program-name.js'
import { reportError, successEnvelope } from '../cli/render-error.js'
import { resolveStorePath } from '../store/paths.js'
import { Store } from '../store/store.js'

type Options = NonNullable<ParseArgsConfig['options']>

function toParseArgs(specs: FlagSpecs): Options {
  const o: Options = {}
  for (const [name, s] of Object.entries(specs)) {
    o[name] = { type: s.type === 'boolean' ? 'boolean' : 'string', ...(s.char ? { short: s.char } : {}), ...(s.multiple ? { multiple: true } : {}) }
  }
  return o
}

function parse(argv: string[], specs: FlagSpecs, maxPositionals: number) {
  const all = { ...GLOBAL_FLAGS, ...specs }
  const { values, positionals } = parseArgs({ args: argv, options: { ...toParseArgs(all), json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  if (values.help || positionals.length > maxPositionals) return undefined
  // Env defaults and integer parsing as oclif would apply them.
  const v = values as Record<string, string | boolean | string[] | undefined>
  for (const [name, s] of Object.entries(all)) {
    if (v[name] === undefined && s.env && process.env[s.env]) v[name] = process.env[s.env]
    if (s.type === 'integer') {
      const raw = v[name] ?? (s.default !== undefined ? String(s.default) : undefined)
      if (raw !== undefined && !/^-?\d+$/.test(String(raw))) return undefined
      v[name] = raw
    }
  }
  return { values: v, positionals }
}

export async function runFast(command: string, argv: string[]): Promise<boolean> {
  if (command !== 'env' && command !== 'ls') return false
  let p: ReturnType<typeof parse>
  try {
    p = parse(argv, command === 'env' ? ENV_FLAGS : LS_FLAGS, command === 'env' ? 1 : 0)
  } catch {
    return false
  }
  if (!p) return false
  const v = p.values
  const json = !!v.json
  const store = new Store(resolveStorePath(v['storage-path'] as string | undefined))
  try {
    let out: { text: string; json: unknown }
    if (command === 'env') {
      const { envOutput } = await import('../services/env-output.js')
      out = await envOutput(store, {
        name: p.positionals[0],
        shell: v.shell as string | undefined,
        unset: !!v.unset,
        noProxy: !!v['no-proxy'],
        swarm: !!v.swarm,
        program: programName(),
        argv: [command, ...argv],
        env: process.env,
      })
    } else {
      // The same checks as the oclif command (core/ls-filter.ts), before the store is read.
      const { checkLsFlags, filterBeforeProbe } = await import('../core/ls-filter.js')
      const { filters, timeout } = checkLsFlags({ filter: v.filter as string[] | undefined, timeout: v.timeout as string | undefined })
      // Plugin drivers need oclif's plugin hooks: leave such stores to the normal path.
      const { BUILTIN_DRIVERS } = await import('../registry/builtin.js')
      const entries = await store.loadAll()
      if (entries.some((e) => e.host && !(e.host.DriverName in BUILTIN_DRIVERS))) return false
      const { lsOutput } = await import('../services/ls.js')
      out = await lsOutput(store, {
        quiet: !!v.quiet,
        filter: v.filter as string[] | undefined,
        timeout,
        format: v.format as string | undefined,
        dockerHost: process.env.DOCKER_HOST,
        entries: filterBeforeProbe(entries, filters),
      })
    }
    process.stdout.write(json ? `${JSON.stringify(successEnvelope(command, out.json), null, 2)}\n` : out.text)
  } catch (e) {
    reportError(e, { json, command, debug: !!v.debug, storePath: store.path })
  }
  return true
}
