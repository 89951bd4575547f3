/**
 * `machine stop --save` is for the drivers that declare the saveState capability (the local VM
 * drivers whose hypervisor can save a running VM). For every other built-in driver that can stop,
 * it is refused with one line naming the fix, before the machine is locked or its driver asked
 * anything (services/lifecycle.ts runAction).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { capabilitiesOf, supports, type Driver } from '../../src/driver-kit/contract.js'
import { BUILTIN_DRIVERS } from '../../src/registry/builtin.js'
import { runAction } from '../../src/services/lifecycle.js'
import type { OpenMachine } from '../../src/services/machine.js'
import type { Reporter } from '../../src/services/reporter.js'
import type { Store } from '../../src/store/store.js'
import { errorLineAsync } from '../helpers/errors.js'

const definitions = await Promise.all(Object.entries(BUILTIN_DRIVERS).map(async ([name, load]) => ({ name, def: await load() })))

describe('stop --save by driver', () => {
  // The hint names the program as the user called it: here, as an installed `machine`.
  const before = process.env.MACHINE_PROGRAM_NAME
  beforeAll(() => void (process.env.MACHINE_PROGRAM_NAME = 'machine'))
  afterAll(() => void (before === undefined ? delete process.env.MACHINE_PROGRAM_NAME : (process.env.MACHINE_PROGRAM_NAME = before)))

  it('the local VM drivers whose hypervisor saves a running VM declare it; the others do not', () => {
    expect(definitions.filter((d) => capabilitiesOf(d.def).saveState).map((d) => d.name).sort()).toEqual(['hyperv', 'qemu', 'virtualbox', 'vmware'])
  })

  for (const { name, def } of definitions.filter((d) => !capabilitiesOf(d.def).saveState && supports(d.def, 'stop'))) {
    it(`${name}: refused in one line naming the fix, the driver never asked`, async () => {
      const asked: string[] = []
      const driver = new Proxy({} as Driver, { get: (_, k) => (asked.push(String(k)), () => Promise.resolve('Running')) })
      const reporter = new Proxy({} as Reporter, { get: (_, k) => (asked.push(`reporter.${String(k)}`), () => undefined) })
      const m = { host: { Name: 'dev', DriverName: name }, def, driver, ctx: {} } as unknown as OpenMachine
      const store = { path: '/nonexistent-store' } as Store
      expect(await errorLineAsync(() => runAction(store, m, 'stop', { reporter, save: true }))).toBe(
        `The ${name} driver cannot save a machine's state: run "machine stop dev" to power it off`,
      )
      expect(asked).toEqual([])
    })
  }
})
