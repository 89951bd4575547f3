/**
 * `machine --help` (and `machine` alone) and `machine version`: answered from
 * dist/bundle/static-answers.json (scripts/static-answers.mjs writes it after the manifest)
 * without loading oclif, whose Config.load and CommonJS files made these starts ~5x bare Node
 * for a fixed text, and ~3x in a terminal (bench/cli-startup.mjs).
 * The help is oclif's own root help, kept by the build as printed without a terminal (80
 * columns, no colour) and taken apart (its sections and list rows), which are laid out here for
 * any other width and colours as oclif would (help-layout.ts; help-look.ts decides them).
 * Whatever could make oclif render it differently (FORCE_COLOR; OCLIF_COLUMNS; CI variables;
 * a theme.json; installed plugins, which add commands; WSL, which oclif names as the platform;
 * Windows) returns false and oclif answers as before.
 */
import { readFileSync } from 'node:fs'
import { arch, platform } from 'node:os'
import { successEnvelope } from '../cli/render-error.js'
import { writeStdout } from '../cli/stdio.js'
import { layOutRootHelp, type HelpLook, type RootHelpPart } from './help-layout.js'
import { rootHelpLook } from './help-look.js'
import { parseFlags } from './parse.js'
import { noArgumentOnStdin } from './stdin.js'

interface StaticAnswers {
  bin: string
  version: string
  /** oclif's root help at 80 columns without colour (no terminal), as printed. */
  rootHelp: string
}

/**
 * The root help's parts, for any other width or colours: a file of their own, which the other
 * answers do not read. Absent when the build found texts beyond what help-layout.ts lays out exactly.
 */
const ROOT_HELP_PARTS = '../dist/bundle/root-help-parts.json'

// Written by scripts/static-answers.mjs in place of the help's VERSION line (oclif's user agent).
export const USER_AGENT_MARK = '\u0000user-agent\u0000'

/** Answer `argv` (after the global flags were moved) if it is one of the fixed texts; false sends it to oclif. */
export async function answerStatic(argv: readonly string[], bin: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const isVersion = argv[0] === 'version'
  if (!isVersion && !(argv.length === 0 || (argv.length === 1 && argv[0] === '--help'))) return false
  const version = isVersion ? parseFlags(argv.slice(1), {}, 0, env) : undefined
  // `version NAME` is a machine's engine version, and oclif may find NAME on stdin.
  if (isVersion && (!version || !(await noArgumentOnStdin(env)))) return false
  const look = isVersion ? undefined : rootHelpLook(env)
  if (!isVersion && !look) return false
  let answers: StaticAnswers
  try {
    answers = JSON.parse(readFileSync(new URL('../dist/bundle/static-answers.json', bin), 'utf8')) as StaticAnswers
  } catch {
    return false // a build without it (tsc alone): oclif answers
  }
  if (version?.flags.json) await writeStdout(`${JSON.stringify(successEnvelope('version', { version: answers.version, node: process.versions.node }), null, 2)}\n`)
  else if (version) await writeStdout(`${answers.bin} version ${answers.version}\n`)
  else if (look) {
    const userAgent = `${answers.bin}/${answers.version} ${platform()}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}`
    // Laying the parts out costs ~0.5 ms on a start (nothing is optimized yet): not for the text the build kept.
    if (look.width === 80 && !look.bold) await writeStdout(answers.rootHelp.replace(USER_AGENT_MARK, userAgent))
    else {
      let parts: RootHelpPart[]
      try {
        parts = JSON.parse(readFileSync(new URL(ROOT_HELP_PARTS, bin), 'utf8')) as RootHelpPart[]
      } catch {
        return false // no parts: the build left the terminal's help to oclif (or a tsc-only build)
      }
      await writeStdout(rootHelpText(parts, userAgent, look))
    }
  }
  return true
}

/** The root help's parts as built, with oclif's user agent (config.userAgent) in its VERSION section. */
export function withUserAgent(parts: readonly RootHelpPart[], userAgent: string): RootHelpPart[] {
  return parts.map((part) => (typeof part !== 'string' && 'text' in part ? { ...part, text: part.text.map((l) => l.replace(USER_AGENT_MARK, userAgent)) } : part))
}

/** The root help's parts as built, with oclif's user agent, laid out. */
export function rootHelpText(parts: readonly RootHelpPart[], userAgent: string, look: HelpLook): string {
  return layOutRootHelp(withUserAgent(parts, userAgent), look)
}
