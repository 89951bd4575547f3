import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { parallelFlag } from '../cli/parallel-flag.js'
import { checkParallelFlag } from '../core/parallel.js'
import { confirm } from '../cli/confirm.js'
import { forEachMachine } from '../services/each-machine.js'
import { reprovision } from '../services/provision.js'

export default class RegenerateCerts extends BaseCommand {
  static override summary = 'Make new TLS certificates for machines and restart their engines'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'do not ask for confirmation' }),
    'client-certs': Flags.boolean({ description: 'also make a new client certificate (the CA is kept)' }),
    ...parallelFlag,
  }

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parseArgs(RegenerateCerts)
    const parallel = checkParallelFlag(flags.parallel)
    if (!flags.force) {
      const question = 'Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): '
      if (!(await confirm({ question, refusal: 'Refusing to regenerate certificates without confirmation', flag: '-f', json: this.jsonEnabled() }))) return undefined
    }
    const o = { config: this.config, reporter: this.reporter, regenerateCerts: { clientCerts: flags['client-certs'] } }
    const done = await forEachMachine(this.store, argv as string[], o, (m, mo) => reprovision(this.store, m, { ...o, ...mo }), { parallel })
    return this.jsonEnabled() ? { regenerated: done.map((d) => d.name) } : undefined
  }
}
