// The kit's poll: what a wait that runs out of time throws, by default and when the driver
// names its own error (its code and hint are what the user reads).
import { describe, expect, it } from 'vitest'
import { MachineError } from '../../src/driver-kit/errors.js'
import { poll } from '../../src/driver-kit/wait.js'

describe('kit poll', () => {
  it('returns the first value the probe gives', async () => {
    let n = 0
    expect(await poll('three probes', async () => (++n === 3 ? n : undefined), { intervalMs: 1, timeoutMs: 5000 })).toBe(3)
  })

  it('times out with a timeout error naming what it waited for, or with the driver\'s own error', async () => {
    const never = async (): Promise<number | undefined> => undefined
    const e = await poll('the host', never, { intervalMs: 1, timeoutMs: 20 }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(MachineError)
    expect(e).toMatchObject({ code: 'timeout', message: 'timed out after 0s waiting for the host' })
    const own = new MachineError('google-timeout', 'operation op-1 still RUNNING after 0 s', { hint: 'check it with gcloud' })
    await expect(poll('the host', never, { intervalMs: 1, timeoutMs: 20, onTimeout: () => own })).rejects.toBe(own)
  })

  it('ends at once when the signal aborts, with its reason', async () => {
    const ac = new AbortController()
    const reason = new MachineError('interrupted', 'Interrupted', { exitCode: 130 })
    const p = poll('the host', async () => undefined, { intervalMs: 60_000, timeoutMs: 120_000, signal: ac.signal })
    setTimeout(() => ac.abort(reason), 5)
    await expect(p).rejects.toBe(reason)
  })
})
