import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { envRequest } from '../cli/env-request.js'
import { ENV_FLAGS } from '../cli/flag-spec.js'
import { oclifFlags } from '../cli/oclif-flags.js'
import { envOutput } from '../services/env-output.js'

export default class Env extends BaseCommand {
  static override summary = 'Print the commands that point the docker client at a machine'
  static override description =
    'Prints shell commands that set DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_MACHINE_NAME. Run it through eval. It works from the saved config alone: it never contacts the machine, and it checks that the saved server certificate covers the machine address. With --context it sets DOCKER_CONTEXT to the machine\'s docker context instead (made if missing; docs/contexts.md).'
  static override examples = ['eval "$(<%= config.bin %> env dev)"', '<%= config.bin %> env --shell fish dev | source', 'eval "$(<%= config.bin %> env -u)"', 'eval "$(<%= config.bin %> env --context dev)"']
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }
  static override flags = oclifFlags(ENV_FLAGS)

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Env)
    return this.answer(await envOutput(this.store, envRequest(flags, args.name)))
  }
}
