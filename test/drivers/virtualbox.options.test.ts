/**
 * The virtualbox driver's flag surface against docker-machine's (drivers/virtualbox/virtualbox.go,
 * GetCreateFlags, transcribed below): every flag present with its environment variable and
 * default, except where issue 14 says otherwise (and the option's help says why).
 */
import { describe, expect, it } from 'vitest'
import virtualbox from '../../drivers/virtualbox/index.js'
import { DEFAULT_HOSTONLY_CIDR, hostOnlyCidrProblem, parseShareFolder } from '../../drivers/virtualbox/options.js'
import { flagName, resolveOptions, type OptionSpec } from '../../src/driver-kit/options.js'
import { errorLine } from '../helpers/errors.js'

/** docker-machine v0.16's virtualbox flags: name, env var, default ('' for none, false for booleans). */
const DOCKER_MACHINE_FLAGS: Array<[string, string, string | number | boolean]> = [
  ['virtualbox-memory', 'VIRTUALBOX_MEMORY_SIZE', 1024],
  ['virtualbox-cpu-count', 'VIRTUALBOX_CPU_COUNT', 1],
  ['virtualbox-disk-size', 'VIRTUALBOX_DISK_SIZE', 20000],
  ['virtualbox-boot2docker-url', 'VIRTUALBOX_BOOT2DOCKER_URL', ''],
  ['virtualbox-import-boot2docker-vm', 'VIRTUALBOX_BOOT2DOCKER_IMPORT_VM', ''],
  ['virtualbox-host-dns-resolver', 'VIRTUALBOX_HOST_DNS_RESOLVER', false],
  ['virtualbox-nat-nictype', 'VIRTUALBOX_NAT_NICTYPE', '82540EM'],
  ['virtualbox-hostonly-cidr', 'VIRTUALBOX_HOSTONLY_CIDR', '192.168.99.1/24'],
  ['virtualbox-hostonly-nictype', 'VIRTUALBOX_HOSTONLY_NIC_TYPE', '82540EM'],
  ['virtualbox-hostonly-nicpromisc', 'VIRTUALBOX_HOSTONLY_NIC_PROMISC', 'deny'],
  ['virtualbox-ui-type', 'VIRTUALBOX_UI_TYPE', 'headless'],
  ['virtualbox-hostonly-no-dhcp', 'VIRTUALBOX_HOSTONLY_NO_DHCP', false],
  ['virtualbox-no-share', 'VIRTUALBOX_NO_SHARE', false],
  ['virtualbox-no-dns-proxy', 'VIRTUALBOX_NO_DNS_PROXY', false],
  ['virtualbox-no-vtx-check', 'VIRTUALBOX_NO_VTX_CHECK', false],
  ['virtualbox-share-folder', 'VIRTUALBOX_SHARE_FOLDER', ''],
]

/** Where issue 14 departs from docker-machine's default, and why. */
const CHANGED_DEFAULTS: Record<string, string | number> = {
  // VirtualBox >= 6.1.28 refuses 192.168.99.1 (outside 192.168.56.0/21) with E_ACCESSDENIED.
  'virtualbox-hostonly-cidr': DEFAULT_HOSTONLY_CIDR,
}

const options = virtualbox.options as readonly OptionSpec[]
const byFlag = new Map(options.map((o) => [flagName('virtualbox', o), o]))
const resolve = (flags: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) => resolveOptions('virtualbox', options, flags, env)

describe('virtualbox flags vs docker-machine', () => {
  it('has every docker-machine flag with its environment variable and default (changed only where issue 14 says)', () => {
    const defaults = resolve().values
    for (const [flag, env, dflt] of DOCKER_MACHINE_FLAGS) {
      const o = byFlag.get(flag)
      expect(o, flag).toBeDefined()
      expect(o!.env, flag).toEqual([env])
      const want = CHANGED_DEFAULTS[flag] ?? dflt
      const got = defaults[flag.replace('virtualbox-', '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())]
      expect(got ?? '', flag).toEqual(want)
    }
    expect(CHANGED_DEFAULTS['virtualbox-hostonly-cidr']).toBe('192.168.56.1/24')
    // Ours beyond docker-machine's: the cloud image that replaces boot2docker.
    expect([...byFlag.keys()].filter((f) => !DOCKER_MACHINE_FLAGS.some(([d]) => d === f))).toEqual(['virtualbox-image', 'virtualbox-image-checksum'])
  })

  it('saves under docker-machine’s config field names, so an imported store reads the same', () => {
    expect(Object.keys(resolve().config).sort()).toEqual(
      ['CPU', 'DiskSize', 'HostDNSResolver', 'HostOnlyCIDR', 'HostOnlyNicType', 'HostOnlyNoDHCP', 'HostOnlyPromiscMode', 'Image', 'Memory', 'NatNicType', 'NoDNSProxy', 'NoShare', 'NoVTXCheck', 'UIType'].sort(),
    )
    // An imported docker-machine machine (192.168.99.1/24, empty boot2docker fields) stays usable.
    const saved = resolveOptions('virtualbox', options, {}, {}, { config: { HostOnlyCIDR: '192.168.99.1/24', Boot2DockerURL: 'https://github.com/boot2docker/boot2docker/releases/download/v19.03.12/boot2docker.iso', CPU: 2, Memory: 2048 } })
    expect(saved.values).toMatchObject({ hostonlyCidr: '192.168.99.1/24', cpuCount: 2, memory: 2048 })
  })

  it('environment variables set options as docker-machine’s did', () => {
    const v = resolve({}, { VIRTUALBOX_MEMORY_SIZE: '4096', VIRTUALBOX_CPU_COUNT: '-1', VIRTUALBOX_NO_SHARE: 'true', VIRTUALBOX_UI_TYPE: 'gui', VIRTUALBOX_HOSTONLY_CIDR: '192.168.57.1/24' }).values
    expect(v).toMatchObject({ memory: 4096, cpuCount: -1, noShare: true, uiType: 'gui', hostonlyCidr: '192.168.57.1/24' })
  })

  it('answers the boot2docker flags with one line saying what replaces them', () => {
    expect(errorLine(() => resolve({ 'virtualbox-boot2docker-url': 'https://example.invalid/b2d.iso' }))).toBe(
      '--virtualbox-boot2docker-url: boot2docker is no longer used (it ended in 2020): give a cloud image with --virtualbox-image URL instead, or leave it out for the default Debian image',
    )
    expect(errorLine(() => resolve({}, { VIRTUALBOX_BOOT2DOCKER_IMPORT_VM: 'default' }))).toBe(
      '--virtualbox-import-boot2docker-vm from $VIRTUALBOX_BOOT2DOCKER_IMPORT_VM: importing a boot2docker VM is no longer supported (boot2docker ended in 2020): create a new machine instead and copy your data over',
    )
  })

  it('refuses bad values in one line naming the flag', () => {
    expect(errorLine(() => resolve({ 'virtualbox-hostonly-cidr': '192.168.56.0/24' }))).toBe('--virtualbox-hostonly-cidr: "192.168.56.0/24" is a network address: give the host\'s address on it, e.g. 192.168.56.1/24')
    expect(errorLine(() => resolve({ 'virtualbox-hostonly-cidr': 'vboxnet0' }))).toMatch(/^--virtualbox-hostonly-cidr: "vboxnet0" is not an IPv4 address with a prefix length/)
    expect(hostOnlyCidrProblem('192.168.56.255/24')).toMatch(/broadcast/)
    expect(hostOnlyCidrProblem('192.168.56.1/30')).toMatch(/from \/8 to \/29/)
    expect(errorLine(() => resolve({ 'virtualbox-cpu-count': '0' }))).toBe('--virtualbox-cpu-count: must be -1 (all CPUs) or a whole number from 1 to 64')
    expect(errorLine(() => resolve({ 'virtualbox-nat-nictype': 'e1000' }))).toMatch(/^--virtualbox-nat-nictype must be one of Am79C970A, Am79C973, Am79C960, 82540EM, 82543GC, 82545EM, virtio, got "e1000"/)
    expect(errorLine(() => resolve({ 'virtualbox-ui-type': 'vnc' }))).toMatch(/^--virtualbox-ui-type must be one of gui, sdl, headless, separate/)
    expect(errorLine(() => resolve({ 'virtualbox-share-folder': '/srv/data' }))).toMatch(/^--virtualbox-share-folder: "\/srv\/data" is not dir:name/)
    expect(errorLine(() => resolve({ 'virtualbox-share-folder': '/srv:../etc' }))).toMatch(/is not dir:name/)
  })

  it('share folder: dir:name split at the last colon (Windows drive letters work)', () => {
    expect(parseShareFolder('/srv/data:data')).toEqual({ dir: '/srv/data', name: 'data' })
    expect(parseShareFolder('C:\\Users\\ada\\src:src')).toEqual({ dir: 'C:\\Users\\ada\\src', name: 'src' })
    expect(parseShareFolder('data')).toBeUndefined()
  })
})
