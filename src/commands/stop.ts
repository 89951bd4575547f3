import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { forEachMachine, runAction } from '../services/lifecycle.js'

export default class Stop extends BaseCommand {
  static override summary = 'Stop one or more machines (gracefully)'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }

  async run(): Promise<unknown> {
    const { argv } = await this.parseArgs(Stop)
    const o = { config: this.config, out: this.out }
    const done = await forEachMachine(this.store, argv as string[], o, (m) => runAction(this.store, m, 'stop', o))
    
    
    return this.jsonEnabled() ? { stop: done.map((d) => d.name) } : undefined
  }
}
