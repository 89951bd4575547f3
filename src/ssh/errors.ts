import { MachineError } from '../core/errors.js'

/**
 * The host presented a key other than the one pinned (or injected at creation). Never retried
 * and never re-pinned: it is either a rebuilt host or someone in the middle.
 */
export class HostKeyMismatchError extends MachineError {
  readonly host: string
  readonly port: number
  readonly expected: string[]
  readonly presented: string

  constructor(args: { host: string; port: number; expected: string[]; presented: string; keyType: string; knownHostsPath: string; source: 'pinned' | 'host-keys' | 'fingerprint' }) {
    const where = hostPort(args.host, args.port)
    const expected = args.expected.join(' or ')
    const what =
      args.source === 'pinned'
        ? `host key for ${where} has changed`
        : args.source === 'host-keys'
          ? `host ${where} does not present the host key injected when it was created`
          : `host key for ${where} does not match the expected fingerprint`
    super('host-key-changed', `${what}: expected ${expected}, presented ${args.presented} (${args.keyType})`, {
      hint:
        args.source === 'pinned'
          ? `someone may be intercepting the connection; if the host was really rebuilt, check its new key out of band, remove its line from ${args.knownHostsPath} and run \`machine provision\``
          : 'someone may be intercepting the connection, or the host was replaced; nothing was pinned',
    })
    this.name = 'HostKeyMismatchError'
    this.host = args.host
    this.port = args.port
    this.expected = args.expected
    this.presented = args.presented
  }
}

/** No pin, no key known in advance and trust-on-first-use not allowed: refuse, like StrictHostKeyChecking=yes. */
export class HostKeyUnknownError extends MachineError {
  constructor(args: { host: string; port: number; presented: string; keyType: string; knownHostsPath: string }) {
    super(
      'host-key-unknown',
      `no host key is known for ${hostPort(args.host, args.port)} (it presented ${args.presented}, ${args.keyType}) and strict checking is on`,
      { hint: `verify the fingerprint out of band and pin it in ${args.knownHostsPath}` },
    )
    this.name = 'HostKeyUnknownError'
  }
}

export class SshUnreachableError extends MachineError {
  readonly attempts: number
  constructor(args: { host: string; port: number; attempts: number; elapsedMs: number; lastError: string }) {
    const secs = (args.elapsedMs / 1000).toFixed(1)
    const tries = args.attempts === 1 ? '1 attempt' : `${args.attempts} attempts`
    super('ssh-unreachable', `SSH on ${hostPort(args.host, args.port)} is not reachable after ${tries} in ${secs}s: ${args.lastError}`, {
      hint: 'check that the host is running and that a firewall or security group allows the SSH port',
    })
    this.name = 'SshUnreachableError'
    this.attempts = args.attempts
  }
}

export class SshAuthError extends MachineError {
  constructor(args: { host: string; port: number; user: string; keyPath: string; cause?: unknown }) {
    super('ssh-auth-failed', `SSH authentication as ${args.user}@${hostPort(args.host, args.port)} with key ${args.keyPath} was refused`, {
      hint: `check that the public half of ${args.keyPath} is in ~${args.user}/.ssh/authorized_keys on the host`,
      cause: args.cause,
    })
    this.name = 'SshAuthError'
  }
}

/** A remote command exited non-zero (from SshSession.run). */
export class SshCommandError extends MachineError {
  readonly command: string
  readonly status: number
  readonly stdout: string
  readonly stderr: string
  constructor(args: { command: string; status: number; stdout: string; stderr: string }) {
    const last = lastLine(args.stderr) || lastLine(args.stdout)
    super('ssh-command-failed', `remote command \`${oneLine(args.command)}\` exited with code ${args.status}${last ? `: ${last}` : ''}`)
    this.name = 'SshCommandError'
    this.command = args.command
    this.status = args.status
    this.stdout = args.stdout
    this.stderr = args.stderr
  }
}

export const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)

function lastLine(s: string): string {
  const lines = s.split('\n').map((l) => l.trim()).filter(Boolean)
  return lines[lines.length - 1] ?? ''
}

/** Commands can be multi-line scripts; the error stays one line and short. */
function oneLine(cmd: string): string {
  const flat = cmd.replace(/\s+/g, ' ').trim()
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat
}
