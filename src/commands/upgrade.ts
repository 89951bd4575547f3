import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { parallelFlag } from '../cli/parallel-flag.js'
import { checkParallelFlag } from '../core/parallel.js'
import { forEachMachine } from '../services/each-machine.js'
import { upgradeMachine } from '../services/upgrade.js'

export default class Upgrade extends BaseCommand {
  static override summary = 'Upgrade the Docker engine of machines to the newest version their package sources offer'
  static override description =
    'Starts a stopped machine first. On Debian and Ubuntu hosts the installed engine packages (docker-ce and its companions, ' +
    'or docker.io) are upgraded with apt-get, keeping configuration files; the engine is restarted only when a package changed, ' +
    'and its version is reported before and after. Machines are upgraded concurrently.'
  static override examples = ['<%= config.bin %> upgrade dev', '<%= config.bin %> upgrade web1 web2']
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }
  static override flags = parallelFlag

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parseArgs(Upgrade)
    const parallel = checkParallelFlag(flags.parallel)
    const o = { config: this.config, reporter: this.reporter }
    const done = await forEachMachine(this.store, argv as string[], o, (m, mo) => upgradeMachine(this.store, m, mo), { parallel })
    return this.jsonEnabled() ? done.map((d) => d.result) : undefined
  }
}
