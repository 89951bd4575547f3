/**
 * The vmware driver's options: the `--vmware-*` flags of docker-machine's vmware driver
 * (machine-drivers/docker-machine-driver-vmware, config/config.go; docker/machine's vmwarefusion
 * had the same set under --vmwarefusion-*) with their environment variables and defaults, except:
 *  - boot2docker is gone: --vmware-boot2docker-url and --vmware-configdrive-url are refused with a
 *    line saying what replaces them; --vmware-image (+ -image-checksum) is new.
 *  - --vmware-ssh-password is not offered: the guest has no password (key login only, the host
 *    key pinned from the first connection); boot2docker's "tcuser" was a published password.
 * Saved config keys are docker-machine's field names, so an imported store reads the same.
 * Pure: loaded by --help, so nothing here runs vmrun.
 */
import type { OptionSpec, OptionValue } from '../../src/driver-kit/options.js'
import { boot2dockerUrlOption, cloudImageOptions, obsolete } from '../../src/driver-kit/local-vm-options.js'
import { debianCloudImageUrl, hostGuestArch } from '../../src/driver-kit/cloud-images.js'

/** Debian 12 (the other local drivers' distribution), `generic`: its kernel has VMware's vmxnet3/pvscsi drivers. Raw, see disk.ts. */
export const DEFAULT_IMAGE = debianCloudImageUrl(hostGuestArch(), 'raw', 'generic')

export const NETWORK_TYPES = ['nat', 'bridged', 'hostonly'] as const

/** A login name cloud-init can create and every shell and the .vmx take as it is. */
export const SSH_USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/

export const options = [
  boot2dockerUrlOption('vmware', 'VMWARE'),
  {
    name: 'configdrive-url',
    type: 'string',
    description: 'Obsolete: refused; the driver writes its own cloud-init seed (user, key, pinned host key) and attaches it as a CD',
    env: ['VMWARE_CONFIGDRIVE_URL'],
    configKey: 'ConfigDriveURL',
    validateNew: obsolete('a downloaded config drive is no longer used: the driver writes its own cloud-init seed (your user, key and a pinned host key); leave --vmware-configdrive-url out'),
  },
  {
    name: 'cpu-count',
    type: 'int',
    description: 'number of CPUs for the machine (-1 to use the number of CPUs available, at most 16)',
    env: ['VMWARE_CPU_COUNT'],
    default: 1,
    configKey: 'CPU',
    validate: (v: OptionValue) => (typeof v === 'number' && (v === -1 || (v >= 1 && v <= 16)) ? undefined : 'must be -1 (all CPUs, at most 16) or a whole number from 1 to 16'),
  },
  {
    name: 'memory-size',
    type: 'int',
    description: 'size of memory for host VM (in MB)',
    env: ['VMWARE_MEMORY_SIZE'],
    default: 1024,
    configKey: 'Memory',
    validate: (v: OptionValue) => (typeof v === 'number' && v >= 256 && v <= 1_048_576 && v % 4 === 0 ? undefined : 'must be a whole number of MB from 256 to 1048576, a multiple of 4 (VMware\'s rule)'),
  },
  {
    name: 'disk-size',
    type: 'int',
    description: 'size of disk for host VM (in MB; the image is grown to it, never shrunk)',
    env: ['VMWARE_DISK_SIZE'],
    default: 20000,
    configKey: 'DiskSize',
    validate: (v: OptionValue) => (typeof v === 'number' && v >= 1024 && v <= 8_000_000 ? undefined : 'must be a whole number of MB from 1024 to 8000000'),
  },
  {
    name: 'ssh-user',
    type: 'string',
    description: 'SSH user (made by cloud-init, key login only)',
    env: ['VMWARE_SSH_USER'],
    default: 'docker',
    configKey: 'SSHUser',
    validate: (v: OptionValue) => (SSH_USER_RE.test(String(v)) ? undefined : `"${String(v)}" is not a login name: lower-case letters, digits, "_" and "-", starting with a letter or "_", at most 32`),
  },
  {
    name: 'no-share',
    type: 'boolean',
    description: 'Disable the mount of your home directory (macOS /Users, Linux /home, Windows %PUBLIC%), mounted at /hosthome with VMware shared folders',
    env: ['VMWARE_NO_SHARE'],
    configKey: 'NoShare',
  },
  {
    name: 'wait-ip',
    type: 'int',
    description: 'time to wait for vmrun to get an ip (in milliseconds); the vmnet DHCP leases are read after it',
    env: ['VMWARE_WAIT_IP'],
    default: 30000,
    configKey: 'WaitIP',
    validate: (v: OptionValue) => (typeof v === 'number' && v >= 0 && v <= 600_000 ? undefined : 'must be a whole number of milliseconds from 0 to 600000'),
  },
  {
    name: 'network-type',
    type: 'string',
    description: "Network connection type to use (e.g. 'nat', 'bridged', 'hostonly')",
    env: ['VMWARE_NETWORK_TYPE'],
    default: 'nat',
    choices: NETWORK_TYPES,
    configKey: 'NetworkType',
  },
  ...cloudImageOptions('VMWARE', 'Cloud image with cloud-init (NoCloud): a file path or an http(s)/file URL; raw or VMDK. Downloads are cached in <store>/cache/ and verified. Replaces boot2docker', DEFAULT_IMAGE),
] as const satisfies readonly OptionSpec[]
