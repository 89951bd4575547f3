import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { forEachMachine } from '../services/each-machine.js'
import { reprovision } from '../services/provision.js'

export default class Provision extends BaseCommand {
  static override summary = 'Re-run provisioning on machines (changes only what is not right)'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }

  async run(): Promise<unknown> {
    const { argv } = await this.parseArgs(Provision)
    const o = { config: this.config, reporter: this.reporter }
    const done = await forEachMachine(this.store, argv as string[], o, async (m) => {
      const r = await reprovision(this.store, m, o)
      this.out.info(`${m.host.Name}: ${r.changed ? 'provisioned' : 'already up to date, nothing changed'}`)
      return r
    })
    return this.jsonEnabled() ? done.map(({ name, result }) => ({ name, ...result })) : undefined
  }
}
