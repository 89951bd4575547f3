import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { serializeHost, type HostConfig } from '../core/host-config.js'
import { renderGoTemplate } from '../core/go-template.js'
import { loadNamedMachine } from '../services/each-machine.js'
import { SECRET_FIELDS } from '../store/store.js'

const REDACTED = '<redacted>'

// Imported docker-machine configs hold credentials in plain text under these names (and other
// drivers' spellings of them): never printed, whatever the output form.
const SECRET_LOOKING = /(secret|password|passwd|token|apikey|api_key|privatekeydata)$/i

const isSecret = (key: string): boolean => SECRET_FIELDS.has(key) || SECRET_LOOKING.test(key)

/** A copy of `v` with every secret-looking field that holds something replaced by "<redacted>". */
function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isSecret(k) && x !== '' && x !== null && x !== undefined ? REDACTED : redact(x)]))
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
