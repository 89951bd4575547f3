import { describe, expect, it } from 'vitest'
import type { MachineState } from '../../src/core/state.js'
import type { OpenMachine } from '../../src/services/machine.js'
import { waitForState } from '../../src/services/lifecycle.js'

/** Just enough of an opened machine for waitForState: a driver whose state() follows `states`. */
function machine(states: MachineState[], env: NodeJS.ProcessEnv = {}): OpenMachine & { asked: number } {
  const m = {
    asked: 0,
    host: { Name: 'dev' },
    ctx: { env },
    driver: { state: async () => states[Math.min(m.asked++, states.length - 1)]! },
  }
  return m as unknown as OpenMachine & { asked: number }
}

describe('waitForState', () => {
  it('polls at MACHINE_POLL_INTERVAL_MS until the driver reports the state', async () => {
    const m = machine(['Starting', 'Starting', 'Running'], { MACHINE_POLL_INTERVAL_MS: '5' })
    const started = Date.now()
    await waitForState(m, 'Running', 10_000)
    expect(m.asked).toBe(3)
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  it('names the state the machine was left in when it times out', async () => {
    const m = machine(['Stopping'], { MACHINE_POLL_INTERVAL_MS: '5' })
    await expect(waitForState(m, 'Stopped', 50)).rejects.toMatchObject({ code: 'state-timeout', message: 'Machine "dev" did not reach state Stopped (last: Stopping)' })
  })

  it('ends at once when the signal aborts (Ctrl-C), not after its poll interval', async () => {
    const m = machine(['Starting'], { MACHINE_POLL_INTERVAL_MS: '60000' })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 50)
    const started = Date.now()
    await expect(waitForState(m, 'Running', 300_000, ac.signal)).rejects.toMatchObject({ code: 'interrupted' })
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})
