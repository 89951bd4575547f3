import { MachineError } from '../../src/core/errors.js'

/** The one line a user would see for what `fn` throws ("message: hint"), or "no error". */
export function errorLine(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    return e instanceof MachineError ? e.line : String(e)
  }
  return 'no error'
}

export async function errorLineAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
  } catch (e) {
    return e instanceof MachineError ? e.line : String(e)
  }
  return 'no error'
}
