import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base.js'
import { nodeAddressFlags } from '../../cli/swarm-flags.js'
import { programName } from '../../core/program-name.js'
import { initSwarm } from '../../services/swarm.js'

export default class SwarmInit extends BaseCommand {
  static override summary = 'Start a swarm (swarm mode) with a machine as its first manager'
  static override description =
    "Asks the machine's engine, over its TLS connection, to start a swarm advertising the machine's address on the network the machines share (the driver's cluster address, else its IP; never a NAT address every VM has). A cloud machine made without --swarm* first gets the swarm ports between the cluster’s machines opened, as create --swarm* opens them; a qemu VM made without --qemu-network is first put on the default network (a stopped one is started, a running one restarted with --restart). Other machines join with \"swarm join NAME --cluster MASTER\"."
  static override examples = ['<%= config.bin %> swarm init s1', '<%= config.bin %> swarm init s1 --advertise-addr 192.168.76.2', '<%= config.bin %> swarm init s4 --restart']
  static override args = { name: Args.string({ required: true, description: 'machine that becomes the swarm manager' }) }
  static override flags = nodeAddressFlags

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(SwarmInit)
    const r = await initSwarm(this.store, args.name, { advertiseAddr: flags['advertise-addr'], restart: flags.restart }, { reporter: this.reporter, config: this.config })
    if (this.jsonEnabled()) return r
    this.out.info(`"${r.name}" is the manager of a new swarm, advertised at ${r.advertiseAddr}:2377`)
    this.out.info(`Add machines with "${programName()} swarm join NAME --cluster ${r.name}"; point docker at it with: eval "$(${programName()} env --swarm ${r.name})"`)
    return undefined
  }
}
