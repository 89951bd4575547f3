import type { LaunchSpec } from '../../drivers/qemu/cmdline.js'

/** A typical amd64 TCG launch of machine "dev" in store /s: the command-line tests vary it field by field. */
export const baseLaunchSpec: LaunchSpec = {
  name: 'dev',
  arch: 'x86_64',
  accel: 'tcg',
  cpus: 2,
  memoryMb: 2048,
  disk: '/s/machines/dev/disk.qcow2',
  seed: '/s/machines/dev/seed.iso',
  sshPort: 40022,
  engineHostPort: 42376,
  engineGuestPort: 2376,
  forwards: [],
  consoleLog: '/s/machines/dev/console.log',
  pidFile: '/s/machines/dev/qemu.pid',
  qmp: { path: '/s/machines/dev/qmp.sock' },
  daemonize: true,
}
