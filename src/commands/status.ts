import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { loadNamedMachine } from '../services/each-machine.js'
import { machineState } from '../services/machine.js'

export default class Status extends BaseCommand {
  static override summary = 'Print the state of a machine (Running, Stopped, …)'
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }

  async run(): Promise<unknown> {
    const { args } = await this.parseArgs(Status)
    const host = await loadNamedMachine(this.store, args.name, 'status')
    const state = await machineState(this.store, host, this.config)
    if (this.jsonEnabled()) return { name: host.Name, state }
    this.out.info(state)
    return undefined
  }
}
