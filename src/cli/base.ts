import { Command, type Interfaces } from '@oclif/core'
import { resolveStorePath } from '../store/paths.js'
import { Store } from '../store/store.js'
import type { QueryOutput } from '../services/machine-queries.js'
import { GLOBAL_FLAGS } from './flag-spec.js'
import { oclifFlags } from './oclif-flags.js'
import { Output } from './output.js'
import { TerminalReporter } from './progress.js'
import { errorEnvelope, isDebugEnv, reportError, successEnvelope } from './render-error.js'

/** oclif's FlagOutput/ArgOutput (not exported): taking the command's Input keeps its flags typed. */
type Parsed = { [name: string]: any }

/**
 * Every command: the global flags (docker-machine's, accepted before or after the command
 * name), the --json envelope ({ok, command, data} / {ok:false, command, error}), one-line
 * errors with a non-zero exit, and --debug.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true
  static override baseFlags = oclifFlags(GLOBAL_FLAGS)

  private _out: Output | undefined
  private _reporter: TerminalReporter | undefined
  private _store: Store | undefined
  private _storagePathFlag: string | undefined
  private _debug = false

  /** Parse this command's flags, remembering the global ones. */
  protected async parseArgs<F extends Parsed, B extends Parsed, A extends Parsed>(cmd: Interfaces.Input<F, B, A>, argv?: string[]) {
    const parsed = await this.parse(cmd, argv)
    const f = parsed.flags as { 'storage-path'?: string; debug?: boolean }
    this._storagePathFlag = f['storage-path']
    this._debug = !!f.debug || isDebugEnv()
    return parsed
  }

  protected get out(): Output {
    return (this._out ??= new Output({ json: this.jsonEnabled(), debug: this._debug }))
  }

  /** What services report through: this command's output. */
  protected get reporter(): TerminalReporter {
    return (this._reporter ??= new TerminalReporter(this.out))
  }

  protected get store(): Store {
    return (this._store ??= new Store(resolveStorePath(this._storagePathFlag)))
  }

  /**
   * A command's answer from the service that both paths call (services/machine-queries.ts,
   * env-output.ts, ls.ts): its data for the --json envelope (run() returns it), else its text on
   * stdout, as src/fast/run.ts prints it.
   */
  protected answer(r: QueryOutput): unknown {
    if (this.jsonEnabled()) return r.json
    process.stdout.write(r.text)
    return undefined
  }

  protected override toSuccessJson(result: unknown): unknown {
    return successEnvelope(this.id, result)
  }

  /** The store this command used (or would have): error hints name --storage-path for paths in it. */
  private storePathForErrors(): string | undefined {
    try {
      return this._store?.path ?? resolveStorePath(this._storagePathFlag)
    } catch {
      return undefined
    }
  }

  protected override toErrorJson(err: unknown): unknown {
    return errorEnvelope(this.id, err, { storePath: this.storePathForErrors() })
  }

  protected override async catch(err: Error & { oclif?: { exit?: number } }): Promise<void> {
    // `--help`/`--version` arrive as exit "errors" from oclif: let them through.
    if (err.oclif?.exit === 0 || (err as { code?: string }).code === 'EEXIT') throw err
    // A usage error means parse() threw; without this oclif adds a developer warning
    // ("did not parse its arguments") when NODE_ENV is not production.
    this.parsed = true
    reportError(err, { json: this.jsonEnabled(), command: this.id, debug: this._debug, storePath: this.storePathForErrors() })
  }
}
