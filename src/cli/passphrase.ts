import { readFileSync } from 'node:fs'
import { MachineError } from '../core/errors.js'

/**
 * The passphrase of an exported machine: from --passphrase-file (its first line; "-" is
 * stdin), else $MACHINE_EXPORT_PASSPHRASE, else asked on the terminal without echo (twice for
 * a new file). Never a flag's value: that would sit in shell history and the process list.
 */
export async function passphrase(o: { file?: string; confirm: boolean; json: boolean }): Promise<string> {
  if (o.file !== undefined) {
    let text: string
    try {
      text = readFileSync(o.file === '-' ? 0 : o.file, 'utf8')
    } catch (e) {
      throw new MachineError('passphrase-file', `Cannot read the passphrase file ${o.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'give a file whose first line is the passphrase' })
    }
    return text.split(/\r?\n/)[0] ?? ''
  }
  const env = process.env.MACHINE_EXPORT_PASSPHRASE
  if (env) return env
  if (!process.stdin.isTTY || o.json) {
    throw new MachineError('passphrase-needed', 'No passphrase given, and no terminal to ask for one', { hint: 'pass --passphrase-file FILE (its first line; "-" reads stdin) or set MACHINE_EXPORT_PASSPHRASE' })
  }
  const first = await askHidden('Passphrase: ')
  if (o.confirm && (await askHidden('Passphrase again: ')) !== first) throw new MachineError('passphrase-mismatch', 'The two passphrases differ', { hint: 'run the command again' })
  return first
}

/** One line from the terminal, not echoed (the prompt goes to stderr, away from the command's output). */
async function askHidden(question: string): Promise<string> {
  const { createInterface } = await import('node:readline')
  const { Writable } = await import('node:stream')
  let muted = false
  const output = new Writable({
    write(chunk, encoding, done) {
      if (!muted) process.stderr.write(chunk, encoding)
      done()
    },
  })
  const rl = createInterface({ input: process.stdin, output, terminal: true })
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close()
      process.stderr.write('\n')
      resolve(answer)
    })
    muted = true
  })
}
