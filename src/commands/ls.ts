import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { parseFilters, renderLs, DEFAULT_LS_FORMAT, compileFormat } from '../core/ls-format.js'
import { listMachines } from '../services/ls.js'

export default class Ls extends BaseCommand {
  static override summary = 'List machines with their state, URL and Docker version'
  static override description =
    'Machines are probed in parallel, each bounded by --timeout; a machine that cannot be reached shows its error in the ERRORS column instead of failing the listing.'
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls --filter driver=qemu --filter state=Running', "<%= config.bin %> ls --format '{{.Name}}: {{.URL}}'"]
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'print machine names only' }),
    filter: Flags.string({ multiple: true, description: 'filter: driver=, state=, name= (regexp), label=k=v, swarm= (repeatable)' }),
    timeout: Flags.integer({ char: 't', default: 10, description: 'seconds to wait for each machine' }),
    format: Flags.string({ char: 'f', description: 'Go-template-style format, e.g. "table {{.Name}}\\t{{.State}}"' }),
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parseArgs(Ls)
    const filters = parseFilters(flags.filter ?? [])
    const format = flags.format ?? DEFAULT_LS_FORMAT
    compileFormat(format) // a bad template fails before any machine is probed
    // -q without state-dependent filters needs no probing at all.
    const probe = !flags.quiet || filters.state.length > 0
    const rows = await listMachines(this.store, { config: this.config, timeoutMs: flags.timeout * 1000, filters, dockerHost: process.env.DOCKER_HOST, probe })
    if (this.jsonEnabled()) return rows.map(({ labels: _l, loadError: _e, ...r }) => r)
    if (flags.quiet) {
      const names = rows.filter((r) => !r.loadError).map((r) => r.Name).sort()
      this.out.raw(names.map((n) => `${n}\n`).join(''))
      return undefined
    }
    this.out.raw(renderLs(rows, format))
    return undefined
  }
}
