import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { INSPECT_FLAGS } from '../cli/flag-spec.js'
import { oclifFlags } from '../cli/oclif-flags.js'
import { inspectOutput } from '../services/machine-queries.js'

export default class Inspect extends BaseCommand {
  static override summary = "Print a machine's configuration (config.json) as JSON"
  static override description = 'Credentials an imported docker-machine config may hold (SecretKey, Password, ClientSecret, tokens…) are shown as "<redacted>"; they are dropped from the file the next time it is saved.'
  static override examples = ['<%= config.bin %> inspect dev', "<%= config.bin %> inspect --format '{{.Driver.IPAddress}}' dev"]
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }
  static override flags = oclifFlags(INSPECT_FLAGS)

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Inspect)
    return this.answer(await inspectOutput(this.store, { name: args.name, format: flags.format }))
  }
}
