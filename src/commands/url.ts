import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { NO_FLAGS } from '../cli/flag-spec.js'
import { oclifFlags } from '../cli/oclif-flags.js'
import { loadNamedMachine } from '../services/each-machine.js'
import { urlOutput } from '../services/machine-queries.js'

export default class Url extends BaseCommand {
  static override summary = "Print a machine's engine URL"
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }
  static override flags = oclifFlags(NO_FLAGS)

  async run(): Promise<unknown> {
    const { args } = await this.parseArgs(Url)
    return this.answer(await urlOutput(this.store, await loadNamedMachine(this.store, args.name, 'url'), this.config))
  }
}
