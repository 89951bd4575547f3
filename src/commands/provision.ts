import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { Progress } from '../cli/progress.js'
import { MachineError } from '../core/errors.js'
import { lockMachine } from '../store/lock.js'
import { forEachMachine } from '../services/lifecycle.js'
import { provisionMachine } from '../services/provision.js'
import { capabilitiesOf } from '../driver-kit/contract.js'

export default class Provision extends BaseCommand {
  static override summary = 'Re-run provisioning on machines (changes only what is not right)'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }

  async run(): Promise<unknown> {
    const { argv } = await this.parseArgs(Provision)
    const o = { config: this.config, out: this.out }
    const done = await forEachMachine(this.store, argv as string[], o, async (m) => {
      if (!capabilitiesOf(m.def).ssh) throw new MachineError('not-supported', `machines of the ${m.host.DriverName} driver are not provisioned`)
      const lock = await lockMachine(this.store.path, m.host.Name, 30_000)
      try {
        const r = await provisionMachine(this.store, m, { progress: new Progress(this.out, new AbortController().signal), log: (l) => this.out.debug(l) })
        await this.store.save(m.host)
        this.out.info(`${m.host.Name}: ${r.changed ? 'provisioned' : 'already up to date, nothing changed'}`)
        return r
      } finally {
        await lock.release()
      }
    })
    return this.jsonEnabled() ? done.map(({ name, result }) => ({ name, ...result })) : undefined
  }
}
