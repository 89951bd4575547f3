import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { detectShell, shellStyle, SHELLS, unsetLine } from '../core/env-render.js'
import { MachineError } from '../core/errors.js'
import { programName } from '../core/program-name.js'
import { unsetCurrentContext, useMachineContext } from '../services/docker-context.js'

export default class Use extends BaseCommand {
  static override summary = "Make a machine's docker context the docker CLI's current one"
  static override description =
    "Sets currentContext in the docker CLI's config.json ($DOCKER_CONFIG or ~/.docker), so plain \"docker\" commands in every terminal talk to the machine; the machine's context is made first if it is missing. --unset goes back to docker's \"default\" context. DOCKER_HOST, when set, overrides every context: the command says so and prints the line that unsets it. See docs/contexts.md."
  static override examples = ['<%= config.bin %> use dev', '<%= config.bin %> use --unset']
  static override args = { name: Args.string({ description: 'machine name' }) }
  static override flags = {
    unset: Flags.boolean({ char: 'u', description: 'go back to the docker CLI\'s "default" context' }),
    shell: Flags.string({ description: `shell to write the unset line for: ${SHELLS.join(', ')} [default: from $SHELL]` }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Use)
    if (flags.shell !== undefined) shellStyle(flags.shell)
    if (flags.unset && args.name) throw new MachineError('usage', 'Expected no machine name with --unset', { hint: `run "${programName()} use --unset"` })
    if (!flags.unset && !args.name) throw new MachineError('usage', 'Missing the machine name', { hint: `run "${programName()} use NAME", or "${programName()} use --unset" to go back to docker's default context` })
    const env = process.env
    if (flags.unset) await unsetCurrentContext(env)
    else await useMachineContext(this.store, args.name!, env)
    const context = args.name ?? 'default'
    if (this.jsonEnabled()) return { currentContext: context, overriddenBy: overrides(env, context, !!flags.unset) }
    this.out.info(`Current context is now "${context}"`)
    // docker takes DOCKER_HOST, then DOCKER_CONTEXT, over config.json: say which is in the way, and how to clear it.
    for (const k of overrides(env, context, !!flags.unset)) {
      this.out.note(`${k} is set${k === 'DOCKER_HOST' ? `, and overrides every context` : ` to "${env[k]}", and overrides the current context`}; unset it in this shell:`)
      this.out.note(unsetLine(shellFor(flags.shell, env), k))
    }
    return undefined
  }
}

/** The variables that make docker ignore config.json's currentContext in this shell. */
function overrides(env: NodeJS.ProcessEnv, context: string, unset: boolean): string[] {
  // Back to default: a DOCKER_HOST is what default means, so it is in nobody's way then.
  return [...(env.DOCKER_HOST && !unset ? ['DOCKER_HOST'] : []), ...(env.DOCKER_CONTEXT && env.DOCKER_CONTEXT !== context ? ['DOCKER_CONTEXT'] : [])]
}

/** --shell, else $SHELL's; a POSIX shell's line when neither says (the hint is still useful). */
function shellFor(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  try {
    const shell = detectShell(flag, env)
    shellStyle(shell)
    return shell
  } catch {
    return 'sh'
  }
}
