import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { parallelFlag } from '../cli/parallel-flag.js'
import { checkParallelFlag } from '../core/parallel.js'
import { forEachMachine } from '../services/each-machine.js'
import { reprovision } from '../services/provision.js'

export default class Provision extends BaseCommand {
  static override summary = 'Re-run provisioning on machines (changes only what is not right)'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }
  static override flags = parallelFlag

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parseArgs(Provision)
    const parallel = checkParallelFlag(flags.parallel)
    const o = { config: this.config, reporter: this.reporter }
    const done = await forEachMachine(this.store, argv as string[], o, async (m, mo) => {
      const r = await reprovision(this.store, m, mo)
      this.out.info(`${m.host.Name}: ${r.changed ? 'provisioned' : 'already up to date, nothing changed'}`)
      return r
    }, { parallel })
    return this.jsonEnabled() ? done.map(({ name, result }) => ({ name, ...result })) : undefined
  }
}
