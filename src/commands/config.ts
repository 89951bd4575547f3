import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { checkEnvTarget } from '../services/env.js'
import { nameOrDefault } from '../services/each-machine.js'
import { machineTlsFiles } from '../services/machine.js'

/** Go's %q for the paths, as docker-machine prints them. */
const q = (s: string) => JSON.stringify(s)

export default class ConfigCmd extends BaseCommand {
  static override summary = 'Print the docker client flags for a machine'
  static override examples = ['docker $(<%= config.bin %> config dev) ps']
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }
  static override flags = { swarm: Flags.boolean({ description: "use a manager of the machine's swarm that accepts connections" }) }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(ConfigCmd)
    const name = await nameOrDefault(this.store, args.name, 'config')
    const t = await checkEnvTarget(this.store, name, { swarm: flags.swarm })
    const f = machineTlsFiles(this.store, name)
    if (this.jsonEnabled()) return { tlsverify: true, tlscacert: f.ca, tlscert: f.cert, tlskey: f.key, host: t.url }
    process.stdout.write(`--tlsverify\n--tlscacert=${q(f.ca)}\n--tlscert=${q(f.cert)}\n--tlskey=${q(f.key)}\n-H=${t.url}\n`)
    return undefined
  }
}
