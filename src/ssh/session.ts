import { constants as osConstants } from 'node:os'
import { StringDecoder } from 'node:string_decoder'
import type { Client, ClientChannel, PseudoTtyOptions, SFTPWrapper } from 'ssh2'
import { MachineError } from '../core/errors.js'
import { SshCommandError } from './errors.js'

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

export interface ExecOptions {
  stdin?: string | Buffer
  onStdout?: (s: string) => void
  onStderr?: (s: string) => void
  timeoutMs?: number
}

export interface InteractiveIo {
  stdin: NodeJS.ReadStream
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
}

export interface SshSession {
  /** Run a command; resolves with its exit code and output whatever the code. stdin is closed after `stdin` (or at once). */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>
  /** Run a command; resolves with stdout, throws SshCommandError on a non-zero exit. */
  run(command: string, opts?: { stdin?: string | Buffer; timeoutMs?: number }): Promise<string>
  /** Write a file over SFTP; the mode is set before any data is written (default 0o644). */
  upload(remotePath: string, data: string | Buffer, mode?: number): Promise<void>
  download(remotePath: string): Promise<Buffer>
  /** Interactive login shell; a pty sized like the terminal when stdin is a TTY. Resolves with its exit code. */
  shell(io: InteractiveIo): Promise<number>
  /** A command with stdio passed through (pty when stdin is a TTY). Resolves with its exit code. */
  execInteractive(command: string, io: InteractiveIo): Promise<number>
  close(): void
}

/**
 * Ask sshd to SIGKILL the channel's command. ssh2's Channel.signal() sends nothing once we sent
 * EOF (every exec here ends stdin at once, like `ssh -n`), yet RFC 4254 allows the request
 * until the channel is closed: so send it through the protocol object directly when that is
 * there, else fall back to signal().
 */
function killRemote(stream: ClientChannel): void {
  const ch = stream as unknown as { outgoing?: { id?: number; state?: string }; _client?: { _protocol?: { signal?(id: number, name: string): void } } }
  try {
    const protocol = ch._client?._protocol
    const id = ch.outgoing?.id
    if (protocol?.signal && id !== undefined && (ch.outgoing?.state === 'open' || ch.outgoing?.state === 'eof')) protocol.signal(id, 'KILL')
    else stream.signal('KILL')
  } catch {
    // the connection is already gone: nothing to ask
  }
}

/** Remote exit status like OpenSSH reports it: the code, or 128+signal for a killed command. */
function exitStatus(code: number | null | undefined, signal: string | undefined): number | undefined {
  if (typeof code === 'number') return code
  if (signal) {
    // ssh2 reports "SIGTERM" (it prefixes the protocol's "TERM").
    const n = (osConstants.signals as Record<string, number | undefined>)[signal.startsWith('SIG') ? signal : `SIG${signal}`]
    return n === undefined ? 255 : 128 + n
  }
  return undefined
}

const SFTP_WRITE_CHUNK = 32 * 1024
const SFTP_WRITES_IN_FLIGHT = 8

export class Ssh2Session implements SshSession {
  private sftpPromise: Promise<SFTPWrapper> | undefined
  private closed = false
  /** Open exec/shell channels, so close() can stop their commands. */
  private readonly channels = new Set<ClientChannel>()
  private lostReason: string | undefined

  constructor(
    private readonly client: Client,
    private readonly where: string,
    log: (line: string) => void,
  ) {
    // After `ready` an error or a dropped connection must not crash the process; the next call
    // reports it instead.
    client.on('error', (e: Error) => {
      this.lostReason = e.message
      log(`ssh: connection to ${where} failed: ${e.message}`)
    })
    client.on('close', () => {
      this.closed = true
      this.sftpPromise = undefined
    })
  }

  private lost(cause?: unknown): MachineError {
    const why = this.lostReason ?? (cause instanceof Error ? cause.message : 'connection closed')
    return new MachineError('ssh-connection-lost', `SSH connection to ${this.where} was lost: ${why}`, { cause })
  }

  private openChannel(kind: 'exec' | 'shell', command: string, pty: PseudoTtyOptions | false): Promise<ClientChannel> {
    if (this.closed) return Promise.reject(this.lost())
    return new Promise((resolve, reject) => {
      const cb = (err: Error | undefined, stream: ClientChannel): void => {
        if (err) {
          reject(this.closed ? this.lost(err) : new MachineError('ssh-channel-failed', `cannot open an SSH ${kind} channel on ${this.where}: ${err.message}`, { cause: err }))
        } else {
          this.channels.add(stream)
          stream.once('close', () => this.channels.delete(stream))
          resolve(stream)
        }
      }
      try {
        if (kind === 'shell') this.client.shell(pty, cb)
        else if (pty) this.client.exec(command, { pty }, cb)
        else this.client.exec(command, cb)
      } catch (e) {
        reject(this.lost(e))
      }
    })
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const stream = await this.openChannel('exec', command, false)
    return new Promise<ExecResult>((resolve, reject) => {
      const out = new StringDecoder('utf8')
      const err = new StringDecoder('utf8')
      let stdout = ''
      let stderr = ''
      let status: number | undefined
      let timer: NodeJS.Timeout | undefined
      let settled = false
      const onOut = (chunk: Buffer): void => {
        const s = out.write(chunk)
        stdout += s
        if (s) opts.onStdout?.(s)
      }
      const onErr = (chunk: Buffer): void => {
        const s = err.write(chunk)
        stderr += s
        if (s) opts.onStderr?.(s)
      }
      stream.on('data', onOut)
      stream.stderr.on('data', onErr)
      stream.on('exit', (code: number | null, signal?: string) => {
        status = exitStatus(code, signal)
      })
      // ssh2 emits 'exit' synchronously as the packet is parsed, which can happen before these
      // listeners exist (a fast command's whole reply in one read); 'close' repeats the status.
      stream.on('close', (code?: number | null, signal?: string) => {
        if (status === undefined) status = exitStatus(code, signal)
        if (timer) clearTimeout(timer)
        if (settled) return
        settled = true
        const restOut = out.end()
        const restErr = err.end()
        if (restOut) (stdout += restOut), opts.onStdout?.(restOut)
        if (restErr) (stderr += restErr), opts.onStderr?.(restErr)
        if (status === undefined) reject(this.lost())
        else resolve({ code: status, stdout, stderr })
      })
      if (opts.timeoutMs && opts.timeoutMs > 0) {
        const ms = opts.timeoutMs
        timer = setTimeout(() => {
          if (settled) return
          settled = true
          // Ask sshd to kill the command (honoured by OpenSSH ≥ 7.9), then drop the channel.
          killRemote(stream)
          stream.close()
          reject(new MachineError('ssh-command-timeout', `remote command \`${command.slice(0, 80)}\` on ${this.where} did not finish within ${Math.round(ms / 1000)}s`))
        }, ms)
      }
      // Like `ssh -n` when there is no input: commands that read stdin see EOF instead of hanging.
      if (opts.stdin !== undefined) stream.end(opts.stdin)
      else stream.end()
    })
  }

  async run(command: string, opts: { stdin?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.exec(command, opts)
    if (r.code !== 0) throw new SshCommandError({ command, status: r.code, stdout: r.stdout, stderr: r.stderr })
    return r.stdout
  }

  private sftp(): Promise<SFTPWrapper> {
    if (this.closed) return Promise.reject(this.lost())
    if (!this.sftpPromise) {
      const p = new Promise<SFTPWrapper>((resolve, reject) => {
        try {
          this.client.sftp((err, sftp) => {
            if (err) reject(new MachineError('ssh-sftp-failed', `cannot start SFTP on ${this.where}: ${err.message}`, { cause: err }))
            else {
              sftp.on('close', () => {
                if (this.sftpPromise === p) this.sftpPromise = undefined
              })
              resolve(sftp)
            }
          })
        } catch (e) {
          reject(this.lost(e))
        }
      })
      p.catch(() => {
        if (this.sftpPromise === p) this.sftpPromise = undefined
      })
      this.sftpPromise = p
    }
    return this.sftpPromise
  }

  async upload(remotePath: string, data: string | Buffer, mode = 0o644): Promise<void> {
    const sftp = await this.sftp()
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    const fail = (e: unknown): MachineError =>
      new MachineError('ssh-sftp-failed', `upload of ${remotePath} to ${this.where} failed: ${(e as Error).message}`, { cause: e })
    const call = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> =>
      new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(fail(err)) : resolve(v as T))))

    const handle = await call<Buffer>((cb) => sftp.open(remotePath, 'w', { mode }, cb))
    try {
      // open's mode only applies to a new file: set it before the data lands so a key never
      // sits readable in an existing, more open file.
      await call<void>((cb) => sftp.fchmod(handle, mode, cb))
      // Keep a few writes in flight: one round trip per chunk would make larger files slow
      // over a long-latency link.
      const offsets: number[] = []
      for (let off = 0; off < buf.length; off += SFTP_WRITE_CHUNK) offsets.push(off)
      const worker = async (): Promise<void> => {
        for (let off = offsets.shift(); off !== undefined; off = offsets.shift()) {
          const at = off
          const len = Math.min(SFTP_WRITE_CHUNK, buf.length - at)
          await call<void>((cb) => sftp.write(handle, buf, at, len, at, cb))
        }
      }
      await Promise.all(Array.from({ length: Math.min(SFTP_WRITES_IN_FLIGHT, offsets.length) }, worker))
    } finally {
      await call<void>((cb) => sftp.close(handle, cb)).catch(() => undefined)
    }
  }

  async download(remotePath: string): Promise<Buffer> {
    const sftp = await this.sftp()
    return new Promise<Buffer>((resolve, reject) => {
      sftp.readFile(remotePath, (err, data) => {
        if (err) reject(new MachineError('ssh-sftp-failed', `download of ${remotePath} from ${this.where} failed: ${err.message}`, { cause: err }))
        else resolve(data)
      })
    })
  }

  shell(io: InteractiveIo): Promise<number> {
    return this.interactive('shell', '', io)
  }

  execInteractive(command: string, io: InteractiveIo): Promise<number> {
    return this.interactive('exec', command, io)
  }

  private async interactive(kind: 'exec' | 'shell', command: string, io: InteractiveIo): Promise<number> {
    const tty = io.stdin.isTTY === true
    const size = (): { rows: number; cols: number } => ({ rows: io.stdout.rows || 24, cols: io.stdout.columns || 80 })
    const pty: PseudoTtyOptions | false = tty ? { term: process.env.TERM || 'xterm-256color', ...size(), height: 0, width: 0 } : false
    const stream = await this.openChannel(kind, command, pty)

    return new Promise<number>((resolve, reject) => {
      let status: number | undefined
      const wasRaw = tty ? io.stdin.isRaw : false
      if (tty) io.stdin.setRawMode(true)
      const onInput = (d: Buffer | string): void => {
        stream.write(d)
      }
      const onInputEnd = (): void => {
        stream.end()
      }
      // Node's tty streams emit 'resize' on SIGWINCH.
      const onResize = (): void => {
        const s = size()
        stream.setWindow(s.rows, s.cols, 0, 0)
      }
      io.stdin.on('data', onInput)
      io.stdin.on('end', onInputEnd)
      if (tty) io.stdout.on('resize', onResize)
      io.stdin.resume()
      stream.on('data', (d: Buffer) => io.stdout.write(d))
      stream.stderr.on('data', (d: Buffer) => io.stderr.write(d))
      stream.on('exit', (code: number | null, signal?: string) => {
        status = exitStatus(code, signal)
      })
      stream.on('close', (code?: number | null, signal?: string) => {
        if (status === undefined) status = exitStatus(code, signal)
        io.stdin.off('data', onInput)
        io.stdin.off('end', onInputEnd)
        if (tty) {
          io.stdout.off('resize', onResize)
          io.stdin.setRawMode(wasRaw)
        }
        io.stdin.pause()
        if (status === undefined) reject(this.lost())
        else resolve(status)
      })
    })
  }

  /**
   * Ends the connection. Commands still running (a create interrupted mid-provisioning) are
   * asked to die first (OpenSSH ≥ 7.9 honours the signal request): a dropped connection alone
   * would leave them running on the host, e.g. an engine install half done by nobody.
   */
  close(): void {
    for (const stream of this.channels) {
      killRemote(stream)
      try {
        stream.close()
      } catch {
        // the channel is already going away
      }
    }
    this.channels.clear()
    this.closed = true
    this.client.end()
  }
}
