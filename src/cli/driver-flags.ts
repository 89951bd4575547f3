import { Flags } from '@oclif/core'
import type { DriverDefinition } from '../driver-kit/contract.js'
import { flagName, optionHelp } from '../driver-kit/options.js'

/**
 * oclif flags for a driver's options. They carry no default and no env binding on purpose:
 * resolveOptions() applies flag → env → default itself, so it knows what the user gave and the
 * same rules serve create, help and plugin drivers.
 */
export function driverFlags(def: DriverDefinition): Record<string, any> {
  const out: Record<string, any> = {}
  for (const o of def.options) {
    const common = { description: optionHelp(o), helpGroup: `${def.name.toUpperCase()} DRIVER` }
    const name = flagName(def.name, o)
    out[name] =
      o.type === 'boolean'
        ? Flags.boolean({ ...common, allowNo: false })
        : o.type === 'string[]'
          ? Flags.string({ ...common, multiple: true, multipleNonGreedy: true })
          : Flags.string(common)
  }
  return out
}
