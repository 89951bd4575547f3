import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { loadNamedMachine } from '../services/each-machine.js'
import { machineEngineVersion } from '../services/engine-version.js'

export default class Version extends BaseCommand {
  static override summary = "Print machine's version, or a machine's Docker engine version"
  static override args = { name: Args.string({ description: 'machine name: print its engine version' }) }

  async run(): Promise<unknown> {
    const { args } = await this.parseArgs(Version)
    if (!args.name) {
      const v = `${this.config.bin} version ${this.config.version}`
      if (this.jsonEnabled()) return { version: this.config.version, node: process.versions.node }
      this.out.info(v)
      return undefined
    }
    const host = await loadNamedMachine(this.store, args.name, 'version')
    const v = await machineEngineVersion(this.store, host)
    const name = host.Name
    if (this.jsonEnabled()) return { name, engineVersion: v }
    this.out.info(v)
    return undefined
  }
}
