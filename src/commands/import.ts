import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { passphrase } from '../cli/passphrase.js'
import { programName } from '../core/program-name.js'
import { MachineError } from '../core/errors.js'
import { refuseStrayFlag } from '../core/stray-flag.js'
import { importFromStore, importMachine } from '../share/share.js'

export default class Import extends BaseCommand {
  static override summary = 'Add a machine exported on another computer to this store'
  static override description =
    'Opens a file written by "machine export" with its passphrase and adds the machine, its certificates, SSH key and pinned host key to this store. A machine of the same name is never replaced: pass --name to import it under another. New certificates for an imported machine are made on the computer that created it.'
  static override examples = [
    '<%= config.bin %> import web1.machine',
    '<%= config.bin %> import web1.machine --name web1-prod',
    '<%= config.bin %> import --from-store ~/old/.docker/machine            # every machine of a docker-machine store',
    '<%= config.bin %> import --from-store ~/old/.docker/machine web1 web2',
  ]
  // With --from-store the arguments are machine names (several), else the one file.
  static override strict = false
  static override args = { file: Args.string({ description: 'file written by "machine export" (with --from-store: names of machines to take, default all)' }) }
  static override flags = {
    'from-store': Flags.string({ description: 'take machines from another store on this computer (a docker-machine 0.16 store or ours at another path) instead of a file' }),
    name: Flags.string({ description: 'name for the machine in this store [default: its name where it was exported]' }),
    'passphrase-file': Flags.string({ description: 'read the passphrase from the first line of this file ("-": stdin) [default: $MACHINE_EXPORT_PASSPHRASE, else asked]' }),
  }

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parseArgs(Import)
    const words = argv as string[]
    refuseStrayFlag(words, 'import')
    if (flags['from-store'] !== undefined) {
      if (flags.name) throw new MachineError('invalid-flags', '--name renames one imported file; machines from a store keep their names', { hint: 'import them, then create or remove as needed' })
      const done = await importFromStore(this.store, flags['from-store'], words, { config: this.config })
      if (this.jsonEnabled()) return done.map(({ name, driver }) => ({ name, driver }))
      for (const d of done) this.out.info(`Imported "${d.name}" (${d.driver}) from ${flags['from-store']}`)
      return undefined
    }
    if (words.length !== 1) throw new MachineError('invalid-arguments', words.length ? `import takes one file, got ${words.length}` : 'No file given', { hint: `"${programName()} import FILE", or --from-store DIR for another store's machines` })
    const args = { file: words[0]! }
    const secret = await passphrase({ file: flags['passphrase-file'], confirm: false, json: this.jsonEnabled() })
    const r = await importMachine(this.store, args.file, secret, { rename: flags.name, config: this.config })
    if (this.jsonEnabled()) return r
    this.out.info(`Imported "${r.name}" (${r.driver}). To point your Docker client at it, run: eval "$(${programName()} env ${r.name})"`)
    return undefined
  }
}
