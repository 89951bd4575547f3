import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { loadNamedMachine } from '../services/each-machine.js'
import { runningEngineUrl } from '../services/machine.js'

export default class Url extends BaseCommand {
  static override summary = "Print a machine's engine URL"
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }

  async run(): Promise<unknown> {
    const { args } = await this.parseArgs(Url)
    const host = await loadNamedMachine(this.store, args.name, 'url')
    const url = await runningEngineUrl(this.store, host, this.config)
    if (this.jsonEnabled()) return { name: host.Name, url }
    this.out.info(url)
    return undefined
  }
}
