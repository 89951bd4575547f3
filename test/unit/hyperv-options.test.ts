/**
 * The hyperv driver's flag surface against docker-machine's (drivers/hyperv/hyperv.go,
 * GetCreateFlags): every flag, its environment variable and default, plus the image flags; and
 * the checks where values enter.
 */
import { describe, expect, it } from 'vitest'
import { flagName, resolveOptions } from '../../src/driver-kit/options.js'
import { normalizeMac, options } from '../../drivers/hyperv/options.js'
import { errorLine } from '../helpers/errors.js'

const DOCKER_MACHINE: Array<[string, string, unknown]> = [
  ['hyperv-boot2docker-url', 'HYPERV_BOOT2DOCKER_URL', undefined],
  ['hyperv-virtual-switch', 'HYPERV_VIRTUAL_SWITCH', undefined],
  ['hyperv-disk-size', 'HYPERV_DISK_SIZE', 20000],
  ['hyperv-memory', 'HYPERV_MEMORY', 1024],
  ['hyperv-cpu-count', 'HYPERV_CPU_COUNT', 1],
  ['hyperv-static-macaddress', 'HYPERV_STATIC_MACADDRESS', undefined],
  ['hyperv-vlan-id', 'HYPERV_VLAN_ID', 0],
  ['hyperv-disable-dynamic-memory', 'HYPERV_DISABLE_DYNAMIC_MEMORY', undefined],
]

describe('hyperv options', () => {
  it('has every docker-machine flag with its environment variable and default, plus --hyperv-image and its checksum', () => {
    const byFlag = new Map(options.map((o) => [flagName('hyperv', o), o]))
    for (const [flag, env, def] of DOCKER_MACHINE) {
      expect(byFlag.get(flag)?.env, flag).toEqual([env])
      expect((byFlag.get(flag) as { default?: unknown } | undefined)?.default, flag).toBe(def)
    }
    expect([...byFlag.keys()].sort()).toEqual([...DOCKER_MACHINE.map((d) => d[0]), 'hyperv-image', 'hyperv-image-checksum'].sort())
  })

  it('environment variables set values; bad ones are one line naming the flag', () => {
    const r = resolveOptions('hyperv', options, {}, { HYPERV_MEMORY: '2048', HYPERV_VIRTUAL_SWITCH: 'Default Switch', HYPERV_DISABLE_DYNAMIC_MEMORY: '1' })
    expect(r.values).toMatchObject({ memory: 2048, virtualSwitch: 'Default Switch', disableDynamicMemory: true, diskSize: 20000, cpuCount: 1, vlanId: 0 })
    expect(r.config).toMatchObject({ MemSize: 2048, VSwitch: 'Default Switch', DisableDynamicMemory: true })
    expect(errorLine(() => resolveOptions('hyperv', options, { 'hyperv-memory': 1023 }, {}))).toMatch(/--hyperv-memory.*must be an even number of MB from 512/)
    expect(errorLine(() => resolveOptions('hyperv', options, { 'hyperv-vlan-id': 4095 }, {}))).toMatch(/--hyperv-vlan-id.*VLAN ID from 1 to 4094/)
    expect(errorLine(() => resolveOptions('hyperv', options, { 'hyperv-static-macaddress': '01:00:5e:00:00:01' }, {}))).toMatch(/--hyperv-static-macaddress.*not a unicast MAC address/)
  })

  it('MAC addresses in the three usual spellings become Hyper-V’s; multicast and malformed ones are refused', () => {
    expect(normalizeMac('00:15:5d:01:02:03')).toBe('00155D010203')
    expect(normalizeMac('00-15-5D-01-02-03')).toBe('00155D010203')
    expect(normalizeMac('00155D010203')).toBe('00155D010203')
    for (const bad of ['01:15:5d:01:02:03', '00:15:5d:01:02', '00:15:5d:01:02:0g', "00155D01020'", '00:15-5d01:02:03:04']) expect(normalizeMac(bad), bad).toBeUndefined()
  })
})
