/**
 * The one way this driver talks to Hyper-V: `powershell.exe -NoProfile -NonInteractive
 * -EncodedCommand <base64 of the UTF-16LE script>`, run with an argv array (never a shell),
 * bounded in time, its output read as UTF-8. The only file of this driver that runs a program;
 * everything else takes a `PowerShell` function, so tests inject a recorded one and the
 * end-to-end tests put a fake powershell.exe on PATH.
 *
 * Why -EncodedCommand rather than -Command: a -Command script passes through two parsers before
 * PowerShell sees it (the Windows command line's CommandLineToArgvW rules, then powershell.exe
 * joining its arguments back with spaces and dropping double quotes), and both differ between
 * Windows PowerShell 5.1 and pwsh. Base64 ([A-Za-z0-9+/=]) needs no quoting at either level, so
 * the script PowerShell runs is exactly the text built here. Inside it, every value is a
 * single-quoted literal (psQuote): nothing in it is expanded ($, backtick, subexpressions).
 *
 * Windows PowerShell 5.1 writes the error stream as CLIXML ("#< CLIXML") when stderr is
 * redirected and the script came as -EncodedCommand: the prelude catches every error and writes
 * its message as plain text instead, and decodeClixml reads the rest.
 */
import { MachineError } from '../../src/driver-kit/errors.js'
import { run, which } from '../../src/driver-kit/run.js'

export interface PsOutput {
  stdout: string
  stderr: string
}

export interface PsCallOptions {
  /** Default 120 s (converting a disk may take longer: the caller says so). */
  timeoutMs?: number
  signal?: AbortSignal
}

/** Run one script (a body from scripts.ts); resolves with its output, rejects with a PowerShellError. */
export type PowerShell = (script: string, o?: PsCallOptions) => Promise<PsOutput>

/** Characters PowerShell ends a single-quoted string at: the ASCII quote and the typographic ones (U+2018–U+201B). */
const QUOTES = /['\u2018\u2019\u201a\u201b]/g

/** Control characters (newlines included) never belong in a name or path we pass: refused, not quoted. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u0085\u2028\u2029]/

/** A value that cannot go into a PowerShell script. */
export class UnquotableError extends MachineError {
  constructor(what: string, value: string) {
    super('invalid-option', `${what} ${JSON.stringify(value)} contains a control character (a newline, tab…), which Hyper-V names and Windows paths cannot hold`, {
      hint: `use a ${what} without one`,
    })
  }
}

/**
 * A PowerShell single-quoted literal of `value`: each quote character doubled (PowerShell reads
 * any of ' ‘ ’ ‚ ‛ as a quote, so all are doubled), nothing else changed. `what` names the value
 * in the error for a control character.
 */
export function psQuote(value: string, what = 'value'): string {
  if (CONTROL.test(value)) throw new UnquotableError(what, value)
  return `'${value.replace(QUOTES, (q) => q + q)}'`
}

/**
 * The script as run: errors stop it (ErrorActionPreference), progress bars are not drawn (they
 * would be CLIXML on stderr), output is UTF-8, and any error ends it with its message alone on
 * stderr and exit code 1.
 */
export function wrapScript(body: string): string {
  return [
    "$ErrorActionPreference = 'Stop'",
    "$ProgressPreference = 'SilentlyContinue'",
    '[Console]::OutputEncoding = [Text.Encoding]::UTF8',
    'try {',
    `  ${body}`,
    '} catch {',
    '  [Console]::Error.WriteLine($_.Exception.Message)',
    '  exit 1',
    '}',
  ].join('\n')
}

/** The Windows command line holds 32767 characters: the base64 of a script longer than this would not fit. */
export const MAX_SCRIPT_CHARS = 12_000

/** powershell.exe's arguments for a script body. */
export function psArgs(body: string): string[] {
  const script = wrapScript(body)
  if (script.length > MAX_SCRIPT_CHARS) throw new MachineError('script-too-long', `A PowerShell script of ${script.length} characters does not fit on a Windows command line`)
  return ['-NoProfile', '-NonInteractive', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')]
}

/** The script inside powershell.exe's arguments (what the fake powershell.exe reads). */
export function decodeArgs(args: readonly string[]): string | undefined {
  const i = args.indexOf('-EncodedCommand')
  const b64 = i >= 0 ? args[i + 1] : undefined
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf16le')
}

/** The error text of a "#< CLIXML" stderr (its <S S="Error"> strings, _x000D__x000A_ decoded); other text as it is. */
export function decodeClixml(stderr: string): string {
  if (!stderr.trimStart().startsWith('#< CLIXML')) return stderr
  const parts = [...stderr.matchAll(/<S S="Error">([\s\S]*?)<\/S>/g)].map((m) => m[1] ?? '')
  return parts
    .join('')
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

/** A PowerShell call that failed: `line` is the one line the user sees. */
export class PowerShellError extends MachineError {
  readonly cmdlet: string
  readonly stderr: string
  constructor(cmdlet: string, stderr: string, message: string, hint?: string) {
    super('hyperv-failed', message, hint ? { hint } : {})
    this.cmdlet = cmdlet
    this.stderr = stderr
  }
  /** "Hyper-V was unable to find a virtual machine with name "x"." */
  get notFound(): boolean {
    return /unable to find a virtual machine with name|ObjectNotFound.*VirtualMachine/i.test(this.stderr)
  }
}

/** The Hyper-V cmdlet a script body runs first ("New-VM"), for messages that name the step, not the VM. */
export function cmdletOf(body: string): string {
  return /Hyper-V\\([A-Za-z]+-[A-Za-z]+)/.exec(body)?.[1] ?? 'PowerShell'
}

export const ADMIN_FIX =
  'run as a member of the "Hyper-V Administrators" group (as administrator: Add-LocalGroupMember -SID S-1-5-32-578 -Member $env:USERNAME, then sign out and in) or from an elevated terminal'

/** A failed call as one line naming the cmdlet, Hyper-V's reason and (when known) the fix. */
export function psFailure(body: string, stderr: string, code: number | null): PowerShellError {
  const text = decodeClixml(stderr)
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean)
  const why = lines[0] ?? `exit code ${code ?? 'unknown'}`
  const cmdlet = cmdletOf(body)
  let hint: string | undefined
  if (/required permission|not have the required|authorization policy|Access is denied/i.test(text)) hint = ADMIN_FIX
  else if (/is not recognized as the name of a cmdlet|module 'Hyper-V' could not be loaded/i.test(text)) hint = MODULE_FIX
  else if (/hypervisor is not running|virtualization support|Hyper-V is not in a valid state/i.test(text)) {
    hint = 'turn on hardware virtualization (VT-x/AMD-V) in the firmware settings and make sure the hypervisor starts ("bcdedit /set hypervisorlaunchtype auto", then reboot)'
  }
  return new PowerShellError(cmdlet, text, `Hyper-V ${cmdlet} failed: ${why}`, hint)
}

export const MODULE_FIX =
  'turn on Hyper-V with its PowerShell module, as administrator: Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V -All (Windows 10/11 Pro or Enterprise; on Windows Server: Install-WindowsFeature Hyper-V -IncludeManagementTools), then reboot'

export const INSTALL_HINT = 'Hyper-V runs on Windows only: powershell.exe must be on PATH (point MACHINE_POWERSHELL at it otherwise)'

/** powershell.exe's path: $MACHINE_POWERSHELL, else PATH, else Windows' own directory. */
export function powershellPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.MACHINE_POWERSHELL) return env.MACHINE_POWERSHELL
  const root = env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows'
  const extra = platform === 'win32' ? [`${root}\\System32\\WindowsPowerShell\\v1.0`] : []
  // The fake on PATH in tests is named powershell.exe on every platform.
  const found = which(platform === 'win32' ? 'powershell' : 'powershell.exe', env, extra, platform)
  if (!found) throw new MachineError('powershell-not-found', 'powershell.exe was not found', { hint: INSTALL_HINT })
  return found
}

/**
 * The real powershell.exe at `bin`, run with `env` (the driver context's, where it was found):
 * each call logged (debug) with its script, a failure a PowerShellError with Hyper-V's reason.
 */
export function powershellAt(bin: string, debug: (line: string) => void = () => undefined, env?: NodeJS.ProcessEnv): PowerShell {
  return async (body, o = {}) => {
    const timeoutMs = o.timeoutMs ?? 120_000
    debug(`powershell: ${body}`)
    const args = psArgs(body)
    let r
    try {
      r = await run(bin, args, { timeoutMs, ...(o.signal ? { signal: o.signal } : {}), ...(env ? { env } : {}) })
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'EACCES') throw new MachineError('powershell-not-found', `powershell.exe (${bin}) cannot be run (${code})`, { hint: INSTALL_HINT })
      throw e
    }
    o.signal?.throwIfAborted()
    if (r.timedOut) {
      throw new PowerShellError(cmdletOf(body), r.stderr, `Hyper-V ${cmdletOf(body)} did not finish within ${Math.round(timeoutMs / 1000)} s`, 'Hyper-V may be busy (another VM operation, a backup) or hung: check Hyper-V Manager and try again')
    }
    if (r.code !== 0) throw psFailure(body, r.stderr, r.code)
    return { stdout: r.stdout, stderr: r.stderr }
  }
}
