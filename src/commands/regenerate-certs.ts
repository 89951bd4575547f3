import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { confirm } from '../cli/confirm.js'
import { Progress } from '../cli/progress.js'
import { MachineError } from '../core/errors.js'
import { lockMachine } from '../store/lock.js'
import { checkCertsFor } from '../services/certs.js'
import { forEachMachine } from '../services/lifecycle.js'
import { provisionMachine } from '../services/provision.js'
import { capabilitiesOf } from '../driver-kit/contract.js'

export default class RegenerateCerts extends BaseCommand {
  static override summary = 'Make new TLS certificates for machines and restart their engines'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'do not ask for confirmation' }),
    'client-certs': Flags.boolean({ description: 'also make a new client certificate (the CA is kept)' }),
  }

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parseArgs(RegenerateCerts)
    if (!flags.force) {
      const question = 'Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): '
      if (!(await confirm({ question, refusal: 'Refusing to regenerate certificates without confirmation', flag: '-f', json: this.jsonEnabled() }))) return undefined
    }
    const o = { config: this.config, out: this.out }
    const done = await forEachMachine(this.store, argv as string[], o, async (m) => {
      if (!capabilitiesOf(m.def).ssh) throw new MachineError('not-supported', `machines of the ${m.host.DriverName} driver have no certificates`)
      const lock = await lockMachine(this.store.path, m.host.Name, 30_000)
      try {
        // The CA is kept (docker-machine's rule) and no key file is ever overwritten but the
        // client pair on --client-certs: a broken CA or client pair fails here, before the host
        // is touched, naming the files.
        await checkCertsFor(m.host, { forceClient: flags['client-certs'] })
        this.out.info(`Regenerating TLS certificates for "${m.host.Name}"`)
        await provisionMachine(this.store, m, {
          progress: new Progress(this.out, new AbortController().signal),
          log: (l) => this.out.debug(l),
          forceServerCert: true,
          forceClientCert: flags['client-certs'],
        })
        await this.store.save(m.host)
      } finally {
        await lock.release()
      }
    })
    return this.jsonEnabled() ? { regenerated: done.map((d) => d.name) } : undefined
  }
}
