import { spawnSync } from 'node:child_process'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { MachineError } from '../core/errors.js'
import { openMachine } from '../services/machine.js'
import { sshTarget } from '../services/provision.js'

/** "NAME:path" → {machine, path}; "./x", "/x" and "C:\x" stay local. */
export function splitScpArg(a: string): { machine?: string; path: string } {
  const m = /^([a-zA-Z0-9][a-zA-Z0-9.-]*):(.*)$/.exec(a)
  if (!m || m[1]!.length === 1) return { path: a }
  if (m[1] === 'localhost') return { path: m[2]! }
  return { machine: m[1]!, path: m[2]! }
}

export default class Scp extends BaseCommand {
  static override summary = 'Copy files between the local host and machines (NAME:path on either side)'
  static override examples = ['<%= config.bin %> scp ./app.conf dev:/tmp/app.conf', '<%= config.bin %> scp -r dev:/var/log/app ./logs']
  static override args = {
    source: Args.string({ required: true, description: '[NAME:]path' }),
    destination: Args.string({ required: true, description: '[NAME:]path' }),
  }
  static override flags = {
    recursive: Flags.boolean({ char: 'r', description: 'copy directories recursively' }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Scp)
    const src = splitScpArg(args.source)
    const dst = splitScpArg(args.destination)
    const machine = src.machine ?? dst.machine
    if (!machine) throw new MachineError('usage', 'Neither side names a machine', { hint: 'write one side as NAME:path' })
    if (src.machine && dst.machine && src.machine !== dst.machine) {
      throw new MachineError('usage', 'Copying between two machines is not supported', { hint: 'copy to the local host first' })
    }
    const m = await openMachine(this.store, machine, { config: this.config, log: { info: () => {}, debug: (l) => this.out.debug(l) } })
    if (m.def.provisions === false) throw new MachineError('not-supported', `Machine "${machine}" (driver ${m.host.DriverName}) has no SSH access`)
    const target = sshTarget(this.store, machine, await m.driver.sshInfo())
    const ssh = await import('../ssh/index.js')
    const argv = ssh.systemScpArgs(target, { recursive: flags.recursive, quiet: flags.quiet }, args.source, args.destination)
    const r = spawnSync('scp', argv, { stdio: this.jsonEnabled() ? 'pipe' : 'inherit' })
    if (r.error) throw new MachineError('scp-missing', `Could not run scp: ${r.error.message}`, { hint: 'install the OpenSSH client (apt-get install openssh-client)' })
    if (r.status !== 0) throw new MachineError('scp-failed', `scp exited with code ${r.status}`, { exitCode: r.status ?? 1 })
    return this.jsonEnabled() ? { copied: true } : undefined
  }
}
