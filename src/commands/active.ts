import { BaseCommand } from '../cli/base.js'
import { TIMEOUT_FLAG } from '../cli/flag-spec.js'
import { oclifFlags } from '../cli/oclif-flags.js'
import { programName } from '../core/program-name.js'
import { MachineError } from '../core/errors.js'
import { parseFilters } from '../core/ls-format.js'
import { checkTimeoutFlag } from '../core/timeout-flag.js'
import { activeContextMachine } from '../services/docker-context.js'
import { listMachines } from '../services/ls.js'

export default class Active extends BaseCommand {
  static override summary = 'Print the name of the machine docker talks to ($DOCKER_HOST, else its docker context)'
  static override flags = oclifFlags({ timeout: TIMEOUT_FLAG })

  async run(): Promise<unknown> {
    const { flags } = await this.parseArgs(Active)
    // Checked before anything else: a bad value is one line with the range, never a timer warning.
    const timeout = checkTimeoutFlag(flags.timeout as string | undefined)
    const dockerHost = process.env.DOCKER_HOST || undefined
    // Without DOCKER_HOST, the machine of docker's active context (DOCKER_CONTEXT, else config.json's currentContext).
    const contextMachine = dockerHost ? undefined : activeContextMachine(this.store, process.env)
    if (!dockerHost && !contextMachine) {
      throw new MachineError('no-active-host', 'No active host found: $DOCKER_HOST is not set and docker\'s context is none of this store\'s machines', {
        hint: `run eval "$(${programName()} env NAME)" or "${programName()} use NAME" first`,
      })
    }
    const rows = await listMachines(this.store, { config: this.config, timeoutMs: timeout * 1000, filters: parseFilters([]), dockerHost, contextMachine, probe: true })
    const active = rows.find((r) => r.ActiveHost)
    if (!active) {
      if (rows.some((r) => r.State === 'Timeout')) throw new MachineError('timeout', 'Error getting active host: timeout')
      throw new MachineError('no-active-host', 'No active host found', { hint: dockerHost ? `no running machine has the URL ${dockerHost}` : `"${contextMachine}" is not running` })
    }
    if (this.jsonEnabled()) return { name: active.Name, url: active.URL }
    this.out.info(active.Name)
    return undefined
  }
}
