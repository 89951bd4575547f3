/** POSIX shell quoting for drivers (a command QEMU or a guest runs with /bin/sh): provisioning's own. */
export { shq } from '../provision/shell.js'

/**
 * A shell test, true on a guest where containerd runs as its own service (Debian's docker.io,
 * Docker's containerd.io): the engine is then given its socket. Provisioning's engine config and
 * the qemu seed's first-boot commands decide by it alike.
 */
export const HAS_CONTAINERD_UNIT = '[ -f /lib/systemd/system/containerd.service ]'
