import { BaseCommand } from '../cli/base.js'
import { LS_FLAGS } from '../cli/flag-spec.js'
import { lsRequest } from '../cli/ls-request.js'
import { oclifFlags } from '../cli/oclif-flags.js'
import { lsOutput } from '../services/ls.js'

export default class Ls extends BaseCommand {
  static override summary = 'List machines with their state, URL and Docker version'
  static override description =
    'Machines are probed in parallel, each bounded by --timeout (1 to 3600 seconds); a machine that cannot be reached shows its error in the ERRORS column instead of failing the listing. Filters on name, driver, label and swarm are applied before probing, so only the machines listed are contacted.'
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls --filter driver=qemu --filter state=Running', "<%= config.bin %> ls --format '{{.Name}}: {{.URL}}'"]
  static override flags = oclifFlags(LS_FLAGS)

  async run(): Promise<unknown> {
    const { flags } = await this.parseArgs(Ls)
    // Bad flags fail before the store is read (the fast path shares this: src/fast/run.ts).
    const request = lsRequest(flags)
    return this.answer(await lsOutput(this.store, request(await this.store.loadAll(), this.config)))
  }
}
