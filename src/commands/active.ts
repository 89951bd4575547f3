import { BaseCommand } from '../cli/base.js'
import { ACTIVE_FLAGS } from '../cli/flag-spec.js'
import { oclifFlags } from '../cli/oclif-flags.js'
import { activeOutput, activeTarget } from '../services/machine-queries.js'

export default class Active extends BaseCommand {
  static override summary = 'Print the name of the machine docker talks to ($DOCKER_HOST, else its docker context)'
  static override flags = oclifFlags(ACTIVE_FLAGS)

  async run(): Promise<unknown> {
    const { flags } = await this.parseArgs(Active)
    return this.answer(await activeOutput(this.store, await activeTarget(this.store, flags.timeout, process.env), { config: this.config }))
  }
}
