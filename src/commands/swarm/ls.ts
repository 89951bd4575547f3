import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base.js'
import { tabwrite } from '../../core/ls-format.js'
import { listSwarmNodes } from '../../services/swarm.js'

export default class SwarmLs extends BaseCommand {
  static override summary = 'List the nodes of the swarms machines are in: machine, role, availability, status, engine version'
  static override description = 'Each swarm is asked through one of its managers that answers (the first by name that does).'
  static override examples = ['<%= config.bin %> swarm ls', '<%= config.bin %> swarm ls --cluster s1']
  static override flags = {
    cluster: Flags.string({ description: 'only the swarm this machine is in' }),
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parseArgs(SwarmLs)
    const rows = await listSwarmNodes(this.store, { cluster: flags.cluster }, { reporter: this.reporter, config: this.config })
    if (this.jsonEnabled()) return rows
    const lines = ['CLUSTER\tMACHINE\tROLE\tAVAILABILITY\tSTATUS\tENGINE\tADDRESS', ...rows.map((r) => [r.cluster, r.machine, r.role, r.availability, r.status, r.engine, r.address].join('\t'))]
    this.out.info(tabwrite(lines))
    return undefined
  }
}
