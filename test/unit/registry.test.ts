import { describe, expect, it } from 'vitest'
import type { Config } from '@oclif/core'
import { defineDriver } from '../../src/driver-kit/contract.js'
import { isBuiltinDriver } from '../../src/registry/builtin.js'
import { allDriverDefinitions, getDriverDefinition, PLUGIN_DRIVER_HOOK } from '../../src/registry/index.js'
import { errorLineAsync } from '../helpers/errors.js'

const plugin = defineDriver({
  name: 'mycloud',
  description: 'a plugin driver',
  options: [{ name: 'token', type: 'string', secret: true, description: 't' }],
  load: async () => ({ createDriver: () => ({}) as never }),
})

/** A stand-in for oclif's Config: plugins answer the hook with their driver definitions. */
const configWith = (results: unknown[]): Config =>
  ({
    runHook: async (event: string) => {
      expect(event).toBe(PLUGIN_DRIVER_HOOK)
      return { successes: results.map((result) => ({ result, plugin: {} })), failures: [] }
    },
  }) as unknown as Config

describe('driver registry', () => {
  it('knows the built-in drivers without loading their lifecycle code', async () => {
    const names = (await allDriverDefinitions()).map((d) => d.name)
    expect(names).toEqual(['none', 'generic', 'qemu', 'virtualbox', 'hyperv', 'vmware', 'amazonec2', 'google', 'azure'])
  })
  it('finds a driver contributed by a plugin through the oclif hook', async () => {
    const config = configWith([[plugin], 'not a driver'])
    expect(await getDriverDefinition('mycloud', config)).toBe(plugin)
    expect((await allDriverDefinitions(config)).map((d) => d.name)).toContain('mycloud')
  })
  it('suggests the nearest name for a typo, plugins included', async () => {
    expect(await errorLineAsync(() => getDriverDefinition('mycluod', configWith([[plugin]])))).toMatch(/^Driver "mycluod" not found: did you mean "mycloud"\?/)
    expect(await errorLineAsync(() => getDriverDefinition('zzzzzzzzzz', configWith([])))).toMatch(/available drivers: none, generic, qemu, virtualbox, hyperv, vmware, amazonec2, google, azure/)
  })
  it('takes no key every object has (a hostile config.json\'s DriverName) for a built-in driver', async () => {
    expect(isBuiltinDriver('none')).toBe(true)
    expect(isBuiltinDriver('example')).toBe(false)
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(isBuiltinDriver(name), name).toBe(false)
      expect(await errorLineAsync(() => getDriverDefinition(name, configWith([[plugin]]))), name).toMatch(new RegExp(`^Driver "${name}" not found`))
    }
  })
})
