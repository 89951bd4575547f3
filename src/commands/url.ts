import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { MachineError } from '../core/errors.js'
import { machineState } from '../services/machine.js'
import { engineUrlOf, nameOrDefault } from '../services/machine.js'

export default class Url extends BaseCommand {
  static override summary = "Print a machine's engine URL"
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }

  async run(): Promise<unknown> {
    const { args } = await this.parseArgs(Url)
    const name = await nameOrDefault(this.store, args.name, 'url')
    const host = await this.store.load(name)
    const state = await machineState(this.store, host, this.config)
    if (state !== 'Running') throw new MachineError('not-running', `Machine "${name}" is not running (state: ${state || 'unknown'})`, { hint: `start it with "machine start ${name}"` })
    const url = engineUrlOf(host)
    if (this.jsonEnabled()) return { name, url }
    this.out.info(url)
    return undefined
  }
}
