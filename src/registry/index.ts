import type { Config } from '@oclif/core'
import { MachineError } from '../core/errors.js'
import { nearest } from '../core/names.js'
import type { DriverDefinition, DriverModule } from '../driver-kit/contract.js'
import { BUILTIN_DRIVERS, isBuiltinDriver } from './builtin.js'

/** The oclif hook a plugin package implements to add drivers: it returns DriverDefinition[]. */
export const PLUGIN_DRIVER_HOOK = 'machine-drivers'

const isDefinition = (d: unknown): d is DriverDefinition =>
  !!d && typeof d === 'object' && typeof (d as DriverDefinition).name === 'string' && typeof (d as DriverDefinition).load === 'function' && Array.isArray((d as DriverDefinition).options)

/** Drivers contributed by installed oclif plugins (only asked for when a built-in does not match). */
export async function pluginDrivers(config: Config | undefined): Promise<DriverDefinition[]> {
  if (!config) return []
  const res = await config.runHook(PLUGIN_DRIVER_HOOK, {})
  const out: DriverDefinition[] = []
  for (const s of res.successes) {
    const list = Array.isArray(s.result) ? s.result : [s.result]
    for (const d of list) if (isDefinition(d)) out.push(d)
  }
  return out
}

// `ls` opens hundreds of machines at once: resolve each driver's modules once, not per machine.
const definitions = new Map<string, Promise<DriverDefinition>>()
const modules = new WeakMap<DriverDefinition, Promise<DriverModule>>()

/** The driver's lifecycle module, imported once per process. */
export function loadDriverModule(def: DriverDefinition): Promise<DriverModule> {
  let m = modules.get(def)
  if (!m) {
    m = def.load()
    modules.set(def, m)
  }
  return m
}

export async function getDriverDefinition(name: string, config?: Config): Promise<DriverDefinition> {
  const builtin = isBuiltinDriver(name) ? BUILTIN_DRIVERS[name] : undefined
  if (builtin) {
    let d = definitions.get(name)
    if (!d) {
      d = builtin()
      definitions.set(name, d)
    }
    return d
  }
  const plugins = await pluginDrivers(config)
  const found = plugins.find((d) => d.name === name)
  if (found) return found
  const all = [...Object.keys(BUILTIN_DRIVERS), ...plugins.map((d) => d.name)]
  const guess = nearest(name, all)
  throw new MachineError('unknown-driver', `Driver "${name}" not found`, {
    hint: guess ? `did you mean "${guess}"? (see "machine drivers")` : `available drivers: ${all.join(', ')}`,
  })
}

export async function allDriverDefinitions(config?: Config): Promise<DriverDefinition[]> {
  const builtins = await Promise.all(Object.values(BUILTIN_DRIVERS).map((f) => f()))
  return [...builtins, ...(await pluginDrivers(config))]
}
