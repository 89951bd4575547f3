import type { DriverDefinition } from '../driver-kit/contract.js'

/**
 * Built-in drivers by name. Each entry imports only the driver's index (its option list); the
 * lifecycle code and any cloud SDK load later through `definition.load()`.
 */
export const BUILTIN_DRIVERS: Record<string, () => Promise<DriverDefinition>> = {
  none: () => import('../../drivers/none/index.js').then((m) => m.default),
  generic: () => import('../../drivers/generic/index.js').then((m) => m.default),
  qemu: () => import('../../drivers/qemu/index.js').then((m) => m.default),
  virtualbox: () => import('../../drivers/virtualbox/index.js').then((m) => m.default),
  hyperv: () => import('../../drivers/hyperv/index.js').then((m) => m.default),
  vmware: () => import('../../drivers/vmware/index.js').then((m) => m.default),
  amazonec2: () => import('../../drivers/amazonec2/index.js').then((m) => m.default),
  google: () => import('../../drivers/google/index.js').then((m) => m.default),
  azure: () => import('../../drivers/azure/index.js').then((m) => m.default),
}

/**
 * Whether `name` is a built-in driver: its own key only, so a config.json naming "toString" or
 * "constructor" is not taken for one (a plugin driver is found through oclif's hooks instead).
 */
export const isBuiltinDriver = (name: string): boolean => Object.hasOwn(BUILTIN_DRIVERS, name)
