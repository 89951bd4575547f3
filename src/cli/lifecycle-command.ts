import { Args } from '@oclif/core'
import { forEachMachine, runAction, type Action } from '../services/lifecycle.js'
import { BaseCommand } from './base.js'

/** start/stop/restart/kill are one command shape with a different driver action. */
export function lifecycleCommand(action: Action, summary: string, after?: string) {
  return class extends BaseCommand {
    static override summary = summary
    static override strict = false
    static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }

    async run(): Promise<unknown> {
      const { argv } = await this.parseArgs(this.ctor as typeof BaseCommand)
      const o = { config: this.config, out: this.out }
      const done = await forEachMachine(this.store, argv as string[], o, (m) => runAction(this.store, m, action, o))
      if (after) this.out.info(after)
      return this.jsonEnabled() ? { [action]: done.map((d) => d.name) } : undefined
    }
  }
}
