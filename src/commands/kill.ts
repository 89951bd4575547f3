import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { forEachMachine, runAction } from '../services/lifecycle.js'

export default class Kill extends BaseCommand {
  static override summary = 'Kill (force stop) one or more machines'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }

  async run(): Promise<unknown> {
    const { argv } = await this.parseArgs(Kill)
    const o = { config: this.config, out: this.out }
    const done = await forEachMachine(this.store, argv as string[], o, (m) => runAction(this.store, m, 'kill', o))
    
    
    return this.jsonEnabled() ? { kill: done.map((d) => d.name) } : undefined
  }
}
