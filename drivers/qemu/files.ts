// The qemu driver's file names inside a machine directory (the driver's and the network's code read them).
/** File names inside the machine directory; all of them are removed by `rm`. */
export const FILES = {
  overlay: 'disk.qcow2',
  seed: 'seed.iso',
  vars: 'efi-vars.fd',
  pid: 'qemu.pid',
  qmp: 'qmp.sock',
  console: 'console.log',
  firmwareLog: 'firmware.log',
  launchLog: 'qemu.log',
  /** `stop --save`: the VM's memory and devices (vm-state.ts), and what saved them. */
  savedState: 'vm-state.bin',
  savedStateRecord: 'vm-state.json',
} as const
