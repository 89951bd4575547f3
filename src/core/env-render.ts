import { MachineError } from './errors.js'

/** Shells `machine env` can write for, with docker-machine's exact line formats. */
export const SHELLS = ['bash', 'sh', 'zsh', 'fish', 'powershell', 'pwsh', 'cmd', 'tcsh', 'csh', 'emacs'] as const
type Style = 'posix' | 'fish' | 'powershell' | 'cmd' | 'tcsh' | 'emacs'

export function shellStyle(shell: string): Style {
  switch (shell) {
    case 'bash':
    case 'sh':
    case 'zsh':
    case 'ksh':
    case 'dash':
      return 'posix'
    case 'fish':
      return 'fish'
    case 'powershell':
    case 'pwsh':
      return 'powershell'
    case 'cmd':
      return 'cmd'
    case 'tcsh':
    case 'csh':
      return 'tcsh'
    case 'emacs':
      return 'emacs'
    default:
      throw new MachineError('unknown-shell', `Unknown shell "${shell}"`, {
        hint: `use --shell with one of ${SHELLS.join(', ')}`,
      })
  }
}

/**
 * Which shell to write for: --shell verbatim, else the basename of $SHELL. docker-machine fails
 * with "Unknown shell" when $SHELL is empty; so do we, with the fix in the message.
 */
export function detectShell(flag: string | undefined, env: NodeJS.ProcessEnv, platform = process.platform): string {
  if (flag) return flag
  const sh = env.SHELL
  if (sh) return sh.split(/[\\/]/).pop()!.replace(/\.exe$/i, '')
  if (platform === 'win32') return env.__fish_bin_dir ? 'fish' : env.PSModulePath ? 'powershell' : 'cmd'
  throw new MachineError('unknown-shell', 'Unknown shell: $SHELL is not set', { hint: 'pass --shell bash (or fish, powershell, cmd, tcsh, emacs)' })
}

const setLine: Record<Style, (k: string, v: string) => string> = {
  posix: (k, v) => `export ${k}="${v}"`,
  fish: (k, v) => `set -gx ${k} "${v}";`,
  powershell: (k, v) => `$Env:${k} = "${v}"`,
  cmd: (k, v) => `SET ${k}=${v}`,
  tcsh: (k, v) => `setenv ${k} "${v}";`,
  emacs: (k, v) => `(setenv "${k}" "${v}")`,
}

const unsetLine: Record<Style, (k: string) => string> = {
  posix: (k) => `unset ${k}`,
  fish: (k) => `set -e ${k};`,
  powershell: (k) => `Remove-Item Env:\\\\${k}`,
  cmd: (k) => `SET ${k}=`,
  tcsh: (k) => `unsetenv ${k};`,
  emacs: (k) => `(setenv "${k}" nil)`,
}

const comment: Record<Style, string> = { posix: '#', fish: '#', powershell: '#', cmd: 'REM', tcsh: ':', emacs: ';;' }

// One deliberate difference from docker-machine's output: the posix hint quotes the command
// substitution (`eval "$(…)"`, as the README does). Unquoted, the shell splits and globs the output
// before eval sees it, which collapses runs of spaces and expands `*` in a value; the variable
// lines themselves are byte-identical.
const evalHint: Record<Style, (args: string) => string> = {
  posix: (a) => `eval "$(${a})"`,
  fish: (a) => `eval (${a})`,
  powershell: (a) => `& ${a} | Invoke-Expression`,
  cmd: (a) => `\t@FOR /f "tokens=*" %i IN ('${a}') DO @%i`,
  tcsh: (a) => `eval \`${a}\``,
  emacs: (a) => `(with-temp-buffer (shell-command "${a}" (current-buffer)) (eval-buffer))`,
}

/** The command line shown in the hint: argv joined by spaces, the program quoted if it has a space or backslash. */
export function hintCommand(program: string, args: readonly string[]): string {
  const p = /[ \\]/.test(program) ? `"${program}"` : program
  return [p, ...args].join(' ')
}

export interface EnvRenderInput {
  shell: string
  /** Variables in output order; value undefined means "unset this". */
  vars: ReadonlyArray<readonly [string, string | undefined]>
  /** Full command line for the hint (see hintCommand). */
  command: string
}

export function renderEnv(input: EnvRenderInput): string {
  const style = shellStyle(input.shell)
  const lines = input.vars.map(([k, v]) => (v === undefined ? unsetLine[style](k) : setLine[style](k, v)))
  const c = comment[style]
  lines.push(`${c} Run this command to configure your shell: `, `${c} ${evalHint[style](input.command)}`)
  return `${lines.join('\n')}\n`
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
