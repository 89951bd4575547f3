import { createInterface } from 'node:readline/promises'
import { MachineError } from '../core/errors.js'

/**
 * Ask a yes/no question on the terminal; true only for an answer starting with "y". Without a
 * terminal (scripts, CI) or with --json there is nobody to ask: refuse with one line naming the
 * flag that confirms, instead of waiting on stdin or guessing.
 */
export async function confirm(o: { question: string; refusal: string; flag: string; json: boolean }): Promise<boolean> {
  if (!process.stdin.isTTY || o.json) throw new MachineError('confirmation-needed', o.refusal, { hint: `pass ${o.flag} to confirm` })
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    return /^y/i.test((await rl.question(o.question)).trim())
  } finally {
    rl.close()
  }
}
