import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { forEachMachine, runAction } from '../services/lifecycle.js'

export default class Restart extends BaseCommand {
  static override summary = 'Restart one or more machines'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }

  async run(): Promise<unknown> {
    const { argv } = await this.parseArgs(Restart)
    const o = { config: this.config, out: this.out }
    const done = await forEachMachine(this.store, argv as string[], o, (m) => runAction(this.store, m, 'restart', o))
    
    this.out.info('Restarted machines may have new IP addresses. You may need to re-run the `machine env` command.')
    return this.jsonEnabled() ? { restart: done.map((d) => d.name) } : undefined
  }
}
