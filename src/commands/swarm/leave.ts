import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base.js'
import { leaveMachine } from '../../services/swarm.js'

export default class SwarmLeave extends BaseCommand {
  static override summary = 'Take a machine out of its swarm: drain it, leave, and remove its node from the list'
  static override description =
    'Its tasks move to the other nodes first (drain), then its engine leaves and a manager removes its node, so "docker node ls" shows no Down leftover. The last manager of a swarm that still has other nodes leaves only with -f: those nodes are then without a cluster. A cloud machine’s swarm ports are closed unless another member still uses them.'
  static override examples = ['<%= config.bin %> swarm leave s3', '<%= config.bin %> swarm leave -f s1']
  static override args = { name: Args.string({ required: true, description: 'machine that leaves its swarm' }) }
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'leave even as the last manager of a swarm with other nodes' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(SwarmLeave)
    const r = await leaveMachine(this.store, args.name, { force: flags.force, drain: true }, { reporter: this.reporter, config: this.config })
    if (this.jsonEnabled()) return r
    this.out.info(`"${r.name}" left its swarm`)
    return undefined
  }
}
