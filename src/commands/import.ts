import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { passphrase } from '../cli/passphrase.js'
import { programName } from '../core/program-name.js'
import { importMachine } from '../share/share.js'

export default class Import extends BaseCommand {
  static override summary = 'Add a machine exported on another computer to this store'
  static override description =
    'Opens a file written by "machine export" with its passphrase and adds the machine, its certificates, SSH key and pinned host key to this store. A machine of the same name is never replaced: pass --name to import it under another. New certificates for an imported machine are made on the computer that created it.'
  static override examples = ['<%= config.bin %> import web1.machine', '<%= config.bin %> import web1.machine --name web1-prod']
  static override args = { file: Args.string({ required: true, description: 'file written by "machine export"' }) }
  static override flags = {
    name: Flags.string({ description: 'name for the machine in this store [default: its name where it was exported]' }),
    'passphrase-file': Flags.string({ description: 'read the passphrase from the first line of this file ("-": stdin) [default: $MACHINE_EXPORT_PASSPHRASE, else asked]' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Import)
    const secret = await passphrase({ file: flags['passphrase-file'], confirm: false, json: this.jsonEnabled() })
    const r = await importMachine(this.store, args.file, secret, { rename: flags.name, config: this.config })
    if (this.jsonEnabled()) return r
    this.out.info(`Imported "${r.name}" (${r.driver}). To point your Docker client at it, run: eval "$(${programName()} env ${r.name})"`)
    return undefined
  }
}
