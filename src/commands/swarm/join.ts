import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base.js'
import { nodeAddressFlags } from '../../cli/swarm-flags.js'
import { joinSwarm } from '../../services/swarm.js'

export default class SwarmJoin extends BaseCommand {
  static override summary = "Join a machine to another machine's swarm, as a worker or a manager"
  static override description =
    'A manager of the swarm of --cluster that answers gives the join token over its TLS connection (it is never printed or stored), and the machine’s engine joins with it, advertising its address on the network the machines share. A cloud machine made without --swarm* first gets the swarm ports between the cluster’s machines opened, as create --swarm* opens them (unless --<driver>-swarm-ports=false was given at its create). A qemu VM made without --qemu-network is first put on the network of the swarm’s machines: a stopped one is started, a running one restarted with --restart.'
  static override examples = ['<%= config.bin %> swarm join s4 --cluster s1', '<%= config.bin %> swarm join s5 --cluster s1 --manager', '<%= config.bin %> swarm join s6 --cluster s1 --restart']
  static override args = { name: Args.string({ required: true, description: 'machine that joins' }) }
  static override flags = {
    cluster: Flags.string({ required: true, description: 'a machine of the swarm to join (its master, as the SWARM column of ls names it)' }),
    manager: Flags.boolean({ description: 'join as a manager (default: a worker)' }),
    ...nodeAddressFlags,
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(SwarmJoin)
    const r = await joinSwarm(this.store, args.name, { cluster: flags.cluster, manager: flags.manager, advertiseAddr: flags['advertise-addr'], restart: flags.restart }, { reporter: this.reporter, config: this.config })
    if (this.jsonEnabled()) return r
    this.out.info(`"${r.name}" joined the swarm of "${r.cluster}" as a ${r.manager ? 'manager' : 'worker'}`)
    return undefined
  }
}
