/**
 * The virtualbox driver's options: docker-machine's `--virtualbox-*` flags with their environment
 * variables and defaults (drivers/virtualbox/virtualbox.go, GetCreateFlags), except where noted:
 *  - --virtualbox-hostonly-cidr defaults to 192.168.56.1/24: VirtualBox >= 6.1.28 refuses host-only
 *    addresses outside 192.168.56.0/21 unless /etc/vbox/networks.conf allows them
 *    (docker-machine's 192.168.99.1/24 now fails with E_ACCESSDENIED).
 *  - boot2docker is gone: --virtualbox-boot2docker-url and --virtualbox-import-boot2docker-vm are
 *    refused with a line saying what replaces them; --virtualbox-image (+ -image-checksum) is new.
 * Saved config keys are docker-machine's field names, so an imported store reads the same.
 * Pure: loaded by --help, so nothing here runs VBoxManage.
 */
import type { OptionSpec, OptionValue } from '../../src/driver-kit/options.js'
import { boot2dockerUrlOption, cloudImageOptions, obsolete } from '../../src/driver-kit/local-vm-options.js'
import { debianCloudImageUrl, hostGuestArch } from '../../src/driver-kit/cloud-images.js'
import { parseCidr, prefixMask } from '../../src/driver-kit/ipv4.js'

/** Debian 12 (the qemu driver's distribution), `generic`: its kernel has the e1000/AHCI/vboxsf drivers VirtualBox's hardware needs. Raw, see disk.ts. */
export const DEFAULT_IMAGE = debianCloudImageUrl(hostGuestArch(), 'raw', 'generic')

export const DEFAULT_HOSTONLY_CIDR = '192.168.56.1/24'

/** The range VirtualBox >= 6.1.28 allows for host-only adapters without /etc/vbox/networks.conf. */
export const VBOX_ALLOWED_RANGE = '192.168.56.0/21'

/** NIC types VBoxManage modifyvm --nictypeN accepts. */
export const NIC_TYPES = ['Am79C970A', 'Am79C973', 'Am79C960', '82540EM', '82543GC', '82545EM', 'virtio'] as const

/** A host address with its prefix ("192.168.56.1/24"), not a network address; the problem otherwise. */
export function hostOnlyCidrProblem(v: OptionValue): string | undefined {
  const c = parseCidr(String(v))
  if (!c) return `"${String(v)}" is not an IPv4 address with a prefix length, such as ${DEFAULT_HOSTONLY_CIDR}`
  if (c.bits < 8 || c.bits > 29) return `"${String(v)}": the prefix length must be from /8 to /29`
  const host = c.base & ~prefixMask(c.bits)
  if (host === 0) return `"${String(v)}" is a network address: give the host's address on it, e.g. ${String(v).replace(/\.0\//, '.1/')}`
  if (host === (~prefixMask(c.bits) >>> 0)) return `"${String(v)}" is the network's broadcast address: give the host's address on it`
  return undefined
}

/** "dir:name" (the last colon splits, so "C:\\Users:users" works); the problem otherwise. */
export function parseShareFolder(v: string): { dir: string; name: string } | undefined {
  const i = v.lastIndexOf(':')
  if (i <= 0) return undefined
  const dir = v.slice(0, i)
  const name = v.slice(i + 1)
  // The name becomes a guest mount point (/NAME) and a VBoxManage argument: plain characters only.
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/.test(name) || name.includes('..')) return undefined
  return { dir, name }
}

export const options = [
  {
    name: 'memory',
    type: 'int',
    description: 'Size of memory for host in MB',
    env: ['VIRTUALBOX_MEMORY_SIZE'],
    default: 1024,
    configKey: 'Memory',
    validate: (v: OptionValue) => (typeof v === 'number' && v >= 256 && v <= 1_048_576 ? undefined : 'must be a whole number of MB from 256 to 1048576'),
  },
  {
    name: 'cpu-count',
    type: 'int',
    description: 'number of CPUs for the machine (-1 to use the number of CPUs available)',
    env: ['VIRTUALBOX_CPU_COUNT'],
    default: 1,
    configKey: 'CPU',
    validate: (v: OptionValue) => (typeof v === 'number' && (v === -1 || (v >= 1 && v <= 64)) ? undefined : 'must be -1 (all CPUs) or a whole number from 1 to 64'),
  },
  {
    name: 'disk-size',
    type: 'int',
    description: 'Size of disk for host in MB (the image is grown to it, never shrunk)',
    env: ['VIRTUALBOX_DISK_SIZE'],
    default: 20000,
    configKey: 'DiskSize',
    validate: (v: OptionValue) => (typeof v === 'number' && v >= 1024 && v <= 2_000_000 ? undefined : 'must be a whole number of MB from 1024 to 2000000'),
  },
  ...cloudImageOptions('VIRTUALBOX', 'Cloud image with cloud-init (NoCloud): a file path or an http(s)/file URL; raw, or any format VirtualBox reads (VDI, VMDK, VHD). Downloads are cached in <store>/cache/ and verified (the default Debian raw image is a 2 GB download, once). Replaces boot2docker', DEFAULT_IMAGE),
  boot2dockerUrlOption('virtualbox', 'VIRTUALBOX'),
  {
    name: 'import-boot2docker-vm',
    type: 'string',
    description: 'Obsolete (boot2docker ended in 2020): refused; create a new machine (the default Debian image) instead',
    env: ['VIRTUALBOX_BOOT2DOCKER_IMPORT_VM'],
    configKey: 'Boot2DockerImportVM',
    validateNew: obsolete('importing a boot2docker VM is no longer supported (boot2docker ended in 2020): create a new machine instead and copy your data over'),
  },
  {
    name: 'host-dns-resolver',
    type: 'boolean',
    description: 'Use the host DNS resolver',
    env: ['VIRTUALBOX_HOST_DNS_RESOLVER'],
    configKey: 'HostDNSResolver',
  },
  {
    name: 'nat-nictype',
    type: 'string',
    description: 'Specify the Network Adapter Type',
    env: ['VIRTUALBOX_NAT_NICTYPE'],
    default: '82540EM',
    choices: NIC_TYPES,
    configKey: 'NatNicType',
  },
  {
    name: 'hostonly-cidr',
    type: 'string',
    description: `Specify the Host Only CIDR: the host's address on the host-only network (VirtualBox >= 6.1.28 allows ${VBOX_ALLOWED_RANGE} unless /etc/vbox/networks.conf says more)`,
    env: ['VIRTUALBOX_HOSTONLY_CIDR'],
    default: DEFAULT_HOSTONLY_CIDR,
    configKey: 'HostOnlyCIDR',
    validate: hostOnlyCidrProblem,
  },
  {
    name: 'hostonly-nictype',
    type: 'string',
    description: 'Specify the Host Only Network Adapter Type',
    env: ['VIRTUALBOX_HOSTONLY_NIC_TYPE'],
    default: '82540EM',
    choices: NIC_TYPES,
    configKey: 'HostOnlyNicType',
  },
  {
    name: 'hostonly-nicpromisc',
    type: 'string',
    description: 'Specify the Host Only Network Adapter Promiscuous Mode',
    env: ['VIRTUALBOX_HOSTONLY_NIC_PROMISC'],
    default: 'deny',
    choices: ['deny', 'allow-vms', 'allow-all'],
    configKey: 'HostOnlyPromiscMode',
  },
  {
    name: 'ui-type',
    type: 'string',
    description: 'Specify the UI Type: (gui|sdl|headless|separate)',
    env: ['VIRTUALBOX_UI_TYPE'],
    default: 'headless',
    choices: ['gui', 'sdl', 'headless', 'separate'],
    configKey: 'UIType',
  },
  {
    name: 'hostonly-no-dhcp',
    type: 'boolean',
    description: 'Disable the Host Only DHCP Server. Machines get fixed addresses, so none is ever added; an existing one is left as it is',
    env: ['VIRTUALBOX_HOSTONLY_NO_DHCP'],
    configKey: 'HostOnlyNoDHCP',
  },
  {
    name: 'no-share',
    type: 'boolean',
    description: 'Disable the mount of your home directory',
    env: ['VIRTUALBOX_NO_SHARE'],
    configKey: 'NoShare',
  },
  {
    name: 'no-dns-proxy',
    type: 'boolean',
    description: 'Disable proxying all DNS requests to the host',
    env: ['VIRTUALBOX_NO_DNS_PROXY'],
    configKey: 'NoDNSProxy',
  },
  {
    name: 'no-vtx-check',
    type: 'boolean',
    description: 'Disable checking for the availability of hardware virtualization before the vm is started',
    env: ['VIRTUALBOX_NO_VTX_CHECK'],
    configKey: 'NoVTXCheck',
  },
  {
    name: 'share-folder',
    type: 'string',
    description: 'Mount the specified directory instead of the default home location. Format: dir:name (mounted at /name in the guest)',
    env: ['VIRTUALBOX_SHARE_FOLDER'],
    configKey: 'ShareFolder',
    validate: (v: OptionValue) =>
      String(v) === '' || parseShareFolder(String(v)) ? undefined : `"${String(v)}" is not dir:name (name: letters, digits, ".", "_", "-", "/")`,
  },
] as const satisfies readonly OptionSpec[]
