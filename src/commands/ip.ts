import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { forEachMachine } from '../services/each-machine.js'

export default class Ip extends BaseCommand {
  static override summary = 'Print the IP address of one or more machines'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names (default: "default")' }) }

  async run(): Promise<unknown> {
    const { argv } = await this.parseArgs(Ip)
    const ips = await forEachMachine(this.store, argv as string[], { config: this.config, reporter: this.reporter }, async (m) => m.driver.ip())
    if (this.jsonEnabled()) return ips.map(({ name, result }) => ({ name, ip: result }))
    for (const { result } of ips) this.out.info(result)
    return undefined
  }
}
