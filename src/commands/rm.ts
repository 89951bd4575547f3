import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { confirm } from '../cli/confirm.js'
import { TerminalReporter } from '../cli/progress.js'
import { MachineError } from '../core/errors.js'
import { checkParallelFlag, settleAll } from '../core/parallel.js'
import { parallelFlag } from '../cli/parallel-flag.js'
import { removeMachine } from '../services/remove.js'

export default class Rm extends BaseCommand {
  static override summary = 'Remove machines: the host and everything the driver made, then the local entry'
  static override strict = false
  static override args = { names: Args.string({ description: 'machine names', required: true }) }
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'remove the local entry even if the driver fails to remove the host' }),
    y: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
    ...parallelFlag,
  }

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parseArgs(Rm)
    const names = argv as string[]
    const parallel = checkParallelFlag(flags.parallel)
    for (const n of names) if (!(await this.store.exists(n))) throw new MachineError('machine-not-found', `Machine "${n}" does not exist`, { hint: 'run "machine ls" to list machines' })
    if (!flags.y && !flags.force) {
      const refusal = `Refusing to remove ${names.join(', ')} without confirmation`
      const json = this.jsonEnabled()
      if (process.stdin.isTTY && !json) {
        this.out.info(`About to remove ${names.join(', ')}`)
        this.out.info('WARNING: This action will delete both local reference and remote instance.')
      }
      if (!(await confirm({ question: 'Are you sure? (y/n): ', refusal, flag: '-y', json }))) return undefined
    }
    // What -f forced past (an unreadable config, a driver that failed) is told with the machine's
    // outcome, in one line, instead of a warning followed by an unqualified success.
    const forced = new Map<string, string[]>()
    const onWarning = (n: string) => (w: string) => forced.set(n, [...(forced.get(n) ?? []), w])
    // Several machines: each one's lines and spinner are its own ("web1: …").
    const reporterFor = (n: string) => (names.length > 1 ? this.reporter.scoped(n, onWarning(n)) : new TerminalReporter(this.out, onWarning(n)))
    const results = await settleAll(names, parallel, (n) => removeMachine(this.store, n, { force: flags.force, reporter: reporterFor(n), config: this.config }))
    const errors = results.flatMap((r, i) => (r.status === 'rejected' ? [`${names[i]}: ${(r.reason as Error).message}`] : []))
    for (const [i, r] of results.entries()) {
      if (r.status !== 'fulfilled') continue
      const why = forced.get(names[i]!)
      this.out.info(`Successfully removed ${names[i]}${why ? ` (forced: ${why.join('; ')})` : ''}`)
    }
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    // One machine: its own error, with its own code and fix (e.g. it was removed meanwhile by
    // another rm: "does not exist", where "pass -f" would be no advice at all).
    if (names.length === 1 && failed[0]?.reason instanceof MachineError) throw failed[0].reason
    if (errors.length) throw new MachineError('remove-failed', errors.join('; '), { hint: 'fix the cause, or pass -f to remove the local entry anyway' })
    if (!this.jsonEnabled()) return undefined
    const removed = names.filter((_, i) => results[i]!.status === 'fulfilled')
    return forced.size ? { removed, forced: Object.fromEntries(forced) } : { removed }
  }
}

