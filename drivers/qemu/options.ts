/**
 * The qemu driver's options, and the defaults they are declared with: imported by the definition
 * (index.ts) and, typed, by the driver (no index <-> driver import cycle).
 */
import type { OptionSpec, OptionValue } from '../../src/driver-kit/options.js'
import { IMAGE_CHECKSUM_DESCRIPTION } from '../../src/driver-kit/local-vm-options.js'
import { totalmem } from 'node:os'
import { isValidNetworkName } from '../../src/driver-kit/network.js'
import { debianCloudImageUrl, hostGuestArch } from '../../src/driver-kit/cloud-images.js'
import { memoryProblem, parseDiskSize, parsePortForward } from './settings.js'

export { hostGuestArch }

/** The kit's default Debian cloud image for an architecture, as qcow2 (what QEMU boots best). */
export const defaultImageUrl = (arch: 'x86_64' | 'aarch64'): string => debianCloudImageUrl(arch, 'qcow2')

export const options = [
  {
    name: 'image',
    type: 'string',
    description:
      'Cloud image with cloud-init: a file path or an http(s)/file URL, qcow2 or raw. Downloads are cached in <store>/cache/ and verified',
    env: ['QEMU_IMAGE'],
    default: defaultImageUrl(hostGuestArch()),
    configKey: 'Image',
  },
  {
    name: 'image-checksum',
    type: 'string',
    description: IMAGE_CHECKSUM_DESCRIPTION,
    env: ['QEMU_IMAGE_CHECKSUM'],
    configKey: 'ImageChecksum',
  },
  {
    name: 'cpus',
    type: 'int',
    description: 'Number of virtual CPUs',
    env: ['QEMU_CPUS'],
    default: 2,
    configKey: 'CPU',
    validate: (v: OptionValue) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 256 ? undefined : 'must be a whole number from 1 to 256'),
  },
  {
    name: 'memory',
    type: 'int',
    description: 'Memory in MB',
    env: ['QEMU_MEMORY'],
    default: 2048,
    configKey: 'Memory',
    // Bounded by this host's RAM when given; a saved value from a bigger host stays usable here.
    validateNew: (v: OptionValue) => memoryProblem(v, totalmem()),
  },
  {
    name: 'disk-size',
    type: 'string',
    description: 'Disk size: a number with a K/M/G/T suffix, or MB without one (the image is grown to it, never shrunk)',
    env: ['QEMU_DISK_SIZE'],
    default: '20G',
    configKey: 'DiskSize',
    validate: (v: OptionValue) => {
      try {
        parseDiskSize(String(v))
        return undefined
      } catch (e) {
        return (e as Error).message
      }
    },
  },
  {
    name: 'accel',
    type: 'string',
    description:
      'Accelerator: auto picks kvm on Linux when it really works (else tcg), hvf on macOS, whpx on Windows; tcg is pure emulation (slow)',
    env: ['QEMU_ACCEL'],
    default: 'auto',
    choices: ['auto', 'kvm', 'hvf', 'whpx', 'tcg'],
    configKey: 'Accel',
  },
  {
    name: 'binary',
    type: 'string',
    description: 'Path of the qemu-system binary (default: qemu-system-<arch> from PATH)',
    env: ['QEMU_BINARY'],
    configKey: 'Binary',
  },
  {
    name: 'arch',
    type: 'string',
    description: "Guest architecture (aarch64 boots with UEFI firmware unless a kernel is given); default: the host's",
    env: ['QEMU_ARCH'],
    default: hostGuestArch(),
    choices: ['x86_64', 'aarch64'],
    configKey: 'Arch',
  },
  {
    name: 'kernel',
    type: 'string',
    description: 'Kernel for direct kernel boot (skips the firmware and boot loader)',
    env: ['QEMU_KERNEL'],
    configKey: 'Kernel',
  },
  {
    name: 'initrd',
    type: 'string',
    description: 'Initrd for direct kernel boot (with --qemu-kernel)',
    env: ['QEMU_INITRD'],
    configKey: 'Initrd',
  },
  {
    name: 'append',
    type: 'string',
    description: 'Kernel command line for direct kernel boot, e.g. "root=/dev/vda rw console=ttyS0" (aarch64: console=ttyAMA0)',
    env: ['QEMU_APPEND'],
    configKey: 'Append',
  },
  {
    name: 'port',
    type: 'string[]',
    description: 'Extra port forward from 127.0.0.1 to the guest, "host:guest" or "host:guest/udp" (repeatable)',
    env: ['QEMU_PORT'],
    default: [],
    configKey: 'Ports',
    validate: (v: OptionValue) => {
      for (const p of Array.isArray(v) ? v : [String(v)]) {
        try {
          parsePortForward(p)
        } catch (e) {
          return (e as Error).message
        }
      }
      return undefined
    },
  },
  {
    name: 'network',
    type: 'string',
    description:
      'Put the VM on this host-local network (a second NIC with a fixed address: 192.168.99.x on "default", each other network its own 192.168.N.0/24) shared with the other VMs given the same name; nothing leaves the host and no root is needed. Default: none, or "default" for a machine that joins a swarm (--swarm, --swarm-master)',
    env: ['QEMU_NETWORK'],
    configKey: 'Network',
    // A swarm's VMs must reach each other: they share "default" unless told otherwise.
    clusterDefault: 'default',
    validate: (v: OptionValue) =>
      String(v) === '' || (isValidNetworkName(String(v)) && String(v).length <= 63)
        ? undefined
        : 'must be a name of letters, digits, "." and "-", starting with a letter or digit (at most 63 characters)',
  },
  {
    name: 'ssh-user',
    type: 'string',
    description: 'User cloud-init creates in the guest, with our SSH key and sudo',
    env: ['QEMU_SSH_USER'],
    default: 'docker',
    configKey: 'SSHUser',
    validate: (v: OptionValue) => (/^[a-z_][a-z0-9_-]{0,31}$/.test(String(v)) ? undefined : 'must be a valid Linux user name'),
  },
] as const satisfies readonly OptionSpec[]
