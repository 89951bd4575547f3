import { Command, Flags, Interfaces } from '@oclif/core'
import { MachineError, messageOf } from '../core/errors.js'
import { resolveStorePath } from '../store/paths.js'
import { Store } from '../store/store.js'
import { Output } from './output.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/**
 * Every command: the global flags (docker-machine's, accepted before or after the command
 * name), the --json envelope ({ok, command, data} / {ok:false, command, error}), one-line
 * errors with a non-zero exit, and --debug.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'storage-path': Flags.string({
      char: 's',
      env: 'MACHINE_STORAGE_PATH',
      helpGroup: 'GLOBAL',
      description: 'Store directory [default: ~/.docker/machine]',
    }),
    debug: Flags.boolean({ char: 'D', helpGroup: 'GLOBAL', description: 'Show debug output' }),
    'tls-ca-cert': Flags.string({ env: 'MACHINE_TLS_CA_CERT', helpGroup: 'GLOBAL', description: 'CA to verify remotes against' }),
    'tls-ca-key': Flags.string({ env: 'MACHINE_TLS_CA_KEY', helpGroup: 'GLOBAL', description: 'Private key to generate certificates' }),
    'tls-client-cert': Flags.string({ env: 'MACHINE_TLS_CLIENT_CERT', helpGroup: 'GLOBAL', description: 'Client cert to use for TLS' }),
    'tls-client-key': Flags.string({ env: 'MACHINE_TLS_CLIENT_KEY', helpGroup: 'GLOBAL', description: 'Private key used in client TLS auth' }),
  }

  private _out: Output | undefined
  private _store: Store | undefined
  private _storagePathFlag: string | undefined
  private _debug = false

  /** Parse this command's flags, remembering the global ones. */
  protected async parseArgs<T extends typeof BaseCommand>(cmd: T, argv?: string[]) {
    const parsed = await this.parse(cmd, argv)
    const f = parsed.flags as { 'storage-path'?: string; debug?: boolean }
    this._storagePathFlag = f['storage-path']
    this._debug = !!f.debug || /^(1|true|yes)$/i.test(process.env.MACHINE_DEBUG ?? '')
    return parsed
  }

  protected get out(): Output {
    return (this._out ??= new Output({ json: this.jsonEnabled(), debug: this._debug }))
  }

  protected get store(): Store {
    return (this._store ??= new Store(resolveStorePath(this._storagePathFlag)))
  }

  protected get isDebug(): boolean {
    return this._debug
  }

  protected override toSuccessJson(result: unknown): unknown {
    return { ok: true, command: this.id, data: result }
  }

  protected override toErrorJson(err: unknown): unknown {
    const e = err as Partial<MachineError> & { oclif?: { exit?: number } }
    return {
      ok: false,
      command: this.id,
      error: {
        code: e instanceof MachineError ? e.code : e.oclif ? 'usage' : 'error',
        message: e instanceof MachineError ? e.message : firstLine(messageOf(err)),
        ...(e instanceof MachineError && e.hint ? { hint: e.hint } : {}),
      },
    }
  }

  /** One line on stderr (or the JSON envelope on stdout), a non-zero exit, never a stack trace. */
  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    // `--help`/`--version` arrive as exit "errors" from oclif: let them through.
    if (err.oclif?.exit === 0 || (err as { code?: string }).code === 'EEXIT') throw err
    process.exitCode = err instanceof MachineError ? err.exitCode : (err.oclif?.exit ?? 1)
    if (process.exitCode === 0) process.exitCode = 1
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(err))
      return
    }
    const line = err instanceof MachineError ? err.line : firstLine(messageOf(err))
    process.stderr.write(`Error: ${line}\n`)
    if (this._debug && !(err instanceof MachineError) && err.stack) process.stderr.write(`${err.stack}\n`)
  }
}

const firstLine = (s: string): string => {
  // oclif's parse errors span several lines ("Nonexistent flag: --x\nSee more help with --help").
  const lines = s.split('\n').map((l) => l.trim()).filter(Boolean)
  return lines.join(' ').replace(/\s+/g, ' ')
}
