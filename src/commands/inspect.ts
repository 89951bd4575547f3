import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { serializeHost } from '../core/host-config.js'
import { renderGoTemplate } from '../core/go-template.js'
import { nameOrDefault } from '../services/machine.js'

export default class Inspect extends BaseCommand {
  static override summary = "Print a machine's configuration (config.json) as JSON"
  static override examples = ['<%= config.bin %> inspect dev', "<%= config.bin %> inspect --format '{{.Driver.IPAddress}}' dev"]
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }
  static override flags = { format: Flags.string({ char: 'f', description: 'Go-template-style format, e.g. {{.DriverName}} or {{json .Driver}}' }) }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Inspect)
    const name = await nameOrDefault(this.store, args.name, 'inspect')
    const host = await this.store.load(name)
    if (this.jsonEnabled()) return host
    if (flags.format) this.out.info(renderGoTemplate(flags.format, host))
    else this.out.info(serializeHost(host))
    return undefined
  }
}
