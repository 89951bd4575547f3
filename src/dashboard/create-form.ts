import type { Config } from '@oclif/core'
import { MachineError, messageOf } from '../core/errors.js'
import { validateMachineName } from '../core/names.js'
import type { DriverDefinition } from '../driver-kit/contract.js'
import { flagName, optionHelp, resolveOptions, type OptionType, type OptionValue } from '../driver-kit/options.js'
import { allDriverDefinitions, getDriverDefinition } from '../registry/index.js'
import type { Store } from '../store/store.js'

// The create form is generated from the drivers' option declarations (driver-kit/options.ts),
// the one source that also makes create's flags, their help and their validation: a driver
// that gains an option gains a field, with its help text, default, choices and checks.

export interface FieldSpec {
  /** The create flag this field stands for (--<driver>-<name>), also the field's key. */
  flag: string
  type: OptionType
  /** The help line `create --help` shows for the flag. */
  help: string
  default?: OptionValue
  choices?: readonly string[]
  required: boolean
  secret: boolean
}

export interface DriverForm {
  name: string
  description: string
  fields: FieldSpec[]
}

export function driverForm(def: DriverDefinition): DriverForm {
  return {
    name: def.name,
    description: def.description,
    fields: def.options.map((o) => ({
      flag: flagName(def.name, o),
      type: o.type,
      help: optionHelp(o),
      ...(o.default !== undefined ? { default: o.default } : {}),
      ...(o.choices ? { choices: o.choices } : {}),
      required: !!o.required,
      secret: !!o.secret,
    })),
  }
}

/** Every driver's form: built-ins and plugins, as `machine drivers` lists them. */
export async function driverForms(config?: Config): Promise<DriverForm[]> {
  return (await allDriverDefinitions(config)).map(driverForm)
}

export interface CreateRequest {
  driver: string
  name: string
  /** Field values by flag: text as typed, true/false for a checkbox. */
  options: Record<string, string | boolean>
}

/** Problems by field ('name', 'driver', a flag, or 'form'): the page shows each beside its field. */
export type FieldErrors = Record<string, string>

/**
 * A create request checked as `machine create` checks its flags, before anything is made: the
 * name by the store's rule (and not taken), the driver by the registry, each option by the
 * kit's own resolution (type, choices, the driver's validation, required ones), one field at a
 * time so every bad field is named at once. Returns the flags to hand to createMachine.
 */
export async function checkCreateRequest(store: Store, body: unknown, o: { config?: Config; env: NodeJS.ProcessEnv }): Promise<{ errors: FieldErrors } | { def: DriverDefinition; name: string; flags: Record<string, unknown> }> {
  const errors: FieldErrors = {}
  const r = (body ?? {}) as Partial<CreateRequest>
  const name = typeof r.name === 'string' ? r.name : ''
  try {
    validateMachineName(name)
    if (await store.exists(name)) errors.name = `Machine "${name}" already exists`
  } catch (e) {
    errors.name = messageOf(e)
  }
  let def: DriverDefinition | undefined
  try {
    def = await getDriverDefinition(typeof r.driver === 'string' ? r.driver : '', o.config)
  } catch (e) {
    errors.driver = messageOf(e)
  }
  if (!def) return { errors }
  const given = r.options && typeof r.options === 'object' ? r.options : {}
  const flags: Record<string, unknown> = {}
  for (const opt of def.options) {
    const flag = flagName(def.name, opt)
    const raw = (given as Record<string, unknown>)[flag]
    // As oclif leaves a flag out that was not given: an empty field, an unticked box.
    if (raw === undefined || raw === '' || raw === false) continue
    if (typeof raw !== 'string' && typeof raw !== 'boolean') {
      errors[flag] = 'must be text'
      continue
    }
    flags[flag] = opt.type === 'string[]' ? String(raw).split(/[\n,]/).map((s) => s.trim()).filter(Boolean) : raw
  }
  for (const key of Object.keys(given)) if (!def.options.some((x) => flagName(def.name, x) === key)) errors[key] = `--${key} is not an option of the ${def.name} driver`
  for (const opt of def.options) {
    const flag = flagName(def.name, opt)
    if (errors[flag]) continue
    try {
      resolveOptions(def.name, [opt], flags, o.env)
    } catch (e) {
      // The kit's message starts with the flag and where the value came from ("--qemu-memory from
      // the command line must…"): beside the field, both are known already.
      errors[flag] = (e instanceof MachineError ? e.line : messageOf(e)).replace(new RegExp(`^--${flag}:?\\s*(from the command line:?\\s*)?`), '')
    }
  }
  return Object.keys(errors).length ? { errors } : { def, name, flags }
}
