import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { passphrase } from '../cli/passphrase.js'
import { programName } from '../core/program-name.js'
import { exportMachine } from '../share/share.js'

export default class Export extends BaseCommand {
  static override summary = 'Seal a machine into a passphrase-protected file, to use it from another computer'
  static override description =
    'The file holds the machine\'s config, its client certificate and key, the CA certificate, its SSH key and pinned host key, encrypted with AES-256-GCM under a key derived from the passphrase with scrypt. It never holds the store\'s CA key: on the other computer the machine is used, started and stopped, but new certificates for it are made here. VMs of this computer (qemu) cannot be exported.'
  static override examples = ['<%= config.bin %> export web1 -o web1.machine', '<%= config.bin %> export web1 -o web1.machine --passphrase-file ~/.secret', '<%= config.bin %> import web1.machine   # on the other computer']
  static override args = { name: Args.string({ required: true, description: 'machine to export' }) }
  static override flags = {
    output: Flags.string({ char: 'o', required: true, description: 'file to write (must not exist; written with mode 0600)' }),
    'passphrase-file': Flags.string({ description: 'read the passphrase from the first line of this file ("-": stdin) [default: $MACHINE_EXPORT_PASSPHRASE, else asked]' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Export)
    // The machine is checked before the passphrase is asked for: a typo costs no typing.
    await this.store.load(args.name)
    const secret = await passphrase({ file: flags['passphrase-file'], confirm: true, json: this.jsonEnabled() })
    const r = await exportMachine(this.store, args.name, flags.output, secret, { config: this.config })
    for (const w of r.warnings) this.out.note(`Warning: ${w}`)
    if (this.jsonEnabled()) return r
    this.out.info(`Exported "${r.name}" to ${r.file}. On the other computer: ${programName()} import ${r.file}`)
    return undefined
  }
}
