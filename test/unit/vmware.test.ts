/**
 * The vmware driver's pure parts: the .vmx escaping against hostile names and paths, the flat
 * descriptor, the static MAC range, the vmnet DHCP files (fixtures), vmrun's output and error
 * lines, where the tools are looked for, the flags against docker-machine's, and a suspended
 * VM's state as the .vmx names it.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { callName, installDirs, toolErrorLine, toolFailure, toolPath } from '../../drivers/vmware/client.js'
import { parseGuestIp, parseVmrunList } from '../../drivers/vmware/driver.js'
import { addressFromDhcpConf, addressFromDhcpFiles, addressFromLeases } from '../../drivers/vmware/leases.js'
import { options } from '../../drivers/vmware/options.js'
import { discardSavedState, isPlainFileName, savedStateFiles } from '../../drivers/vmware/saved-state.js'
import { escapeVmxValue, macFor, parseVmx, renderFlatDescriptor, renderVmx, unescapeVmxValue, type VmxSpec } from '../../drivers/vmware/vmx.js'
import { configKey } from '../../src/driver-kit/options.js'
import { errorLine } from '../helpers/errors.js'
import { tempDir } from '../helpers/tmp.js'
import { RECORDED_DIR, VMWARE_FIXTURES, vmwareFixture } from '../helpers/vmware-transcript.js'

const spec = (over: Partial<VmxSpec> = {}): VmxSpec => ({
  arch: 'x86_64',
  displayName: 'default',
  cpus: 1,
  memoryMb: 1024,
  networkType: 'nat',
  macAddress: '00:50:56:2a:0b:7c',
  diskFile: 'default.vmdk',
  seedFile: 'seed.iso',
  consoleFile: 'console.log',
  share: { hostPath: '/Users', guestName: 'Users' },
  ...over,
})

describe('.vmx values: VMware\'s |XX escaping', () => {
  const hostile: Array<[string, string]> = [
    ['a quote that would end the value', 'x" \nnumvcpus = "64'],
    ['a line break that would start a new key', 'x\nmemsize = "65536"'],
    ['a carriage return', 'x\rethernet0.connectionType = "bridged"'],
    ['the escape character itself', 'a|22b'],
    ['a comment sign', 'x # not a comment'],
    ['DEL and NUL', 'x\x7fy\x00z'],
    ['non-ASCII (kept as UTF-8, as VMware writes it)', '/Users/José/Ünïcode ✓ 日本'],
    ['Windows path with backslashes and spaces', 'C:\\Users\\Public\\My "VMs"'],
    ['a tab (VMware keeps it)', 'a\tb'],
  ]
  for (const [what, v] of hostile) {
    it(`${what}: one line, read back as given`, () => {
      const text = renderVmx(spec({ displayName: v, share: { hostPath: v, guestName: 'Users' } }))
      const benign = parseVmx(renderVmx(spec()))
      const parsed = parseVmx(text)
      // Same keys as a benign file (nothing injected), and the values read back as VMware's reader would.
      expect([...parsed.keys()]).toEqual([...benign.keys()])
      expect(parsed.get('displayname')).toBe(v)
      expect(parsed.get('sharedfolder0.hostpath')).toBe(v)
      expect(parsed.get('numvcpus')).toBe('1')
      expect(parsed.get('memsize')).toBe('1024')
      for (const line of text.split('\n').filter(Boolean)) expect(line).toMatch(/^[\w.:]+ = "[^"\x00-\x08\x0a-\x1f\x7f]*"$/)
    })
  }

  it('escapes exactly as DictLL_MarshalLine does', () => {
    expect(escapeVmxValue('a"b|c\nd\x7f\té')).toBe('a|22b|7Cc|0Ad|7F\té')
    expect(unescapeVmxValue('a|22b|7Cc|0Ad|7F\té')).toBe('a"b|c\nd\x7f\té')
  })

  it('refuses text with no UTF-8 form (a lone surrogate) in one line', () => {
    expect(errorLine(() => escapeVmxValue('bad\uD800name'))).toMatch(/is not well-formed text and cannot go into a VMware configuration file/)
  })

  it('writes no share lines without a share, and hgfs off', () => {
    const vmx = parseVmx(renderVmx(spec({ share: undefined })))
    expect([...vmx.keys()].filter((k) => k.startsWith('sharedfolder0'))).toEqual([])
    expect(vmx.get('isolation.tools.hgfs.disable')).toBe('TRUE')
    expect(vmx.get('sharedfolder.maxnum')).toBe('0')
  })

  it('arm64 (Fusion on Apple silicon): UEFI, hardware 20, an arm guest', () => {
    const vmx = parseVmx(renderVmx(spec({ arch: 'aarch64' })))
    expect([vmx.get('firmware'), vmx.get('virtualhw.version'), vmx.get('guestos')]).toEqual(['efi', '20', 'arm-other5xlinux-64'])
  })
})

describe('the flat descriptor of a raw image', () => {
  it('names the image read-only with its size in sectors and a geometry', () => {
    const d = renderFlatDescriptor('/Users/José/.docker/machine/cache/debian 12.raw', 2 * 1024 ** 3, 'x86_64')
    expect(d).toMatch(/^# Disk DescriptorFile\n/)
    expect(d).toContain('createType="monolithicFlat"')
    expect(d).toContain('RDONLY 4194304 FLAT "/Users/José/.docker/machine/cache/debian 12.raw" 0')
    expect(d).toContain('ddb.geometry.cylinders = "261"')
    expect(d).toContain('ddb.virtualHWVersion = "10"')
  })
  it('refuses a path a descriptor cannot hold, in one line with the fix', () => {
    for (const p of ['/tmp/a"b.raw', '/tmp/a\nRW 1 FLAT "/etc/shadow" 0']) {
      expect(errorLine(() => renderFlatDescriptor(p, 512, 'x86_64'))).toMatch(/has a quote or control character.*move the image/)
    }
  })
})

describe('the static MAC', () => {
  it('stays in VMware\'s manual range 00:50:56:00:00:00-00:50:56:3F:FF:FF', () => {
    expect(macFor(Buffer.from([0xff, 0xff, 0xff]))).toBe('00:50:56:3f:ff:ff')
    expect(macFor(Buffer.from([0x40, 0x01, 0x02]))).toBe('00:50:56:00:01:02')
  })
})

describe('the vmnet DHCP files', () => {
  const leases = vmwareFixture('dhcpd.leases')
  it('finds the lease of a MAC that ends last, whatever the case of the MAC or the order of the file', () => {
    expect(addressFromLeases(leases, '00:50:56:2A:0B:7C')).toBe('192.168.101.131')
    expect(addressFromLeases(leases, '00:0c:29:9e:41:d2')).toBe('192.168.101.130')
    expect(addressFromLeases(leases, '00:50:56:00:00:01')).toBeUndefined()
  })
  it('reads Windows\' CRLF vmnetdhcp.leases', () => {
    expect(addressFromLeases(vmwareFixture('vmnetdhcp.leases'), '00:50:56:3f:00:01')).toBe('192.168.183.128')
  })
  it('"ends never" beats any date', () => {
    const text = `${leases}lease 192.168.101.200 {\n\tstarts 5 2026/12/04 19:00:00;\n\tends never;\n\thardware ethernet 00:50:56:2a:0b:7c;\n}\n`
    expect(addressFromLeases(text, '00:50:56:2a:0b:7c')).toBe('192.168.101.200')
  })
  it('finds a fixed address of a host block in dhcpd.conf (not the vmnet adapter\'s own)', () => {
    const conf = vmwareFixture('dhcpd.conf')
    expect(addressFromDhcpConf(conf, '00:50:56:2a:0b:7c')).toBe('192.168.101.50')
    expect(addressFromDhcpConf(conf, '00:50:56:00:00:01')).toBeUndefined()
  })
  it('of several leases files, takes the MAC\'s newest lease in any', async () => {
    const dir = await tempDir('vmware-leases-')
    const older = join(dir, 'vmnet1.leases')
    await writeFile(older, 'lease 192.168.57.128 {\n\tends 5 2026/12/04 23:30:00;\n\thardware ethernet 00:50:56:2a:0b:7c;\n}\n')
    const l = join(VMWARE_FIXTURES, 'dhcpd.leases')
    expect(addressFromDhcpFiles({ conf: [], leases: [older, l] }, '00:50:56:2a:0b:7c')).toBe('192.168.57.128')
    expect(addressFromDhcpFiles({ conf: [], leases: [l, older] }, '00:50:56:2a:0b:7c')).toBe('192.168.57.128')
  })
  it('asks dhcpd.conf first, then the leases; missing files are no error', () => {
    const conf = join(VMWARE_FIXTURES, 'dhcpd.conf')
    const l = join(VMWARE_FIXTURES, 'dhcpd.leases')
    expect(addressFromDhcpFiles({ conf: [conf], leases: [l] }, '00:50:56:2a:0b:7c')).toBe('192.168.101.50')
    expect(addressFromDhcpFiles({ conf: ['/nonexistent/dhcpd.conf'], leases: ['/nonexistent/x.leases', l] }, '00:50:56:2a:0b:7c')).toBe('192.168.101.131')
  })
})

describe('vmrun output', () => {
  it('list: the running .vmx paths, with spaces and CRLF', () => {
    expect(parseVmrunList(vmwareFixture('vmrun-list-running.txt'))).toEqual(['/Users/ada/Virtual Machines.localized/Windows 11.vmwarevm/Windows 11.vmx', `${RECORDED_DIR}/default.vmx`])
    expect(parseVmrunList(vmwareFixture('vmrun-list-windows.txt'))).toEqual(['C:\\Users\\ada\\.docker\\machine\\machines\\default\\default.vmx'])
    expect(parseVmrunList(vmwareFixture('vmrun-list-none.txt'))).toEqual([])
  })
  it('getGuestIPAddress: the address; "unknown" is none', () => {
    expect(parseGuestIp(vmwareFixture('getGuestIPAddress.txt'))).toBe('192.168.101.128')
    expect(parseGuestIp('unknown\n')).toBeUndefined()
  })
  it('errors: the tool\'s reason in one line naming the call, without the VM\'s path', () => {
    const vmx = `${RECORDED_DIR}/default.vmx`
    expect(toolFailure('vmrun', ['-T', 'ws', 'stop', vmx, 'soft'], vmwareFixture('error-not-powered-on.txt'), 255).message).toBe('vmrun stop failed: The virtual machine is not powered on')
    expect(toolFailure('vmrun', ['-T', 'ws', 'stop', vmx, 'soft'], vmwareFixture('error-not-powered-on.txt'), 255).notPoweredOn).toBe(true)
    expect(toolFailure('vmrun', ['-T', 'ws', 'deleteVM', vmx], vmwareFixture('error-cannot-open.txt'), 255).notFound).toBe(true)
    expect(toolErrorLine(vmwareFixture('vdiskmanager-error-not-a-disk.txt'))).toBe('Failed to convert disk: The file specified is not a virtual disk (0x3ee8).')
    expect(callName('vmware-vdiskmanager', ['-x', '20000MB', '/x.vmdk'])).toBe('vmware-vdiskmanager -x')
    const tools = toolFailure('vmrun', ['-T', 'ws', 'getGuestIPAddress', vmx, '-wait'], vmwareFixture('error-tools-not-running.txt'), 255)
    expect(tools.message).toBe('vmrun getGuestIPAddress failed: The VMware Tools are not running in the virtual machine')
    expect(tools.hint).toMatch(/reads the vmnet DHCP leases/)
  })
})

describe('where the tools are found', () => {
  it('in each platform\'s usual install location', () => {
    expect(installDirs('darwin', {})[0]).toBe('/Applications/VMware Fusion.app/Contents/Library')
    expect(installDirs('win32', { 'ProgramFiles(x86)': 'C:\\Program Files (x86)' })[0]).toMatch(/^C:\\Program Files \(x86\)[\\/]VMware[\\/]VMware Workstation$/)
    expect(installDirs('linux', {})).toContain('/usr/bin')
  })
  it('$MACHINE_VMRUN wins; then PATH; nowhere is one line with the fix', async () => {
    expect(toolPath('vmrun', { MACHINE_VMRUN: '/opt/x/vmrun' }, 'linux')).toBe('/opt/x/vmrun')
    const dir = await tempDir('vmware-path-')
    await mkdir(join(dir, 'bin'))
    await writeFile(join(dir, 'bin', 'vmware-vdiskmanager'), '', { mode: 0o755 })
    expect(toolPath('vmware-vdiskmanager', { PATH: join(dir, 'bin') }, 'linux')).toBe(join(dir, 'bin', 'vmware-vdiskmanager'))
    expect(errorLine(() => toolPath('vmrun', { PATH: join(dir, 'bin') }, 'freebsd'))).toMatch(/^vmrun was not found on PATH nor where VMware installs it.*install VMware Fusion.*MACHINE_VMRUN/)
  })
})

describe('the flags against docker-machine\'s vmware driver', () => {
  // machine-drivers/docker-machine-driver-vmware config.go GetCreateFlags: name, env var, default.
  const dm: Array<[string, string, unknown]> = [
    ['boot2docker-url', 'VMWARE_BOOT2DOCKER_URL', undefined],
    ['configdrive-url', 'VMWARE_CONFIGDRIVE_URL', undefined],
    ['cpu-count', 'VMWARE_CPU_COUNT', 1],
    ['memory-size', 'VMWARE_MEMORY_SIZE', 1024],
    ['disk-size', 'VMWARE_DISK_SIZE', 20000],
    ['ssh-user', 'VMWARE_SSH_USER', 'docker'],
    ['no-share', 'VMWARE_NO_SHARE', undefined],
    ['wait-ip', 'VMWARE_WAIT_IP', 30000],
    ['network-type', 'VMWARE_NETWORK_TYPE', 'nat'],
  ]
  for (const [name, env, def] of dm) {
    it(`--vmware-${name} (${env}, default ${String(def ?? 'none')})`, () => {
      const o = options.find((x) => x.name === name)
      expect(o, name).toBeDefined()
      expect(o!.env).toEqual([env])
      expect((o as { default?: unknown }).default).toEqual(def)
    })
  }
  it('saves docker-machine\'s field names', () => {
    expect(options.map((o) => configKey(o))).toEqual(expect.arrayContaining(['CPU', 'Memory', 'DiskSize', 'SSHUser', 'NoShare', 'WaitIP', 'NetworkType', 'Boot2DockerURL', 'ConfigDriveURL']))
  })
})

describe('a suspended VM\'s state, as the .vmx names it (saved-state.ts)', () => {
  it('only a plain file name counts: no directory part in either separator, no drive, no . or .., no control character', () => {
    for (const ok of ['default.vmss', 'my vm-1.vmss', 'José.vmss']) expect(isPlainFileName(ok), ok).toBe(true)
    for (const bad of ['', '.', '..', '../x.vmss', 'a/x.vmss', 'a\\x.vmss', '/tmp/x.vmss', 'C:x.vmss', 'C:\\x.vmss', 'x\n.vmss', 'x\u0000.vmss']) expect(isPlainFileName(bad), JSON.stringify(bad)).toBe(false)
  })

  it('reads the key case-blind and |XX-escaped, as VMware does; a name not ending .vmss or a missing file is no state', async () => {
    const dir = await tempDir('vmware-ss-')
    const vmx = join(dir, 'default.vmx')
    await writeFile(join(dir, 'my|vm.vmss'), 'state')
    await writeFile(vmx, '.encoding = "UTF-8"\r\nCheckPoint.VMState = "my|7Cvm.vmss"\r\n')
    expect(savedStateFiles(vmx)).toEqual({ vmss: join(dir, 'my|vm.vmss'), vmem: join(dir, 'my|vm.vmem') })
    await writeFile(vmx, 'checkpoint.vmState = "default.vmx"\n')
    expect(savedStateFiles(vmx)).toBeUndefined()
    await writeFile(vmx, 'checkpoint.vmState = "gone.vmss"\n')
    expect(savedStateFiles(vmx)).toBeUndefined()
    expect(savedStateFiles(join(dir, 'missing.vmx'))).toBeUndefined()
  })

  it('a discard deletes the state and its memory and clears only that value, CRLF lines and all kept; a .vmx without one is not rewritten', async () => {
    const dir = await tempDir('vmware-ss-')
    const vmx = join(dir, 'default.vmx')
    await writeFile(join(dir, 'default.vmss'), 'state')
    await writeFile(join(dir, 'default.vmem'), 'memory')
    const text = '.encoding = "UTF-8"\r\ndisplayName = "default"\r\ncheckpoint.vmState = "default.vmss"\r\nmemsize = "1024"\r\n'
    await writeFile(vmx, text)
    expect(await discardSavedState(vmx)).toBe(true)
    expect(existsSync(join(dir, 'default.vmss')) || existsSync(join(dir, 'default.vmem'))).toBe(false)
    expect(await readFile(vmx, 'utf8')).toBe(text.replace('"default.vmss"', '""'))
    expect(savedStateFiles(vmx)).toBeUndefined()
    expect(await discardSavedState(vmx)).toBe(false)
  })
})
