import { programName } from '../core/program-name.js'
import { MachineError, messageOf } from '../core/errors.js'
import { mapSystemError } from '../core/fs-errors.js'
import { resolveStorePath } from '../store/paths.js'

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

/** Where a failure can be told more precisely than its raw text. */
export interface ReportContext {
  /** The store in use (default: from MACHINE_STORAGE_PATH or ~/.docker/machine): paths in it get store hints. */
  storePath?: string
}

/**
 * Any failure as users should see it: oclif's usage errors in our words, and raw errno or
 * OpenSSL errors (EACCES, EROFS, "PEM routines::no start line"…) as one line naming the path and
 * the fix with a stable code (core/fs-errors.ts). MachineErrors pass as they are.
 */
function normalize(err: unknown, command: string | undefined, ctx: ReportContext): unknown {
  err = usageError(err, command)
  if (err instanceof MachineError) return err
  return mapSystemError(err, { storePath: ctx.storePath ?? resolveStorePath(undefined) }) ?? err
}

/** An interruption exits 130 (128 + SIGINT) whatever step it ended and whoever wrapped it. */
const exitCodeOf = (err: unknown): number => {
  if (err instanceof MachineError) return err.code === 'interrupted' ? 130 : err.exitCode || 1
  return (err as { oclif?: { exit?: number } })?.oclif?.exit || 1
}

/** --debug's other spelling, for every command on either path (BaseCommand, src/fast/run.ts). */
export const isDebugEnv = (env: NodeJS.ProcessEnv = process.env): boolean => /^(1|true|yes)$/i.test(env.MACHINE_DEBUG ?? '')

/** The --json envelope for a successful command. */
export const successEnvelope = (command: string | undefined, data: unknown) => ({ ok: true, command, data })

/** The --json envelope for a failure: a stable code, the message, the fix. */
export function errorEnvelope(command: string | undefined, err: unknown, ctx: ReportContext = {}) {
  err = normalize(err, command, ctx)
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
export function reportError(err: unknown, o: { json: boolean; command?: string; debug?: boolean } & ReportContext): void {
  const raw = err
  err = normalize(err, o.command, o)
  process.exitCode = exitCodeOf(err)
  if (o.json) {
    process.stdout.write(`${JSON.stringify(errorEnvelope(o.command, err, o), null, 2)}\n`)
    return
  }
  process.stderr.write(`Error: ${err instanceof MachineError ? err.line : oneLine(messageOf(err))}\n`)
  if (o.debug && !(raw instanceof MachineError) && raw instanceof Error && raw.stack) process.stderr.write(`${raw.stack}\n`)
}
