import { Args, Flags } from '@oclif/core'
import { forEachMachine } from '../services/each-machine.js'
import { runAction, type Action } from '../services/lifecycle.js'
import { BaseCommand } from './base.js'
import { programName } from '../core/program-name.js'
import { checkParallelFlag } from '../core/parallel.js'
import { parallelFlag } from './parallel-flag.js'

const done: Record<Action, string> = { start: 'started', stop: 'stopped', restart: 'restarted', kill: 'killed' }

/** `stop --save`: only for `stop`, and only drivers with the saveState capability (others refuse it by name). */
const saveFlag = {
  save: Flags.boolean({
    description: 'save the running VM\'s state (memory, devices) instead of powering it off, so that the next start resumes it in seconds (local VM drivers: qemu, virtualbox, hyperv, vmware)',
  }),
}

/** start/stop/restart/kill are one command shape with a different driver action. */
export function lifecycleCommand(action: Action, summary: string, o: { description?: string } = {}): typeof BaseCommand {
  return class extends BaseCommand {
    static override summary = summary
    static override description = o.description
    static override strict = false
    static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }
    static override flags = action === 'stop' ? { ...parallelFlag, ...saveFlag } : parallelFlag

    async run(): Promise<unknown> {
      const { argv, flags } = await this.parseArgs(this.ctor as typeof BaseCommand)
      const parallel = checkParallelFlag((flags as { parallel?: string }).parallel)
      const save = (flags as { save?: boolean }).save === true
      const o = { config: this.config, reporter: this.reporter, save }
      // Each machine's line as soon as it is done, while the others still work.
      const onDone = (name: string, result: unknown) => {
        this.out.info(`Machine "${name}" was ${save ? 'saved' : done[action]}.`)
        // Only a changed address (new certificates were made for it) makes the old env stale.
        if ((result as { addressChanged?: boolean }).addressChanged) this.out.info(`The address of "${name}" changed: run eval "$(${programName()} env ${name})" again`)
      }
      const results = await forEachMachine(this.store, argv as string[], o, (m, mo) => runAction(this.store, m, action, mo), { parallel, onDone })
      return this.jsonEnabled() ? { [action]: results.map((d) => d.name), addressChanged: results.filter((d) => d.result.addressChanged).map((d) => d.name) } : undefined
    }
  }
}
