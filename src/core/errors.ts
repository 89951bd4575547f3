/**
 * Every failure a user can cause or meet is a MachineError: one line saying what is wrong and,
 * where there is one, how to fix it. `code` is stable and appears in the --json envelope.
 */
export class MachineError extends Error {
  readonly code: string
  readonly exitCode: number
  readonly hint: string | undefined

  constructor(code: string, message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'MachineError'
    this.code = code
    this.exitCode = options.exitCode ?? 1
    this.hint = options.hint
  }

  /** The single line shown to the user. */
  get line(): string {
    return this.hint ? `${this.message}: ${this.hint}` : this.message
  }
}

/** Best-effort message of anything thrown, without stack traces. */
export function messageOf(e: unknown): string {
  if (e instanceof MachineError) return e.line
  if (e instanceof Error) return e.message
  return String(e)
}

/** The last non-empty line a program wrote: what it says went wrong. */
export const lastLine = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop() ?? ''
