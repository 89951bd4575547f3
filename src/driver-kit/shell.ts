/** POSIX shell quoting for drivers (a command QEMU or a guest runs with /bin/sh): provisioning's own. */
export { shq } from '../provision/shell.js'
