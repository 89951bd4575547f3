// The SSH facade drivers use. Importing it is cheap: the client (and with it ssh2) is loaded on
// the first connection, so a driver's modules stay light for `ls`, `env` and help.
import type { ConnectOptions, SshTarget } from '../ssh/connect.js'
import type { SshSession } from '../ssh/session.js'

export type { ConnectOptions, SshTarget } from '../ssh/connect.js'
export type { ExecOptions, ExecResult, SshSession } from '../ssh/session.js'
export { HostKeyMismatchError, HostKeyUnknownError, SshAuthError, SshCommandError, SshUnreachableError } from '../ssh/errors.js'

/** One SSH session to the host, its host key verified against (or pinned into) known_hosts. */
export async function connectSsh(target: SshTarget, opts?: ConnectOptions): Promise<SshSession> {
  const ssh = await import('../ssh/connect.js')
  return ssh.connectSsh(target, opts)
}
