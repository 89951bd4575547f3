import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { serializeHost, type HostConfig } from '../core/host-config.js'
import { renderGoTemplate } from '../core/go-template.js'
import { loadNamedMachine } from '../services/each-machine.js'
import { isSecretField } from '../core/secrets.js'

const REDACTED = '<redacted>'

/**
 * A copy of `v` with every credential field (core/secrets.ts, the rule the store drops them by on
 * save) that holds something replaced by "<redacted>", whatever the output form.
 */
function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isSecretField(k) && x !== '' && x !== null && x !== undefined ? REDACTED : redact(x)]))
}

export default class Inspect extends BaseCommand {
  static override summary = "Print a machine's configuration (config.json) as JSON"
  static override description = 'Credentials an imported docker-machine config may hold (SecretKey, Password, ClientSecret, tokens…) are shown as "<redacted>"; they are dropped from the file the next time it is saved.'
  static override examples = ['<%= config.bin %> inspect dev', "<%= config.bin %> inspect --format '{{.Driver.IPAddress}}' dev"]
  static override args = { name: Args.string({ description: 'machine name (default: "default")' }) }
  static override flags = { format: Flags.string({ char: 'f', description: 'Go-template-style format, e.g. {{.DriverName}} or {{json .Driver}}' }) }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Inspect)
    const host = redact(await loadNamedMachine(this.store, args.name, 'inspect')) as HostConfig
    if (this.jsonEnabled()) return host
    if (flags.format) this.out.info(renderGoTemplate(flags.format, host))
    else this.out.info(serializeHost(host))
    return undefined
  }
}
