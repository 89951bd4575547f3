import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { TIMEOUT_FLAG } from '../cli/flag-spec.js'
import { oclifFlags } from '../cli/oclif-flags.js'
import { checkTimeoutFlag } from '../core/timeout-flag.js'
import { doctor, renderDoctor } from '../services/doctor.js'

export default class Doctor extends BaseCommand {
  static override summary = 'Explain why docker cannot reach a machine, checking each layer in turn; changes nothing'
  static override description = [
    'Checks, in order: the store entry, the driver\'s state, the address and a local route to it, SSH (port, login, the pinned host key), the engine port, TLS (the CA, the client certificate, the certificate the engine presents: signed by the CA, valid now, covering the address), the engine\'s answer (/_ping, /version), its clock, and whether DOCKER_HOST / DOCKER_CONTEXT / DOCKER_CERT_PATH point at this machine.',
    'Each check prints one line: ✔ passed, ✖ failed (with a line saying the fix, and the command that applies it where there is one), – skipped because an earlier check it needs failed. Each check is bounded by --timeout. Nothing is written: not the store, not known_hosts, not docker\'s contexts.',
    'Exits 1 when any check failed. See docs/doctor.md.',
  ].join('\n\n')
  static override examples = ['<%= config.bin %> doctor dev', '<%= config.bin %> doctor dev --timeout 3 --json']
  static override args = { name: Args.string({ required: true, description: 'machine name' }) }
  static override flags = oclifFlags({ timeout: { ...TIMEOUT_FLAG, description: 'seconds to wait for each check (1 to 3600)' } })

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Doctor)
    // Checked before anything else: a bad value is one line with the range.
    const timeout = checkTimeoutFlag(flags.timeout as string | undefined)
    const report = await doctor(this.store, args.name, { config: this.config, env: process.env, timeoutMs: timeout * 1000 })
    if (!report.ok) process.exitCode = 1
    if (this.jsonEnabled()) return report
    process.stdout.write(renderDoctor(report))
    return undefined
  }
}
