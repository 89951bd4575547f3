import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { NO_FLAGS } from '../cli/flag-spec.js'
import { oclifFlags } from '../cli/oclif-flags.js'
import { ipOutput } from '../services/machine-queries.js'

export default class Ip extends BaseCommand {
  static override summary = 'Print the IP address of one or more machines'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }
  static override flags = oclifFlags(NO_FLAGS)

  async run(): Promise<unknown> {
    const { argv } = await this.parseArgs(Ip)
    return this.answer(await ipOutput(this.store, argv as string[], { config: this.config, reporter: this.reporter }))
  }
}
