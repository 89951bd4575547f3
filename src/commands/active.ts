import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { MachineError } from '../core/errors.js'
import { parseFilters } from '../core/ls-format.js'
import { listMachines } from '../services/ls.js'

export default class Active extends BaseCommand {
  static override summary = 'Print the name of the machine $DOCKER_HOST points at'
  static override flags = { timeout: Flags.integer({ char: 't', default: 10, description: 'seconds to wait for each machine' }) }

  async run(): Promise<unknown> {
    const { flags } = await this.parseArgs(Active)
    const dockerHost = process.env.DOCKER_HOST
    if (!dockerHost) throw new MachineError('no-active-host', 'No active host found: $DOCKER_HOST is not set', { hint: 'run eval "$(machine env NAME)" first' })
    const rows = await listMachines(this.store, { config: this.config, timeoutMs: flags.timeout * 1000, filters: parseFilters([]), dockerHost, probe: true })
    const active = rows.find((r) => r.ActiveHost)
    if (!active) {
      if (rows.some((r) => r.State === 'Timeout')) throw new MachineError('timeout', 'Error getting active host: timeout')
      throw new MachineError('no-active-host', 'No active host found', { hint: `no running machine has the URL ${dockerHost}` })
    }
    if (this.jsonEnabled()) return { name: active.Name, url: active.URL }
    this.out.info(active.Name)
    return undefined
  }
}
