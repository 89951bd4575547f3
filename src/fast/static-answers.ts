/**
 * `machine --help` (and `machine` alone) and `machine version`: texts fixed at build time,
 * answered from dist/bundle/static-answers.json (scripts/static-answers.mjs writes it after the
 * manifest) without loading oclif, whose Config.load and CommonJS files made these starts ~5x
 * bare Node for a fixed text (bench/cli-startup.mjs).
 * The help is oclif's own output, rendered at build time for a start without a terminal and
 * without user plugins or theme; whatever could make oclif render it differently (a terminal:
 * its width and colours; FORCE_COLOR; OCLIF_COLUMNS; a theme.json; installed plugins, which add
 * commands; WSL, which oclif names as the platform; Windows' home directories) returns false and
 * oclif answers as before.
 */
import { existsSync, readFileSync } from 'node:fs'
import { arch, homedir, platform, release } from 'node:os'
import { isatty } from 'node:tty'
import { successEnvelope } from '../cli/render-error.js'
import { writeStdout } from '../cli/stdio.js'
import { parseFlags } from './parse.js'
import { noArgumentOnStdin } from './stdin.js'

interface StaticAnswers {
  bin: string
  version: string
  rootHelp: string
}

// Written by scripts/static-answers.mjs in place of the help's VERSION line (oclif's user agent).
const USER_AGENT_MARK = '\u0000user-agent\u0000'

/** Answer `argv` (after the global flags were moved) if it is one of the fixed texts; false sends it to oclif. */
export async function answerStatic(argv: readonly string[], bin: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const isVersion = argv[0] === 'version'
  if (!isVersion && !(argv.length === 0 || (argv.length === 1 && argv[0] === '--help'))) return false
  const version = isVersion ? parseFlags(argv.slice(1), {}, 0, env) : undefined
  // `version NAME` is a machine's engine version, and oclif may find NAME on stdin.
  if (isVersion && (!version || !(await noArgumentOnStdin(env)))) return false
  if (!isVersion && !rootHelpAsBuilt(env)) return false
  let answers: StaticAnswers
  try {
    answers = JSON.parse(readFileSync(new URL('../dist/bundle/static-answers.json', bin), 'utf8')) as StaticAnswers
  } catch {
    return false // a build without it (tsc alone): oclif answers
  }
  if (version?.flags.json) await writeStdout(`${JSON.stringify(successEnvelope('version', { version: answers.version, node: process.versions.node }), null, 2)}\n`)
  else if (version) await writeStdout(`${answers.bin} version ${answers.version}\n`)
  else await writeStdout(answers.rootHelp.replace(USER_AGENT_MARK, `${answers.bin}/${answers.version} ${platform()}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}`))
  return true
}

/** Whether oclif would render the root help exactly as the build did (see the module comment). */
function rootHelpAsBuilt(env: NodeJS.ProcessEnv): boolean {
  if (isatty(1) || env.FORCE_COLOR !== undefined || env.OCLIF_COLUMNS || platform() === 'win32' || maybeWsl()) return false
  // oclif's directories (Config.dir): MACHINE_X_DIR, else $XDG_X_HOME/machine, else under $HOME.
  const home = env.HOME || homedir()
  const dir = (kind: 'config' | 'data', fallback: string) => env[`MACHINE_${kind.toUpperCase()}_DIR`] || `${env[`XDG_${kind.toUpperCase()}_HOME`] || `${home}/${fallback}`}/machine`
  return !existsSync(`${dir('config', '.config')}/theme.json`) && !existsSync(`${dir('data', '.local/share')}/package.json`)
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
