import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { NO_FLAGS } from '../cli/flag-spec.js'
import { oclifFlags } from '../cli/oclif-flags.js'
import { loadNamedMachine } from '../services/each-machine.js'
import { statusOutput } from '../services/machine-queries.js'

export default class Status extends BaseCommand {
  static override summary = 'Print the state of a machine (Running, Stopped, …)'
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }
  static override flags = oclifFlags(NO_FLAGS)

  async run(): Promise<unknown> {
    const { args } = await this.parseArgs(Status)
    return this.answer(await statusOutput(this.store, await loadNamedMachine(this.store, args.name, 'status'), this.config))
  }
}
