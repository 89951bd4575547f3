import { MachineError } from './errors.js'

export type Style = 'posix' | 'fish' | 'powershell' | 'cmd' | 'tcsh' | 'emacs'

export function shellStyle(shell: string): Style {
  for (const [style, syntax] of Object.entries(SYNTAX) as Array<[Style, ShellSyntax]>) if (syntax.shells.includes(shell)) return style
  throw new MachineError('unknown-shell', `Unknown shell "${shell}"`, {
    hint: `use --shell with one of ${SHELLS.join(', ')}`,
  })
}

/**
 * Which shell to write for: --shell verbatim, else the basename of $SHELL. docker-machine fails
 * with "Unknown shell" when $SHELL is empty; so do we, with the fix in the message.
 */
export function detectShell(flag: string | undefined, env: NodeJS.ProcessEnv, platform = process.platform): string {
  if (flag !== undefined) return flag
  const sh = env.SHELL
  if (sh) return sh.split(/[\\/]/).pop()!.replace(/\.exe$/i, '')
  if (platform === 'win32') return env.__fish_bin_dir ? 'fish' : env.PSModulePath ? 'powershell' : 'cmd'
  throw new MachineError('unknown-shell', 'Unknown shell: $SHELL is not set', { hint: 'pass --shell bash (or fish, powershell, cmd, tcsh, emacs)' })
}

// How each shell's line is written. docker-machine's double-quoted form is kept whenever the
// value has no character that is special inside that shell's double quotes (so ordinary output
// stays byte-identical); otherwise the value goes in that shell's literal form. Values with
// control characters never get here (checkValue).
//
// posix  "…" is live for $ ` " \ and, typed interactively, ! (history): single quotes take
//        everything literally; a ' is written '\'' (close, escaped quote, reopen).
// fish   "…" is live for $ \ ": in '…' only \\ and \' are escapes.
// pwsh   "…" is live for ` $ and the double quotes (" and the typographic “ ” „ count too); in
//        '…' the only escape is a doubled quote, and ' ‘ ’ ‚ ‛ all count as one.
// tcsh   "…" is live for $ ` " \ !; in '…' a ! still triggers history and, with backslash_quote
//        set, \ quotes; so ' ! \ are written outside the quotes, backslash-escaped ('\!').
// emacs  an elisp string: \ and " escaped; nothing else is special.
// cmd    SET K=v takes the rest of the line verbatim; the characters cmd acts on anyway
//        (% expansion, ! delayed expansion, ^ & | < > ") are refused by checkValue.
interface ShellSyntax {
  /** --shell names (and $SHELL basenames) written in this style. */
  shells: readonly string[]
  /** `v` as one word that evaluates to exactly `v` (cmd: the bare SET text). */
  quote(v: string): string
  set(k: string, quoted: string): string
  unset(k: string): string
  comment: string
  /** The hint's way to evaluate the output of `command`. */
  evalHint(command: string): string
  /** Words of the hint's command line that need no quoting (names, flags, ordinary paths). */
  bare: RegExp
  /** How a hint word that is not bare is quoted; undefined: it cannot be shown safely. */
  hintWord(w: string): string | undefined
}

/** `v` in double quotes when nothing in it is live there (docker-machine's form), else `literal(v)`. */
const dqOr = (live: RegExp, literal: (v: string) => string) => (v: string): string => (live.test(v) ? literal(v) : `"${v}"`)

const posixQuote = dqOr(/[$`"\\!]/, (v) => `'${v.replaceAll("'", `'\\''`)}'`)
const tcshQuote = dqOr(/[$`"\\!]/, (v) => `'${v.replace(/['!\\]/g, `'\\$&'`)}'`)

// One row per shell style. The posix hint is the one deliberate difference from docker-machine's
// output: it quotes the command substitution (`eval "$(…)"`, as the README does). Unquoted, the
// shell splits and globs the output before eval sees it, which collapses runs of spaces and
// expands `*` in a value; the variable lines themselves are byte-identical.
const SYNTAX: Record<Style, ShellSyntax> = {
  posix: {
    shells: ['bash', 'sh', 'zsh', 'ksh', 'dash'],
    quote: posixQuote,
    set: (k, q) => `export ${k}=${q}`,
    unset: (k) => `unset ${k}`,
    comment: '#',
    evalHint: (a) => `eval "$(${a})"`,
    bare: /^[A-Za-z0-9_./:=+,@%-]+$/,
    hintWord: posixQuote,
  },
  fish: {
    shells: ['fish'],
    quote: dqOr(/[$\\"]/, (v) => `'${v.replace(/[\\']/g, '\\$&')}'`),
    set: (k, q) => `set -gx ${k} ${q};`,
    unset: (k) => `set -e ${k};`,
    comment: '#',
    evalHint: (a) => `eval (${a})`,
    bare: /^[A-Za-z0-9_./:=+,@-]+$/,
    hintWord: (w) => SYNTAX.fish.quote(w),
  },
  powershell: {
    shells: ['powershell', 'pwsh'],
    quote: dqOr(/[`$"\u201c\u201d\u201e]/, (v) => `'${v.replace(/['\u2018\u2019\u201a\u201b]/g, '$&$&')}'`),
    set: (k, q) => `$Env:${k} = ${q}`,
    unset: (k) => `Remove-Item Env:\\\\${k}`,
    comment: '#',
    evalHint: (a) => `& ${a} | Invoke-Expression`,
    bare: /^[A-Za-z0-9_./:=+\\-]+$/,
    hintWord: (w) => SYNTAX.powershell.quote(w),
  },
  cmd: {
    shells: ['cmd'],
    quote: (v) => v,
    set: (k, q) => `SET ${k}=${q}`,
    unset: (k) => `SET ${k}=`,
    comment: 'REM',
    evalHint: (a) => `\t@FOR /f "tokens=*" %i IN ('${a}') DO @%i`,
    bare: /^[A-Za-z0-9_./:\\+-]+$/,
    // Inside FOR /f's ('…'): double quotes protect & | < > ( ); % ! ^ " ' do not.
    hintWord: (w) => (/[%!^"'`]/.test(w) ? undefined : `"${w}"`),
  },
  tcsh: {
    shells: ['tcsh', 'csh'],
    quote: tcshQuote,
    set: (k, q) => `setenv ${k} ${q};`,
    unset: (k) => `unsetenv ${k};`,
    comment: ':',
    evalHint: (a) => `eval \`${a}\``,
    bare: /^[A-Za-z0-9_./:=+,@%-]+$/,
    // The command sits inside `…`; a backtick would end it whatever the quoting.
    hintWord: (w) => (w.includes('`') ? undefined : tcshQuote(w)),
  },
  emacs: {
    shells: ['emacs'],
    quote: (v) => `"${v.replace(/[\\"]/g, '\\$&')}"`,
    set: (k, q) => `(setenv "${k}" ${q})`,
    unset: (k) => `(setenv "${k}" nil)`,
    comment: ';;',
    evalHint: (a) => `(with-temp-buffer (shell-command "${a}" (current-buffer)) (eval-buffer))`,
    bare: /^[A-Za-z0-9_./:=+,@%-]+$/,
    // shell-command hands the string to a POSIX shell; elisp-escaping happens on the whole line.
    hintWord: posixQuote,
  },
}

/** Shells `machine env` can write for, with docker-machine's exact line formats: SYNTAX's rows. */
export const SHELLS: readonly string[] = Object.values(SYNTAX).flatMap((s) => s.shells)

// C0 controls, DEL and C1 controls: a newline would end the line (the rest runs as a command),
// and no shell line format here can carry them portably.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const CMD_LIVE = /[%!^&|<>"]/
// An unpaired surrogate cannot be written as UTF-8 (it would come out as U+FFFD, another value).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Where a variable's value comes from, so a refusal can say what to change. */
function valueFix(k: string): string {
  switch (k) {
    case 'DOCKER_HOST':
      return `correct the machine's address (Driver.URL or IPAddress in its config.json), or re-create it`
    case 'DOCKER_CERT_PATH':
      return 'use a store path without such characters (-s or MACHINE_STORAGE_PATH)'
    case 'NO_PROXY':
    case 'no_proxy':
      return `remove them from $${k}, or leave out --no-proxy`
    default:
      return 'change that value'
  }
}

const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`

/** Refuses a value the shell line cannot carry exactly, naming the variable and the fix. */
function checkValue(shell: string, style: Style, k: string, v: string): void {
  const control = CONTROL.exec(v)
  if (control || LONE_SURROGATE.test(v)) {
    const what = control ? `the control character ${codePoint(control[0])}` : 'an unpaired UTF-16 surrogate'
    throw new MachineError('unsafe-env-value', `Cannot write ${k} for ${shell}: its value ${JSON.stringify(v)} contains ${what}`, { hint: valueFix(k) })
  }
  const live = style === 'cmd' ? CMD_LIVE.exec(v) : null
  if (live) {
    throw new MachineError('unsafe-env-value', `Cannot write ${k} for cmd: its value ${JSON.stringify(v)} contains "${live[0]}", which cmd would act on`, {
      hint: `use --shell powershell, or ${valueFix(k)}`,
    })
  }
}

/** One word of the hint's command, quoted for `style`; undefined when it cannot be shown safely. */
function hintWord(style: Style, w: string): string | undefined {
  // A newline would end the comment line and run the rest when the output is eval'd.
  if (CONTROL.test(w) || LONE_SURROGATE.test(w)) return undefined
  const syntax = SYNTAX[style]
  return syntax.bare.test(w) ? w : syntax.hintWord(w)
}

/**
 * The command line shown in the hint, each word quoted for the shell; undefined when some word
 * cannot be written safely for it (the hint then says so instead of showing it).
 */
export function hintCommand(shell: string, words: readonly string[]): string | undefined {
  const style = shellStyle(shell)
  const quoted = words.map((w) => hintWord(style, w))
  if (quoted.some((w) => w === undefined)) return undefined
  const line = quoted.join(' ')
  return style === 'emacs' ? line.replace(/[\\"]/g, '\\$&') : line
}

export interface EnvRenderInput {
  shell: string
  /** Variables in output order; value undefined means "unset this". */
  vars: ReadonlyArray<readonly [string, string | undefined]>
  /** The command line for the hint, program first, unquoted (renderEnv quotes it for the shell). */
  command: readonly string[]
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export function renderEnv(input: EnvRenderInput): string {
  const style = shellStyle(input.shell)
  const lines = input.vars.map(([k, v]) => {
    // Names are ours (DOCKER_*, NO_PROXY), never user input; checked so that stays true.
    if (!VAR_NAME.test(k)) throw new MachineError('unsafe-env-name', `Cannot write the variable name ${JSON.stringify(k)} for ${input.shell}`)
    if (v === undefined) return SYNTAX[style].unset(k)
    checkValue(input.shell, style, k, v)
    return SYNTAX[style].set(k, SYNTAX[style].quote(v))
  })
  const c = SYNTAX[style].comment
  const command = hintCommand(input.shell, input.command)
  lines.push(
    `${c} Run this command to configure your shell: `,
    command === undefined ? `${c} the command line is not shown as it has characters ${input.shell} cannot quote` : `${c} ${SYNTAX[style].evalHint(command)}`,
  )
  return `${lines.join('\n')}\n`
}

/** The line that unsets variable `k` in `shell` (`machine use` shows it for a DOCKER_HOST in the way). */
export function unsetLine(shell: string, k: string): string {
  if (!VAR_NAME.test(k)) throw new MachineError('unsafe-env-name', `Cannot write the variable name ${JSON.stringify(k)} for ${shell}`)
  return SYNTAX[shellStyle(shell)].unset(k)
}

/**
 * The no_proxy variable to write: `no_proxy` when it is set and non-empty, else `NO_PROXY`;
 * existing entries are kept and the host appended unless already listed (exact entry match,
 * not docker-machine's substring test, so 10.0.0.1 is still added next to 10.0.0.12).
 */
export function noProxyVar(env: NodeJS.ProcessEnv, host: string): readonly [string, string] {
  const name = env.no_proxy ? 'no_proxy' : 'NO_PROXY'
  const existing = env[name] ?? ''
  const entries = existing.split(',').map((s) => s.trim()).filter(Boolean)
  if (entries.includes(host)) return [name, existing]
  return [name, [...entries, host].join(',')]
}

export interface MachineEnv {
  url: string
  certPath: string
  name: string
}

/** The variables `machine env` sets, in docker-machine's order. */
export function dockerEnvVars(m: MachineEnv, platform = process.platform): Array<readonly [string, string]> {
  const vars: Array<readonly [string, string]> = [
    ['DOCKER_TLS_VERIFY', '1'],
    ['DOCKER_HOST', m.url],
    ['DOCKER_CERT_PATH', m.certPath],
    ['DOCKER_MACHINE_NAME', m.name],
  ]
  if (platform === 'win32') vars.push(['COMPOSE_CONVERT_WINDOWS_PATHS', 'true'])
  return vars
}

export const DOCKER_ENV_NAMES = ['DOCKER_TLS_VERIFY', 'DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_MACHINE_NAME'] as const
