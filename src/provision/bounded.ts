/**
 * Every remote command of provisioning and upgrading has a bound. A host whose sshd still
 * answers but whose command never ends (a held dpkg lock, a hung mount, a stalled network) would
 * otherwise keep `create`, `provision` or `upgrade` waiting for ever. Past its bound the channel
 * is closed (session.ts asks sshd to kill the command; programs it started may outlive it) and
 * the run ends with one line naming the step and the machine.
 */
import { MachineError } from '../core/errors.js'
import type { ExecOptions, SshSession } from '../ssh/index.js'

/** Bound of a remote command that states no bound of its own: generous, for slow emulated VMs. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 300_000

export interface BoundedSession {
  ssh: SshSession
  /** Name the step the next commands belong to (it is what a timeout reports). */
  step(title: string): void
}

/**
 * `ssh` with a bound on every exec, run and upload (`defaultMs` unless the call gives its own),
 * reporting a timeout as `"<step>" on "<machine>" did not finish within <n> s`.
 */
export function boundedSession(ssh: SshSession, o: { machine: string; defaultMs?: number; firstStep: string }): BoundedSession {
  const defaultMs = o.defaultMs ?? DEFAULT_COMMAND_TIMEOUT_MS
  let current = o.firstStep
  const timedOut = (ms: number): MachineError =>
    new MachineError('step-timeout', `"${current}" on "${o.machine}" did not finish within ${formatSeconds(ms)}`, {
      hint: 'run again with --debug to see the command that stalled',
    })
  const mapTimeout = (ms: number) => (e: unknown) => {
    throw e instanceof MachineError && e.code === 'ssh-command-timeout' ? Object.assign(timedOut(ms), { cause: e }) : e
  }
  const bounded: SshSession = {
    exec: (command: string, opts: ExecOptions = {}) => {
      const ms = opts.timeoutMs ?? defaultMs
      return ssh.exec(command, { ...opts, timeoutMs: ms }).catch(mapTimeout(ms))
    },
    run: (command: string, opts: { stdin?: string | Buffer; timeoutMs?: number } = {}) => {
      const ms = opts.timeoutMs ?? defaultMs
      return ssh.run(command, { ...opts, timeoutMs: ms }).catch(mapTimeout(ms))
    },
    // SFTP has no per-request timeout: race it (the caller closes the session on the error).
    upload: (remotePath, data, mode) => withTimer(ssh.upload(remotePath, data, mode), defaultMs, () => timedOut(defaultMs)),
    download: (remotePath) => withTimer(ssh.download(remotePath), defaultMs, () => timedOut(defaultMs)),
    shell: (io) => ssh.shell(io),
    execInteractive: (command, io) => ssh.execInteractive(command, io),
    close: () => ssh.close(),
  }
  return { ssh: bounded, step: (t) => void (current = t) }
}

// As cli/progress.ts words its step timeouts; sub-second bounds (tests) keep a decimal.
const formatSeconds = (ms: number): string => (ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`)

function withTimer<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}
