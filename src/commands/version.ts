import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { engineVersion, readTls } from '../services/engine.js'
import { engineUrlOf, machineTlsFiles } from '../services/machine.js'

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
    const host = await this.store.load(args.name)
    const v = await engineVersion(engineUrlOf(host), await readTls(machineTlsFiles(this.store, args.name)), 20_000)
    if (this.jsonEnabled()) return { name: args.name, engineVersion: v }
    this.out.info(v)
    return undefined
  }
}
