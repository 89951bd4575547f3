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
}

export const flagName = (driver: string, o: OptionSpec): string => o.flag ?? `${driver}-${o.name}`

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
      throw new MachineError('invalid-option', `${flag} from ${from} must be true or false, got "${String(raw)}"`)
    }
    case 'int': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim())
      if (!Number.isInteger(n)) {
        throw new MachineError('invalid-option', `${flag} from ${from} must be a whole number, got "${String(raw)}"`)
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
      return String(raw)
  }
}

export interface ResolvedOptions {
  /** Non-secret values keyed by configKey, ready to save. */
  config: Record<string, OptionValue>
  /** Secret values keyed by option name; never saved. */
  secrets: Record<string, OptionValue>
  /** Every value keyed by option name (what the driver reads at create time). */
  values: Record<string, OptionValue>
}

/**
 * Resolve flag → env → default for each option, coerce, check choices/required/validate.
 * `flags` is keyed by flag name (as oclif parses them); only flags the user gave are present.
 */
export function resolveOptions(
  driver: string,
  options: readonly OptionSpec[],
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedOptions {
  const out: ResolvedOptions = { config: {}, secrets: {}, values: {} }
  for (const o of options) {
    const flag = flagName(driver, o)
    let value: OptionValue | undefined
    const given = flags[flag]
    if (given !== undefined && !(Array.isArray(given) && given.length === 0)) {
      value = coerce(driver, o, given, 'the command line')
    } else {
      const envName = o.env?.find((e) => env[e] !== undefined && env[e] !== '')
      if (envName) value = coerce(driver, o, env[envName], `$${envName}`)
      else if (o.default !== undefined) value = o.default
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
    }
    if (o.choices && typeof value === 'string' && !o.choices.includes(value)) {
      throw new MachineError('invalid-option', `--${flag} must be one of ${o.choices.join(', ')}, got "${value}"`)
    }
    const problem = o.validate?.(value)
    if (problem) throw new MachineError('invalid-option', `--${flag}: ${problem}`)
    out.values[o.name] = value
    if (o.secret) out.secrets[o.name] = value
    else out.config[configKey(o)] = value
  }
  return out
}

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
