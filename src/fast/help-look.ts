/**
 * How oclif would render the root help on this start: the width it wraps to and whether its
 * section headers are bold, decided here the way @oclif/core 5 decides them (screen.js for the
 * width; for bold, oclif's colorize asks supports-color 8 about stdout and stderr, then ansis 3
 * about colour). Whatever could make oclif decide otherwise, or render something else, gives
 * undefined and oclif answers: FORCE_COLOR (and the --color flags, which the root help's argv
 * cannot hold), OCLIF_COLUMNS, CI variables (the two libraries read them differently), a
 * theme.json (colours), installed plugins (more commands), WSL (oclif names it as the platform),
 * Windows (its home directories and colour levels).
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir, platform, release } from 'node:os'
import { isatty } from 'node:tty'
import type { HelpLook } from './help-layout.js'

export function rootHelpLook(env: NodeJS.ProcessEnv): HelpLook | undefined {
  if (env.FORCE_COLOR !== undefined || env.OCLIF_COLUMNS || platform() === 'win32' || maybeWsl() || themeOrPlugins(env)) return undefined
  // Without a terminal oclif wraps to 80 columns, and supports-color sees no colour on stdout.
  if (!isatty(1)) return { width: 80, bold: false }
  if (ciVariables(env)) return undefined
  // screen.js termwidth(): process.stdout's columns (getWindowSize()[0]), 80 if none, at least 40.
  const columns = process.stdout.columns
  if (!Number.isInteger(columns)) return undefined
  return { width: columns < 1 ? 80 : Math.max(columns, 40), bold: isatty(2) && supportsColor(env) && ansisColor(env) }
}

/** The variables with which supports-color and ansis look for a CI service, each its own way. */
function ciVariables(env: NodeJS.ProcessEnv): boolean {
  return 'CI' in env || 'TEAMCITY_VERSION' in env || 'TF_BUILD' in env || Object.keys(env).some((k) => k.startsWith('TEAMCI'))
}

/** supports-color 8 for a terminal stream, without FORCE_COLOR, flags, Windows or CI: whether its level is above 0. */
function supportsColor(env: NodeJS.ProcessEnv): boolean {
  if (env.TERM === 'dumb') return false
  if (env.COLORTERM === 'truecolor') return true
  if (env.TERM_PROGRAM === 'iTerm.app' || env.TERM_PROGRAM === 'Apple_Terminal') return true
  const term = env.TERM ?? ''
  if (/-256(color)?$/i.test(term) || /^screen|^xterm|^vt100|^vt220|^rxvt|color|ansi|cygwin|linux/i.test(term)) return true
  return 'COLORTERM' in env
}

// ansis looks COLORTERM up in a plain object, so a name of Object.prototype's finds a function
// there, which it then takes as its level (and compares with 0: no colour). Kept as it is.
const ANSIS_COLORTERM: Record<string, unknown> = { '24bit': 3, truecolor: 3, ansi256: 2, ansi: 1 }

/** ansis 3 with stdout a terminal, without FORCE_COLOR, flags or CI: whether it colours at all. */
function ansisColor(env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR) return false
  const level = ANSIS_COLORTERM[env.COLORTERM ?? 'undefined'] || (/-mono|dumb/i.test(env.TERM ?? '') ? 0 : 1)
  return (level as number) > 0
}

/** oclif's directories (Config.dir): MACHINE_X_DIR, else $XDG_X_HOME/machine, else under $HOME. */
function themeOrPlugins(env: NodeJS.ProcessEnv): boolean {
  const home = env.HOME || homedir()
  const dir = (kind: 'config' | 'data', fallback: string) => env[`MACHINE_${kind.toUpperCase()}_DIR`] || `${env[`XDG_${kind.toUpperCase()}_HOME`] || `${home}/${fallback}`}/machine`
  return existsSync(`${dir('config', '.config')}/theme.json`) || existsSync(`${dir('data', '.local/share')}/package.json`)
}

/** is-wsl's test (oclif names the platform "wsl" there), without its container exception: then oclif answers. */
function maybeWsl(): boolean {
  if (platform() !== 'linux') return false
  if (release().toLowerCase().includes('microsoft')) return true
  try {
    return readFileSync('/proc/version', 'utf8').toLowerCase().includes('microsoft')
  } catch {
    return false
  }
}
