import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { MachineError } from '../core/errors.js'
import { DOCKER_ENV_NAMES, detectShell, hintCommand, noProxyVar, renderEnv, shellStyle } from '../core/env-render.js'
import { programName } from '../cli/program.js'
import { checkEnvTarget } from '../services/env.js'
import { nameOrDefault } from '../services/machine.js'

export default class Env extends BaseCommand {
  static override summary = 'Print the commands that point the docker client at a machine'
  static override description =
    'Prints shell commands that set DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_MACHINE_NAME. Run it through eval. It works from the saved config alone: it never contacts the machine, and it checks that the saved server certificate covers the machine address.'
  static override examples = ['eval "$(<%= config.bin %> env dev)"', '<%= config.bin %> env --shell fish dev | source', 'eval "$(<%= config.bin %> env -u)"']
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }
  static override flags = {
    shell: Flags.string({ description: 'shell to write for: bash, sh, zsh, fish, powershell, cmd, tcsh, emacs [default: from $SHELL]' }),
    unset: Flags.boolean({ char: 'u', description: 'print commands that unset the variables instead' }),
    'no-proxy': Flags.boolean({ description: "add the machine's address to NO_PROXY (keeping existing entries)" }),
    swarm: Flags.boolean({ description: 'point at the swarm master endpoint (swarm masters only)' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Env)
    const shell = detectShell(flags.shell, process.env)
    shellStyle(shell) // reject an unknown shell before printing anything
    const command = hintCommand(programName(), process.argv.slice(2))
    if (flags.unset) {
      if (args.name) throw new MachineError('usage', 'Expected no machine name when the -u flag is present', { hint: `run "${programName()} env -u"` })
      const vars: Array<readonly [string, string | undefined]> = DOCKER_ENV_NAMES.map((k) => [k, undefined] as const)
      if (flags['no-proxy']) vars.push([process.env.no_proxy ? 'no_proxy' : 'NO_PROXY', undefined])
      if (this.jsonEnabled()) return { unset: vars.map(([k]) => k) }
      process.stdout.write(renderEnv({ shell, vars, command }))
      return undefined
    }
    const name = await nameOrDefault(this.store, args.name)
    const target = await checkEnvTarget(this.store, name, { swarm: flags.swarm })
    const vars: Array<readonly [string, string | undefined]> = [...target.vars]
    if (flags['no-proxy']) vars.push(noProxyVar(process.env, target.host))
    if (this.jsonEnabled()) return Object.fromEntries(vars)
    process.stdout.write(renderEnv({ shell, vars, command }))
    return undefined
  }
}
