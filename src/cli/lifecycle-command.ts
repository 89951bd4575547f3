import { Args } from '@oclif/core'
import { forEachMachine } from '../services/each-machine.js'
import { runAction, type Action } from '../services/lifecycle.js'
import { BaseCommand } from './base.js'
import { programName } from '../core/program-name.js'

const done: Record<Action, string> = { start: 'started', stop: 'stopped', restart: 'restarted', kill: 'killed' }

/** start/stop/restart/kill are one command shape with a different driver action. */
export function lifecycleCommand(action: Action, summary: string): typeof BaseCommand {
  return class extends BaseCommand {
    static override summary = summary
    static override strict = false
    static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }

    async run(): Promise<unknown> {
      const { argv } = await this.parseArgs(this.ctor as typeof BaseCommand)
      const o = { config: this.config, reporter: this.reporter }
      const results = await forEachMachine(this.store, argv as string[], o, (m) => runAction(this.store, m, action, o))
      for (const r of results) {
        this.out.info(`Machine "${r.name}" was ${done[action]}.`)
        // Only a changed address (new certificates were made for it) makes the old env stale.
        if (r.result.addressChanged) this.out.info(`The address of "${r.name}" changed: run eval "$(${programName()} env ${r.name})" again`)
      }
      return this.jsonEnabled() ? { [action]: results.map((d) => d.name), addressChanged: results.filter((d) => d.result.addressChanged).map((d) => d.name) } : undefined
    }
  }
}
