import { spawnSync } from 'node:child_process'
import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { openMachine, requireRunning, requireSshAccess } from '../services/machine.js'
import { sshTarget } from '../services/provision.js'

const hasSystemSsh = () => spawnSync('ssh', ['-V'], { stdio: 'ignore' }).status === 0

export default class Ssh extends BaseCommand {
  static override summary = 'Log into a machine with SSH, or run a command on it'
  static override description =
    'Without a command: an interactive shell with a terminal. With a command (after --): runs it and exits with its exit code. The host key is checked against the one pinned for this machine.'
  static override examples = ['<%= config.bin %> ssh dev', '<%= config.bin %> ssh dev -- uname -a']
  static override strict = false
  static override args = { name: Args.string({ required: true, description: 'machine name' }) }

  async run(): Promise<unknown> {
    const { args, argv } = await this.parseArgs(Ssh)
    const command = (argv as string[]).slice(1)
    const m = await openMachine(this.store, args.name, { config: this.config, log: { info: (l) => this.out.info(l), debug: (l) => this.out.debug(l) } })
    requireSshAccess(m)
    await requireRunning(m, 'run SSH command')
    const target = sshTarget(this.store, args.name, await m.driver.sshInfo())
    const ssh = await import('../ssh/index.js')
    if (command.length === 0 && process.stdin.isTTY && hasSystemSsh()) {
      // The system client gives the best interactive session (escape keys, agent, resize);
      // it is pinned to the same known_hosts with strict checking.
      await ssh.ensurePinnedForSystemSsh(target, { timeoutMs: 20_000 })
      const r = spawnSync('ssh', ssh.systemSshArgs(target), { stdio: 'inherit' })
      process.exitCode = r.status ?? 255
      return undefined
    }
    const session = await ssh.connectSsh(target, { timeoutMs: 20_000 })
    try {
      const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }
      const code = command.length === 0 ? await session.shell(io) : await session.execInteractive(command.join(' '), io)
      process.exitCode = code
    } finally {
      session.close()
    }
    return undefined
  }
}
