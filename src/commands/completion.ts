import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { COMPLETION_SHELLS } from '../completion/complete.js'
import { templatesDir } from '../provision/engine-config.js'

export default class Completion extends BaseCommand {
  static override summary = 'Print the shell script that completes commands, flags, drivers and machine names'
  static override description =
    'Completes commands, flags, flag choices (drivers, shells, --filter keys), and the names of the machines in the store. Each Tab runs a quick query of the store listing; no cloud is contacted.'
  static override examples = [
    'source <(<%= config.bin %> completion bash)',
    '<%= config.bin %> completion bash > ~/.local/share/bash-completion/completions/<%= config.bin %>',
    '<%= config.bin %> completion zsh > "${fpath[1]}/_<%= config.bin %>"',
    '<%= config.bin %> completion fish > ~/.config/fish/completions/<%= config.bin %>.fish',
    '<%= config.bin %> completion powershell | Out-String | Invoke-Expression',
  ]
  static override args = { shell: Args.string({ description: 'shell to complete in', required: true, options: [...COMPLETION_SHELLS] }) }

  async run(): Promise<unknown> {
    const { args } = await this.parseArgs(Completion)
    const bin = this.config.bin
    // The script names shell functions after the program: only characters every shell accepts there.
    const script = readFileSync(join(templatesDir(), 'completion', args.shell), 'utf8')
      .replaceAll('{{bin}}', bin)
      .replaceAll('{{fn}}', bin.replace(/[^A-Za-z0-9_]/g, '_'))
    if (this.jsonEnabled()) return { shell: args.shell, script }
    this.out.raw(script)
    return undefined
  }
}
