import { programName } from './program.js'
import { MachineError, messageOf } from '../core/errors.js'

const oneLine = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
    .replace(/\s+/g, ' ')

/**
 * oclif's "Missing 1 required arg" comes with a paragraph about multi-value flags: say instead
 * which argument is missing and how to give it, in one line.
 */
function usageError(err: unknown, command: string | undefined): unknown {
  const m = /^Missing \d+ required args?:\s*\n?(\S+)/.exec((err as Error)?.message ?? '')
  if (!m || !(err as { oclif?: unknown })?.oclif) return err
  const arg = m[1]!
  const usage = command === 'create' ? `${programName()} create -d DRIVER NAME` : `${programName()} ${command ?? ''} ${arg.toUpperCase()}`.replace(/\s+/g, ' ')
  const help = command === 'create' ? `"${programName()} create -d DRIVER --help" shows the driver's flags` : `"${programName()} ${command ?? ''} --help" shows every flag`
  return new MachineError('usage', `Missing the ${arg === 'name' ? 'machine name' : `argument ${arg}`}`, { hint: `run "${usage}" (${help})`.replace(/ {2,}/g, ' '), exitCode: 2 })
}

/** The --json envelope for a successful command. */
export const successEnvelope = (command: string | undefined, data: unknown) => ({ ok: true, command, data })

/** The --json envelope for a failure: a stable code, the message, the fix. */
export function errorEnvelope(command: string | undefined, err: unknown) {
  err = usageError(err, command)
  const usage = !!(err as { oclif?: unknown })?.oclif
  return {
    ok: false,
    command,
    error: {
      code: err instanceof MachineError ? err.code : usage ? 'usage' : 'error',
      message: err instanceof MachineError ? err.message : oneLine(messageOf(err)),
      ...(err instanceof MachineError && err.hint ? { hint: err.hint } : {}),
    },
  }
}

/** One line on stderr (or the JSON envelope on stdout) and the exit code; never a stack trace unless --debug. */
export function reportError(err: unknown, o: { json: boolean; command?: string; debug?: boolean }): void {
  err = usageError(err, o.command)
  const e = err as { oclif?: { exit?: number } }
  let code = err instanceof MachineError ? err.exitCode : (e?.oclif?.exit ?? 1)
  if (!code) code = 1
  process.exitCode = code
  if (o.json) {
    process.stdout.write(`${JSON.stringify(errorEnvelope(o.command, err), null, 2)}\n`)
    return
  }
  process.stderr.write(`Error: ${err instanceof MachineError ? err.line : oneLine(messageOf(err))}\n`)
  if (o.debug && !(err instanceof MachineError) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`)
}
