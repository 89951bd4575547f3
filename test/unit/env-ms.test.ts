import { describe, expect, it } from 'vitest'
import { envMs, pollIntervalMs } from '../../src/driver-kit/wait.js'

describe('envMs: the one parse of a MACHINE_*_MS knob', () => {
  it('takes a number of milliseconds within the bounds', () => {
    expect(envMs({ MACHINE_X_MS: '1500' }, 'MACHINE_X_MS', 20_000)).toBe(1500)
    expect(envMs({ MACHINE_X_MS: '0' }, 'MACHINE_X_MS', 20_000)).toBe(0)
    expect(envMs({ MACHINE_X_MS: '3600000' }, 'MACHINE_X_MS', 20_000, { min: 1, max: 3_600_000 })).toBe(3_600_000)
  })

  it('falls back on unset, empty, non-numeric and out-of-range values', () => {
    for (const v of [undefined, '', '  ', 'soon', '-1', 'Infinity']) expect(envMs({ MACHINE_X_MS: v }, 'MACHINE_X_MS', 20_000), String(v)).toBe(20_000)
    expect(envMs({ MACHINE_X_MS: '0' }, 'MACHINE_X_MS', 20_000, { min: 1 })).toBe(20_000)
    expect(envMs({ MACHINE_X_MS: '3600001' }, 'MACHINE_X_MS', 20_000, { max: 3_600_000 })).toBe(20_000)
  })

  it('MACHINE_POLL_INTERVAL_MS goes through it: a driver context’s env first, else the process’s', () => {
    expect(pollIntervalMs({ MACHINE_POLL_INTERVAL_MS: '5' }, 1000)).toBe(5)
    expect(pollIntervalMs({ MACHINE_POLL_INTERVAL_MS: 'x' }, 1000)).toBe(1000)
    const saved = process.env.MACHINE_POLL_INTERVAL_MS
    process.env.MACHINE_POLL_INTERVAL_MS = '7'
    try {
      expect(pollIntervalMs({}, 1000)).toBe(7)
    } finally {
      if (saved === undefined) delete process.env.MACHINE_POLL_INTERVAL_MS
      else process.env.MACHINE_POLL_INTERVAL_MS = saved
    }
  })
})
