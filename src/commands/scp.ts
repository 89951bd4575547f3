import { spawnSync } from 'node:child_process'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { MachineError } from '../core/errors.js'
import { openMachine, requireSshAccess } from '../services/machine.js'
import { sshTarget } from '../services/provision.js'

export default class Scp extends BaseCommand {
  static override summary = 'Copy files between the local host and machines ([user@]NAME:path on either side)'
  static override examples = ['<%= config.bin %> scp ./app.conf dev:/tmp/app.conf', '<%= config.bin %> scp -r dev:/var/log/app ./logs']
  static override args = {
    source: Args.string({ required: true, description: '[[user@]NAME:]path' }),
    destination: Args.string({ required: true, description: '[[user@]NAME:]path' }),
  }
  static override flags = {
    recursive: Flags.boolean({ char: 'r', description: 'copy directories recursively' }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Scp)
    const ssh = await import('../ssh/index.js')
    const locations = [args.source, args.destination].map(ssh.parseScpLocation)
    const machines = [...new Set(locations.flatMap((l) => (l.remote ? [l.machine] : [])))]
    if (machines.length === 0) throw new MachineError('usage', 'Neither side names a machine', { hint: 'write one side as NAME:path' })
    // Every name through the store's check first: `m1:/a root@../certs:/b` fails on the bad
    // name, before anything connects to m1.
    for (const name of machines) this.store.dir(name)
    const targets: Record<string, ReturnType<typeof sshTarget>> = {}
    for (const name of machines) {
      const m = await openMachine(this.store, name, { config: this.config, log: { info: () => {}, debug: (l) => this.out.debug(l) } })
      requireSshAccess(m)
      targets[name] = sshTarget(this.store, name, await m.driver.sshInfo())
      await ssh.ensurePinnedForSystemSsh(targets[name], { timeoutMs: 20_000 })
      // Check the pin (and the login) ourselves, as mount does: a changed host key, a refused
      // key or an unreachable host is then our one-line error, not OpenSSH's banner.
      const user = locations.flatMap((l) => (l.remote && l.machine === name && l.user ? [l.user] : []))[0]
      ;(await ssh.connectSsh({ ...targets[name], ...(user ? { user } : {}) }, { timeoutMs: 20_000 })).close()
    }
    const argv = ssh.systemScpArgs(targets, { recursive: flags.recursive, quiet: flags.quiet }, args.source, args.destination)
    const r = spawnSync('scp', argv, { stdio: this.jsonEnabled() ? 'pipe' : 'inherit' })
    if (r.error) throw new MachineError('scp-missing', `Could not run scp: ${r.error.message}`, { hint: 'install the OpenSSH client (apt-get install openssh-client)' })
    if (r.status !== 0) throw new MachineError('scp-failed', `scp exited with code ${r.status}`, { exitCode: r.status ?? 1 })
    return this.jsonEnabled() ? { copied: true } : undefined
  }
}
