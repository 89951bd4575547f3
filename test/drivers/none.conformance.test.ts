/**
 * The shared driver conformance suite on the none driver: it only records an engine URL, so
 * nothing is created or removed, the machine is always Running, and every lifecycle operation
 * and SSH must be refused with NotSupportedError (which the CLI turns into "cannot stop").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DriverContext, DriverDefinition } from '../../src/driver-kit/contract.js'
import { driverConformance, makeDriverContext, type ConformanceStep } from '../../src/driver-kit/conformance.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import none from '../../drivers/none/index.js'
import { tempDir } from '../helpers/tmp.js'

// As the registry sees it (options untyped), like the contexts makeDriverContext builds.
const definition: DriverDefinition = none

const URL = 'tcp://127.0.0.1:23760'

function verify(step: ConformanceStep, ctx: DriverContext): void {
  // What `machine ls`/`env` read back: the address of the recorded URL, and the URL itself unchanged.
  if (step === 'create') {
    expect(ctx.config.IPAddress).toBe('127.0.0.1')
    expect(ctx.config.URL).toBe(URL)
  }
}

driverConformance(
  {
    definition,
    flags: { url: URL },
    verify,
  },
  { describe, it, expect, beforeAll, afterAll },
)

describe('none driver beyond the suite', () => {
  it('answers host:port as its IP (as docker-machine did) and the recorded URL as its engine URL', async () => {
    const ctx = await makeDriverContext(definition, { url: URL }, {}, await tempDir('none-ip-'), 'n1')
    const d = (await definition.load()).createDriver(ctx)
    await d.create(new MemoryJournal())
    expect(await d.ip()).toBe('127.0.0.1:23760')
    expect(await d.engineUrl?.()).toBe(URL)
  })
})
