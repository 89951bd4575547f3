import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base.js'
import { loadImages } from '../../services/swarm-load.js'

export default class SwarmLoad extends BaseCommand {
  static override summary = 'Put local images on every node of a swarm, with no registry (docker save → docker load)'
  static override description =
    'The images are saved from one engine and streamed, over each machine’s TLS connection, into the load of every other node of the swarm in this store, one node after another; nothing is held in memory. The source is --from, else the first manager of the swarm that has every image (the machine the swarm is named after first). A node that already has the same image ID is skipped; a node that fails (stopped, unreachable) is named, the others still get the images, and the command exits non-zero.'
  static override examples = ['<%= config.bin %> swarm load myapp:1.0', '<%= config.bin %> swarm load myapp:1.0 redis:7 --cluster s1', '<%= config.bin %> swarm load myapp:1.0 --from builder']
  static override strict = false
  static override args = { image: Args.string({ required: true, description: 'image (name:tag or ID); several may be given' }) }
  static override flags = {
    cluster: Flags.string({ description: 'a machine of the swarm to load into [default: the only swarm of this store]' }),
    from: Flags.string({ description: 'machine whose engine has the images [default: the first manager of the swarm that has them]' }),
  }

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parseArgs(SwarmLoad)
    const r = await loadImages(this.store, argv as string[], { cluster: flags.cluster, from: flags.from }, { reporter: this.reporter, config: this.config })
    if (this.jsonEnabled()) return r
    const loaded = r.nodes.filter((n) => n.result === 'loaded').length
    this.out.info(`${r.images.join(', ')} on every node of the swarm of "${r.cluster}" (${loaded} loaded, ${r.nodes.length - loaded} had ${r.images.length > 1 ? 'them' : 'it'})`)
    return undefined
  }
}
