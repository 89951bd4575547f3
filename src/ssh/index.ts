// The SSH layer: one ssh2 connection per provisioning run, host keys pinned in the machine's own
// known_hosts, and argv builders for the system ssh/scp with the same pinning. No oclif here.
export { connectSsh, sshConnectionCount, type ConnectOptions, type SshTarget } from './connect.js'
export type { ExecOptions, ExecResult, InteractiveIo, SshSession } from './session.js'
export { HostKeyMismatchError, HostKeyUnknownError, SshAuthError, SshCommandError, SshUnreachableError } from './errors.js'
export { ensurePinnedForSystemSsh, parseMountSource, parseScpLocation, splitRemote, systemScpArgs, systemSshArgs, systemSshfsArgs } from './system.js'
export { knownHostsName, parsePublicKeyLine, pinHostKeys, pinsFor, readKnownHosts, type HostKey } from './known-hosts.js'
export { readPrivateKey } from './keyfile.js'
