import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { CONFIG_FLAGS } from '../cli/flag-spec.js'
import { oclifFlags } from '../cli/oclif-flags.js'
import { configOutput } from '../services/machine-queries.js'

export default class ConfigCmd extends BaseCommand {
  static override summary = 'Print the docker client flags for a machine'
  static override examples = ['docker $(<%= config.bin %> config dev) ps']
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }
  static override flags = oclifFlags(CONFIG_FLAGS)

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(ConfigCmd)
    return this.answer(await configOutput(this.store, { name: args.name, swarm: flags.swarm }))
  }
}
