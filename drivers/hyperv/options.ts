/**
 * The hyperv driver's options: docker-machine's `--hyperv-*` flags with their HYPERV_*
 * environment variables and defaults (drivers/hyperv/hyperv.go, GetCreateFlags), except:
 *  - boot2docker is gone: --hyperv-boot2docker-url is refused with a line saying what replaces
 *    it; --hyperv-image (+ -image-checksum) is new.
 *  - --hyperv-virtual-switch empty still means "the first External switch", and a missing one is
 *    explained (see driver.ts) instead of docker-machine's bare "no External vswitch found".
 * Saved config keys are docker-machine's field names, so an imported store reads the same.
 * Pure: loaded by --help, so nothing here runs PowerShell.
 */
import type { OptionSpec, OptionValue } from '../../src/driver-kit/options.js'
import { boot2dockerUrlOption, cloudImageOptions } from '../../src/driver-kit/local-vm-options.js'
import { debianCloudImageUrl, hostGuestArch } from '../../src/driver-kit/cloud-images.js'

/**
 * Debian 12 (the other local drivers' distribution), `generic`: its kernel has Hyper-V's
 * synthetic NIC/disk drivers (hv_netvsc, hv_storvsc) and its EFI partition boots on a
 * generation 2 VM with secure boot. Raw: made into a VHDX with Windows' own cmdlets (vhd.ts).
 */
export const DEFAULT_IMAGE = debianCloudImageUrl(hostGuestArch(), 'raw', 'generic')

/** "00:15:5D:01:02:03", "00-15-5D-01-02-03" or "00155D010203" → "00155D010203" (Set-VMNetworkAdapter's form); undefined if not a unicast MAC. */
export function normalizeMac(v: string): string | undefined {
  const hex = v.trim().replace(/[:-]/g, '')
  if (!/^[0-9A-Fa-f]{12}$/.test(hex) || !/^([0-9A-Fa-f]{2}[:-]?){5}[0-9A-Fa-f]{2}$/.test(v.trim())) return undefined
  const up = hex.toUpperCase()
  // The low bit of the first octet marks a multicast address: no NIC may have one.
  if (parseInt(up.slice(0, 2), 16) & 1) return undefined
  return up
}

export const options = [
  boot2dockerUrlOption('hyperv', 'HYPERV'),
  {
    name: 'virtual-switch',
    type: 'string',
    description: 'Virtual switch name (default: the first External switch; "Default Switch" works too, reachable from this computer only)',
    env: ['HYPERV_VIRTUAL_SWITCH'],
    configKey: 'VSwitch',
  },
  {
    name: 'disk-size',
    type: 'int',
    description: 'Maximum size of dynamically expanding disk in MB (the image is grown to it, never shrunk)',
    env: ['HYPERV_DISK_SIZE'],
    default: 20000,
    configKey: 'DiskSize',
    validate: (v: OptionValue) => (typeof v === 'number' && v >= 1024 && v <= 64 * 1024 * 1024 ? undefined : 'must be a whole number of MB from 1024 to 67108864 (VHDX holds 64 TB)'),
  },
  {
    name: 'memory',
    type: 'int',
    description: 'Memory size for host in MB',
    env: ['HYPERV_MEMORY'],
    default: 1024,
    configKey: 'MemSize',
    // Hyper-V takes memory in 2 MB steps and refuses other amounts rather than rounding them.
    validate: (v: OptionValue) => (typeof v === 'number' && v >= 512 && v <= 12 * 1024 * 1024 && v % 2 === 0 ? undefined : 'must be an even number of MB from 512 to 12582912'),
  },
  {
    name: 'cpu-count',
    type: 'int',
    description: 'number of CPUs for the machine',
    env: ['HYPERV_CPU_COUNT'],
    default: 1,
    configKey: 'CPU',
    validate: (v: OptionValue) => (typeof v === 'number' && v >= 1 && v <= 240 ? undefined : 'must be a whole number from 1 to 240'),
  },
  {
    name: 'static-macaddress',
    type: 'string',
    description: 'Hyper-V network adapter\'s static MAC address (e.g. 00:15:5D:01:02:03)',
    env: ['HYPERV_STATIC_MACADDRESS'],
    configKey: 'MacAddr',
    validate: (v: OptionValue) => (String(v) === '' || normalizeMac(String(v)) ? undefined : `"${String(v)}" is not a unicast MAC address such as 00:15:5D:01:02:03`),
  },
  {
    name: 'vlan-id',
    type: 'int',
    description: 'Hyper-V network adapter\'s VLAN ID if any (0: none)',
    env: ['HYPERV_VLAN_ID'],
    default: 0,
    configKey: 'VLanID',
    validate: (v: OptionValue) => (typeof v === 'number' && v >= 0 && v <= 4094 ? undefined : 'must be a VLAN ID from 1 to 4094, or 0 for none'),
  },
  {
    name: 'disable-dynamic-memory',
    type: 'boolean',
    description: 'Disable dynamic memory management setting',
    env: ['HYPERV_DISABLE_DYNAMIC_MEMORY'],
    configKey: 'DisableDynamicMemory',
  },
  ...cloudImageOptions('HYPERV', 'Cloud image with cloud-init (NoCloud): a file path or an http(s)/file URL; raw, or a VHD/VHDX. Downloads are cached in <store>/cache/ and verified. Replaces boot2docker', DEFAULT_IMAGE),
] as const satisfies readonly OptionSpec[]
