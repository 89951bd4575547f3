import { displayValue } from '../core/engine-options.js'
import { MachineError } from '../core/errors.js'

export type OptionType = 'string' | 'int' | 'boolean' | 'string[]'
export type OptionValue = string | number | boolean | string[]

/**
 * One driver option, declared once. It produces the CLI flag (`--<driver>-<name>` unless `flag`
 * says otherwise), its env-var default, its help line, its validation and its key in the saved
 * driver config (config.json "Driver" object, docker-machine's field names).
 */
export interface OptionSpec {
  /** Option name without the driver prefix, e.g. 'ssh-user' → --generic-ssh-user. */
  name: string
  type: OptionType
  description: string
  /** Full flag name when it is not `<driver>-<name>` (e.g. the none driver's `--url`). */
  flag?: string
  /** Environment variables consulted, in order, when the flag is not given. */
  env?: string[]
  default?: OptionValue
  required?: boolean
  /** Secrets are used for this invocation only and never written to the store. */
  secret?: boolean
  choices?: readonly string[]
  /** Key in the saved driver config; default: PascalCase of `name` (ssh-user → SshUser). */
  configKey?: string
  /** Returns an error message for a bad value (without the flag name), or undefined. */
  validate?: (value: OptionValue) => string | undefined
  /**
   * Like validate, but only for a value given now (flag, env or default at create), never for a
   * saved one: for bounds of this host (RAM, CPUs) that a machine made on another host may
   * exceed, which must not make that machine unusable (not even `rm`) here.
   */
  validateNew?: (value: OptionValue) => string | undefined
  /**
   * The value a new machine takes when it is made to join a cluster (`create --swarm…`) and
   * neither the flag nor its environment variable gave one: the qemu driver's
   * `--qemu-network default`, so a cluster's VMs share a network without being told to, while a
   * lone VM gets none. Applied by `withClusterDefaults`.
   */
  clusterDefault?: OptionValue
}

/** The value type an option resolves to: its choices when it has them, else its declared type. */
type ValueType<S extends OptionSpec> = S['type'] extends 'int'
  ? number
  : S['type'] extends 'boolean'
    ? boolean
    : S['type'] extends 'string[]'
      ? string[]
      : S['choices'] extends readonly (infer C extends string)[]
        ? C
        : string

/** Booleans (false) and lists ([]) always resolve; others only with a default or when required. */
type AlwaysSet<S extends OptionSpec> = S['type'] extends 'boolean' | 'string[]'
  ? true
  : S extends { required: true }
    ? true
    : S extends { default: OptionValue }
      ? true
      : false

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S

/**
 * The typed option values a driver reads: one property per declared option, named in camelCase
 * (`instance-type` → `instanceType`), typed from its declaration. Secrets are present only when
 * given by flag or environment for this invocation.
 */
export type OptionsOf<O extends readonly OptionSpec[]> = string extends O[number]['name']
  ? // Options not known statically (the registry's view of any driver).
    Readonly<Record<string, OptionValue | undefined>>
  : { readonly [S in O[number] as Camel<S['name']>]: AlwaysSet<S> extends true ? ValueType<S> : ValueType<S> | undefined }

/** `instance-type` → `instanceType`: the property of an option in a driver's typed options. */
export const optionProperty = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())

export const flagName = (driver: string, o: OptionSpec): string => o.flag ?? `${driver}-${o.name}`

/**
 * The flags of a machine that will join a cluster: `flags` with each option's `clusterDefault`
 * added where the user gave neither the flag nor one of its environment variables, nor (for an
 * existing machine, `saved`) a value at create: a saved `--amazonec2-swarm-ports=false` is the
 * user's opt-out and stays one.
 */
export function withClusterDefaults(
  driver: string,
  options: readonly OptionSpec[],
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  saved?: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...flags }
  for (const o of options) {
    if (o.clusterDefault === undefined) continue
    const flag = flagName(driver, o)
    if (out[flag] !== undefined || setEnvName(o, env) || (saved?.[configKey(o)] ?? null) !== null) continue
    out[flag] = o.clusterDefault
  }
  return out
}

/** The first of an option's env vars that is set to something (an empty one counts as unset). */
const setEnvName = (o: OptionSpec, env: NodeJS.ProcessEnv): string | undefined => o.env?.find((e) => env[e] !== undefined && env[e] !== '')

export const configKey = (o: OptionSpec): string =>
  o.configKey ?? o.name.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('')

function coerce(driver: string, o: OptionSpec, raw: unknown, from: string): OptionValue {
  const flag = `--${flagName(driver, o)}`
  switch (o.type) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw
      const s = String(raw).toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(s)) return true
      if (['0', 'false', 'no', 'off', ''].includes(s)) return false
      throw new MachineError('invalid-option', `${flag} from ${from} must be true or false, got ${displayValue(String(raw))}`)
    }
    case 'int': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim())
      if (!Number.isInteger(n)) {
        throw new MachineError('invalid-option', `${flag} from ${from} must be a whole number, got ${displayValue(String(raw))}`)
      }
      return n
    }
    case 'string[]': {
      if (Array.isArray(raw)) return raw.map(String)
      // Env vars carry lists comma-separated, as docker-machine's StringSlice flags did.
      return String(raw)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    }
    default:
      // A hand-edited config.json may hold anything at this key.
      if (raw !== null && typeof raw === 'object') throw new MachineError('invalid-option', `${flag} from ${from} must be text, got ${JSON.stringify(raw).slice(0, 60)}`)
      return String(raw)
  }
}

export interface ResolvedOptions {
  /** Non-secret values keyed by configKey, ready to save. */
  config: Record<string, OptionValue>
  /** Secret values keyed by option name; never saved. */
  secrets: Record<string, OptionValue>
  /** Every value keyed by its camelCase property (what the driver reads as ctx.options). */
  values: Record<string, OptionValue>
}

export interface SavedOptions {
  /**
   * An existing machine's saved driver config (config.json "Driver"), keyed by configKey. Saved
   * values are what the flag or environment gave at create time, so they come before the
   * environment: a variable set later (AWS_DEFAULT_REGION…) must not retarget an existing machine.
   * Secrets are never saved, so they always come from the flag or the environment.
   */
  config: Record<string, unknown>
  /** Where the saved config lives, named in errors about a bad saved value. */
  from?: string
}

/**
 * The one resolution of a driver's options, for create and for every later command alike:
 * flag → saved config (not for secrets) → environment → default. Each value is coerced to its
 * type and checked against its choices and validation, whatever its source (a saved config is
 * input like any other).
 */
export function resolveOptions(
  driver: string,
  options: readonly OptionSpec[],
  /** Flags the user gave, keyed by flag name (as oclif parses them); only given flags are present. */
  flags: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = process.env,
  /** An existing machine's saved options (absent at create). */
  savedOptions?: SavedOptions,
): ResolvedOptions {
  const saved = savedOptions?.config
  const savedFrom = savedOptions?.from ?? 'the saved config'
  const out: ResolvedOptions = { config: {}, secrets: {}, values: {} }
  for (const o of options) {
    const flag = flagName(driver, o)
    let value: OptionValue | undefined
    let from = 'the command line'
    let fallback = false
    // An empty text value where a default exists means "the default", wherever it comes from:
    // `--google-zone "$ZONE"` with ZONE unset, or a saved "" in an imported config, behave like
    // an unset environment variable does (below), instead of sending "" to a cloud API.
    const emptyForDefault = (v: unknown) => v === '' && o.type === 'string' && o.default !== undefined
    const given = flags[flag]
    const stored = saved && !o.secret ? saved[configKey(o)] : undefined
    if (given !== undefined && !(Array.isArray(given) && given.length === 0) && !emptyForDefault(given)) {
      value = coerce(driver, o, given, from)
    } else if (stored !== undefined && stored !== null && !emptyForDefault(stored)) {
      from = `${savedFrom} (${configKey(o)})`
      value = coerce(driver, o, stored, from)
    } else {
      const envName = setEnvName(o, env)
      if (envName) {
        from = `$${envName}`
        value = coerce(driver, o, env[envName], from)
      } else if (o.default !== undefined) value = o.default
    }
    if (value === undefined) {
      if (o.required) {
        const envHint = o.env?.length ? ` (or set ${o.env.join(' or ')})` : ''
        throw new MachineError('missing-option', `--${flag} is required for the ${driver} driver`, {
          hint: `pass --${flag} <value>${envHint}`,
        })
      }
      if (o.type === 'boolean') value = false
      else if (o.type === 'string[]') value = []
      else continue
      // Not saved: a machine made without --swarm* that joins a cluster later must take the
      // option's cluster default then (withClusterDefaults), which a saved `false` would refuse.
      if (o.clusterDefault !== undefined) fallback = true
    }
    const source = from === 'the command line' ? '' : ` from ${from}`
    if (o.choices && typeof value === 'string' && !o.choices.includes(value)) {
      throw new MachineError('invalid-option', `--${flag}${source} must be one of ${o.choices.join(', ')}, got ${displayValue(value)}`)
    }
    const isSaved = from.startsWith(savedFrom)
    const problem = o.validate?.(value) ?? (isSaved ? undefined : o.validateNew?.(value))
    // A driver's message may quote the value as given: its control characters (a newline) are
    // shown escaped, so the error stays the one line it is meant to be.
    if (problem) throw new MachineError('invalid-option', `--${flag}${source}: ${escapeControl(problem)}`)
    out.values[optionProperty(o.name)] = value
    if (o.secret) out.secrets[o.name] = value
    else if (!fallback) out.config[configKey(o)] = value
  }
  return out
}

/** Control characters (newline, tab, escape sequences) shown escaped: text from outside stays on its one line or cell. */
export const escapeControl = (s: string): string => s.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1))

/** Help text for an option: description plus where its default comes from. */
export function optionHelp(o: OptionSpec): string {
  const parts = [o.description]
  if (o.env?.length) parts.push(`[env: ${o.env.join(', ')}]`)
  if (o.default !== undefined && !(Array.isArray(o.default) && o.default.length === 0)) {
    parts.push(`[default: ${Array.isArray(o.default) ? o.default.join(',') : String(o.default)}]`)
  }
  if (o.required) parts.push('(required)')
  return parts.join(' ')
}
