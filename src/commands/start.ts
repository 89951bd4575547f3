import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { forEachMachine, runAction } from '../services/lifecycle.js'

export default class Start extends BaseCommand {
  static override summary = 'Start one or more machines'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }

  async run(): Promise<unknown> {
    const { argv } = await this.parseArgs(Start)
    const o = { config: this.config, out: this.out }
    const done = await forEachMachine(this.store, argv as string[], o, (m) => runAction(this.store, m, 'start', o))
    this.out.info('Started machines may have new IP addresses. You may need to re-run the `machine env` command.')
    
    return this.jsonEnabled() ? { start: done.map((d) => d.name) } : undefined
  }
}
