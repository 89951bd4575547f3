/**
 * The virtualbox driver's pure parts against the real tool's recorded output: VBoxManage's
 * formats, its errors as one line, the version and VT-x checks, and the host-only network's
 * reuse / collision / address rules.
 */
import type { NetworkInterfaceInfo } from 'node:os'
import { describe, expect, it } from 'vitest'
import { subcommand, vboxErrorLine, vboxFailure, vboxManageAt, VBoxManageError, vboxManagePath } from '../../drivers/virtualbox/client.js'
import { diskFormat } from '../../drivers/virtualbox/disk.js'
import { collision, macForAddress, matchingAdapter, parseHostOnlyCidr, pickGuestAddress } from '../../drivers/virtualbox/hostonly.js'
import {
  createdInterface,
  createdUuid,
  forwardedPort,
  machineState,
  mediumCapacityMb,
  parseDhcpServers,
  parseHostOnlyIfs,
  parseMachineReadable,
  parseVersion,
} from '../../drivers/virtualbox/parse.js'
import { checkVirtualization, hasVtx, vtxProblemInLog } from '../../drivers/virtualbox/vtx.js'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errorLineAsync } from '../helpers/errors.js'
import { tempDir } from '../helpers/tmp.js'
import { fixture } from '../helpers/vbox-transcript.js'

const iface = (address: string, bits: number, internal = false): NetworkInterfaceInfo =>
  ({ address, netmask: '', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/${bits}` }) as NetworkInterfaceInfo

describe('VBoxManage output formats', () => {
  it('showvminfo --machinereadable: quoted keys and values, the stray lines of VirtualBox 7, every VMState', () => {
    const info = parseMachineReadable(fixture('showvminfo-running.txt'))
    expect(info.get('VMState')).toBe('running')
    expect(info.get('"SATA-1-0"')).toBeUndefined()
    expect(info.get('SATA-1-0')).toBe('/Users/ada/.docker/machine/machines/default/disk.vdi')
    expect(info.get('CfgFile')).toBe('/Users/ada/.docker/machine/machines/default/default/default.vbox')
    expect(info.get('memory')).toBe('1024')
    expect(info.get('BIOS NVRAM File')).toBe('/Users/ada/.docker/machine/machines/default/default/default.nvram')
    expect(info.has('Encryption')).toBe(false)
    expect(forwardedPort(info, 'ssh')).toBe(50022)
    expect(forwardedPort(info, 'docker')).toBe(50376)
    expect(parseMachineReadable('name="a \\"b\\" \\\\c"\n').get('name')).toBe('a "b" \\c')
    const states = Object.fromEntries(['running', 'poweroff', 'paused', 'saved', 'aborted'].map((s) => [s, machineState(parseMachineReadable(fixture(`showvminfo-${s}.txt`)).get('VMState'))]))
    expect(states).toEqual({ running: 'Running', poweroff: 'Stopped', paused: 'Paused', saved: 'Saved', aborted: 'Stopped' })
    // docker-machine's recorded edge cases: an unknown or empty state is no state.
    expect(machineState('whatever')).toBe('')
    expect(machineState(parseMachineReadable('VMState=').get('VMState'))).toBe('')
  })

  it('list hostonlyifs: names (Windows ones with spaces), address, mask as a prefix (the 0f000000 misreport as unknown)', () => {
    expect(parseHostOnlyIfs(fixture('list-hostonlyifs.txt'))).toEqual([
      { name: 'vboxnet0', ip: '192.168.56.1', bits: 24, dhcp: false, status: 'Up', networkName: 'HostInterfaceNetworking-vboxnet0' },
      { name: 'vboxnet1', ip: '169.254.37.187', bits: 16, dhcp: false, status: 'Down', networkName: 'HostInterfaceNetworking-vboxnet1' },
    ])
    expect(parseHostOnlyIfs(fixture('list-hostonlyifs-windows.txt'))[0]!.name).toBe('VirtualBox Host-Only Ethernet Adapter')
    expect(parseHostOnlyIfs(fixture('list-hostonlyifs-buggy-mask.txt'))[0]).toMatchObject({ name: 'VirtualBox Host-Only Ethernet Adapter #2', ip: '192.168.57.1', bits: undefined })
    expect(parseHostOnlyIfs('')).toEqual([])
  })

  it('list dhcpservers: VirtualBox >= 6.1 ("Dhcpd IP", indented options) and 5 ("IP", lowerIPAddress)', () => {
    expect(parseDhcpServers(fixture('list-dhcpservers.txt'))).toEqual([
      { networkName: 'HostInterfaceNetworking-vboxnet0', ip: '192.168.56.100', lower: '192.168.56.101', upper: '192.168.56.254', enabled: true },
      { networkName: 'HostInterfaceNetworking-vboxnet2', ip: '192.168.57.100', lower: '192.168.57.101', upper: '192.168.57.254', enabled: true },
    ])
    expect(parseDhcpServers(fixture('list-dhcpservers-5.txt'))).toEqual([
      { networkName: 'HostInterfaceNetworking-vboxnet0', ip: '192.168.99.6', lower: '192.168.99.100', upper: '192.168.99.254', enabled: true },
      { networkName: 'HostInterfaceNetworking-vboxnet1', ip: '192.168.99.7', lower: '192.168.99.100', upper: '192.168.99.254', enabled: false },
    ])
  })

  it('--version of release and distribution builds; created interface, UUID and medium capacity', () => {
    expect(parseVersion(fixture('version-7.0.txt'))).toEqual({ major: 7, minor: 0, patch: 14, raw: '7.0.14r161095' })
    expect(parseVersion(fixture('version-6.1-debian.txt'))).toMatchObject({ major: 6, minor: 1, patch: 50 })
    expect(parseVersion(fixture('version-5.2-ubuntu.txt'))).toMatchObject({ major: 5, minor: 2, patch: 44 })
    // A warning before the version (a kernel module not loaded) does not hide it.
    expect(parseVersion('WARNING: The vboxdrv kernel module is not loaded.\n6.1.38r153438\n')).toMatchObject({ major: 6, minor: 1 })
    expect(parseVersion('garbage')).toBeUndefined()
    expect(createdInterface(fixture('hostonlyif-create.txt'))).toBe('vboxnet2')
    expect(createdInterface(fixture('hostonlyif-create-windows.txt'))).toBe('VirtualBox Host-Only Ethernet Adapter #2')
    expect(createdUuid(fixture('createvm.txt'))).toBe('3b0e6a4c-5f2a-4d8e-9c1b-2a7f6e0d9c11')
    expect(mediumCapacityMb(fixture('showmediuminfo.txt'))).toBe(2048)
  })

  it('disk formats from their first bytes', async () => {
    const dir = await tempDir('vbox-fmt-')
    const write = async (name: string, head: Buffer) => {
      const b = Buffer.alloc(4096)
      head.copy(b)
      await writeFile(join(dir, name), b)
      return join(dir, name)
    }
    const vdi = Buffer.alloc(72)
    vdi.write('<<< Oracle VM VirtualBox Disk Image >>>\n', 0, 'latin1')
    vdi.writeUInt32LE(0xbeda107f, 64)
    expect(await diskFormat(await write('a.vdi', vdi))).toBe('vdi')
    expect(await diskFormat(await write('a.qcow2', Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3])))).toBe('qcow2')
    expect(await diskFormat(await write('a.vmdk', Buffer.from('KDMV', 'latin1')))).toBe('vmdk')
    expect(await diskFormat(await write('b.vmdk', Buffer.from('# Disk DescriptorFile\n', 'latin1')))).toBe('vmdk')
    expect(await diskFormat(await write('a.vhd', Buffer.from('conectix', 'latin1')))).toBe('vhd')
    expect(await diskFormat(await write('a.raw', Buffer.from([0xeb, 0x63, 0x90])))).toBe('raw')
  })
})

describe('VBoxManage errors as one line', () => {
  it('keeps VirtualBox’s reason, drops the Details/Context lines, names the call without the VM', () => {
    expect(vboxErrorLine(fixture('error-not-found.txt'))).toBe("Could not find a registered machine named 'default'")
    expect(vboxErrorLine(fixture('error-hostonlyif-create.txt'))).toBe('Failed to create the host-only adapter')
    expect(vboxErrorLine('something odd\n')).toBe('something odd')
    // startvm: the reason, not the generic line before it.
    expect(vboxErrorLine(fixture('error-nat-redir.txt'))).toBe('NAT#0: configuration error: failed to set up redirection of 50022 to 10.0.2.15:22. Probably a conflict with existing services or other rules (VERR_NAT_REDIR_SETUP).')
    expect(vboxErrorLine('VBoxManage: error: Failed to open a session for the virtual machine default.\n')).toBe('Failed to open a session for the virtual machine default.')
    expect(vboxFailure(['showvminfo', 'default', '--machinereadable'], fixture('error-not-found.txt'), 1).line).toBe("VBoxManage showvminfo failed: Could not find a registered machine named 'default'")
    expect(vboxFailure(['showvminfo', 'default'], fixture('error-not-found.txt'), 1).notFound).toBe(true)
    expect(vboxFailure(['startvm', 'default'], fixture('error-vtx.txt'), 1).notFound).toBe(false)
    expect(vboxFailure(['unregistervm', 'default', '--delete'], '', 1).line).toBe('VBoxManage unregistervm failed: exit code 1')
    expect(subcommand(['controlvm', 'default', 'acpipowerbutton'])).toBe('controlvm acpipowerbutton')
    expect(subcommand(['hostonlyif', 'ipconfig', 'vboxnet0', '--ip', '1.2.3.4'])).toBe('hostonlyif ipconfig')
  })

  it('adds the fix where one is known: E_ACCESSDENIED of a host-only address, VT-x, Hyper-V', () => {
    expect(vboxFailure(['hostonlyif', 'ipconfig', 'vboxnet1', '--ip', '192.168.99.1', '--netmask', '255.255.255.0'], fixture('error-accessdenied.txt'), 1).line).toBe(
      'VBoxManage hostonlyif ipconfig failed: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available): VirtualBox >= 6.1.28 allows host-only addresses in 192.168.56.0/21 only: use a --virtualbox-hostonly-cidr there, or list your range in /etc/vbox/networks.conf (e.g. "* 10.0.0.0/8 192.168.0.0/16")',
    )
    expect(vboxFailure(['startvm', 'default', '--type', 'headless'], fixture('error-vtx.txt'), 1).line).toMatch(/^VBoxManage startvm failed: VT-x is not available \(VERR_VMX_NO_VMX\): enable hardware virtualization/)
    expect(vboxFailure(['startvm', 'default'], 'VBoxManage: error: Call to NEMR3Init failed: VERR_NEM_NOT_AVAILABLE\n', 1).hint).toMatch(/^Hyper-V/)
  })

  it('finds VBoxManage: $MACHINE_VBOXMANAGE, else PATH; missing is one line saying how to install it', async () => {
    expect(vboxManagePath({ MACHINE_VBOXMANAGE: '/opt/x/VBoxManage' })).toBe('/opt/x/VBoxManage')
    const dir = await tempDir('vbox-path-')
    await writeFile(join(dir, 'VBoxManage'), '#!/bin/sh\n', { mode: 0o755 })
    expect(vboxManagePath({ PATH: dir }, 'freebsd')).toBe(join(dir, 'VBoxManage'))
    expect(await errorLineAsync(async () => vboxManagePath({ PATH: await tempDir('empty-') }, 'freebsd'))).toMatch(
      /^VBoxManage was not found on PATH nor where VirtualBox installs it: install VirtualBox >= 5 from https:\/\/www\.virtualbox\.org\/wiki\/Downloads/,
    )
  })
})

describe('hardware virtualization', () => {
  it('reads VT-x/AMD-V from the CPU flags (Linux, macOS Intel and Apple silicon)', () => {
    expect(hasVtx('linux', 'flags\t: fpu vme vmx sse')).toBe(true)
    expect(hasVtx('linux', 'flags\t: fpu svm sse')).toBe(true)
    expect(hasVtx('linux', 'flags\t: fpu sse hypervisor')).toBe(false)
    expect(hasVtx('darwin', 'FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV PAT PSE36 CLFSH DS ACPI MMX FXSR SSE SSE2 SS HTT TM PBE SSE3 PCLMULQDQ DTES64 MON DSCPL VMX SMX EST\n1\n')).toBe(true)
    expect(hasVtx('darwin', '\n1\n')).toBe(true)
    expect(hasVtx('darwin', 'FPU SSE\n0\n')).toBe(false)
    expect(hasVtx('linux', undefined)).toBeUndefined()
  })

  it('the pre-create check: Hyper-V on Windows explained, VT-x missing refused, unknown let through', async () => {
    const probe = (platform: NodeJS.Platform, features: string | undefined, hv: boolean | undefined) => ({ platform, cpuFeatures: async () => features, hypervisorPresent: async () => hv })
    expect(await errorLineAsync(() => checkVirtualization(probe('win32', 'vmx', true), () => {}))).toMatch(/^Hyper-V is enabled on this computer/)
    expect(await errorLineAsync(() => checkVirtualization(probe('linux', 'fpu', false), () => {}))).toMatch(/^This computer doesn't have VT-x\/AMD-V available: /)
    await expect(checkVirtualization(probe('linux', undefined, false), () => {})).resolves.toBeUndefined()
    await expect(checkVirtualization(probe('win32', 'vmx', false), () => {})).resolves.toBeUndefined()
  })

  it('finds a VT-x/AMD-V or Hyper-V failure in VBox.log, not the raw-mode fallback of old versions', () => {
    expect(vtxProblemInLog(fixture('vbox-log-vtx.txt'))?.line).toMatch(/^The VM could not use VT-x\/AMD-V \(VBox\.log: "HM: HMR3Init: VT-x is disabled in the BIOS for all CPU modes"\): enable/)
    expect(vtxProblemInLog(fixture('vbox-log-hyperv.txt'))?.line).toMatch(/^The VM could not start: Hyper-V holds the processor's virtualization \(VBox\.log: "VMSetError: Call to NEMR3Init failed: VERR_NEM_NOT_AVAILABLE"\): Hyper-V/)
    expect(vtxProblemInLog(fixture('vbox-log-rawmode.txt'))).toBeUndefined()
    expect(vtxProblemInLog(fixture('vbox-log-ok.txt'))).toBeUndefined()
  })
})

describe('host-only network', () => {
  const c = parseHostOnlyCidr('192.168.56.1/24')
  const adapters = parseHostOnlyIfs(fixture('list-hostonlyifs.txt'))

  it('reuses the adapter with the host address and mask (also the misreported mask of a fresh one)', () => {
    expect(matchingAdapter(adapters, c)?.name).toBe('vboxnet0')
    expect(matchingAdapter(adapters, parseHostOnlyCidr('192.168.56.1/21'))).toBeUndefined()
    expect(matchingAdapter(parseHostOnlyIfs(fixture('list-hostonlyifs-buggy-mask.txt')), parseHostOnlyCidr('192.168.57.1/24'))?.name).toBe('VirtualBox Host-Only Ethernet Adapter #2')
  })

  it('refuses a CIDR overlapping a host interface or another adapter, naming both; host-only adapters and loopback are not host interfaces', () => {
    const host = { en0: [iface('192.168.1.23', 24)], lo0: [iface('127.0.0.1', 8, true)], vboxnet0: [iface('192.168.56.1', 24)] }
    expect(collision(c, host, adapters)).toBeUndefined()
    expect(collision(parseHostOnlyCidr('192.168.1.200/24'), host, adapters)).toBe(
      '--virtualbox-hostonly-cidr 192.168.1.200/24 collides with the host interface en0 (192.168.1.23/24): choose another network for --virtualbox-hostonly-cidr, e.g. inside 192.168.56.0/21',
    )
    // A wider network containing the host's LAN collides too.
    expect(collision(parseHostOnlyCidr('192.168.0.1/16'), { en0: [iface('192.168.1.23', 24)] }, [])).toMatch(/collides with the host interface en0/)
    expect(collision(parseHostOnlyCidr('192.168.56.5/24'), host, adapters)).toBe(
      '--virtualbox-hostonly-cidr 192.168.56.5/24 overlaps the host-only adapter vboxnet0 (192.168.56.1/24): give its address exactly (192.168.56.1/24) to share it, or a network apart from it',
    )
    // An unconfigured adapter (169.254.x) collides with nothing.
    expect(collision(parseHostOnlyCidr('169.254.1.1/16'), {}, adapters)).toBeUndefined()
  })

  it('gives each machine the lowest free address, outside the host address and any DHCP server’s range', () => {
    const dhcp = parseDhcpServers(fixture('list-dhcpservers.txt'))
    expect(pickGuestAddress(c, new Set(), dhcp)).toBe('192.168.56.2')
    expect(pickGuestAddress(c, new Set(['192.168.56.2', '192.168.56.3']), dhcp)).toBe('192.168.56.4')
    const host5 = parseHostOnlyCidr('192.168.56.5/29')
    expect(pickGuestAddress(host5, new Set(), [])).toBe('192.168.56.1')
    // A /24 whose DHCP range leaves .2-.99: full after 98 machines.
    const taken = new Set(Array.from({ length: 98 }, (_, i) => `192.168.56.${i + 2}`))
    expect(() => pickGuestAddress(c, taken, dhcp)).toThrow(/^The host-only network 192\.168\.56\.0\/24 has no free address left$/)
    expect(macForAddress('192.168.56.2')).toBe('080027A83802')
  })
})

describe('the real runner (vboxManageAt) on a stand-in program', () => {
  /** A VBoxManage stand-in: a shell script answering by its first argument. */
  async function standIn(): Promise<string> {
    const dir = await tempDir('vbox-bin-')
    const bin = join(dir, 'VBoxManage')
    await writeFile(
      bin,
      [
        '#!/bin/sh',
        `count="${dir}/count"`,
        'case "$1" in',
        '  --version) echo "7.0.14r161095" ;;',
        '  args) for a in "$@"; do echo "[$a]"; done ;;',
        "  fail) echo \"VBoxManage: error: Could not find a registered machine named 'x'\" >&2; echo 'VBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001)' >&2; exit 1 ;;",
        '  zero) echo "VBoxManage: error: VT-x is not available (VERR_VMX_NO_VMX)" >&2; exit 0 ;;',
        '  notready) n=$(cat "$count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$count"; if [ $n -lt 3 ]; then echo "VBoxManage: error: The object is not ready" >&2; exit 1; fi; echo "ready after $n" ;;',
        '  hang) sleep 5 ;;',
        'esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    )
    return bin
  }

  it('passes argv untouched (no shell), returns stdout, turns failures (also "error:" with exit 0) into one line, retries "not ready", bounds the time', async () => {
    const debug: string[] = []
    const vbm = vboxManageAt(await standIn(), (l) => debug.push(l))
    expect((await vbm(['--version'])).stdout).toBe('7.0.14r161095\n')
    expect((await vbm(['args', 'a b', '$(touch /tmp/x)', "it's"])).stdout).toBe("[args]\n[a b]\n[$(touch /tmp/x)]\n[it's]\n")
    const e = await vbm(['fail', 'x']).catch((x: unknown) => x as VBoxManageError)
    expect(e).toBeInstanceOf(VBoxManageError)
    expect((e as VBoxManageError).line).toBe("VBoxManage fail failed: Could not find a registered machine named 'x'")
    expect((e as VBoxManageError).notFound).toBe(true)
    expect(await errorLineAsync(() => vbm(['zero']))).toMatch(/^VBoxManage zero failed: VT-x is not available \(VERR_VMX_NO_VMX\): enable hardware virtualization/)
    expect((await vbm(['notready'])).stdout).toBe('ready after 3\n')
    const started = Date.now()
    expect(await errorLineAsync(() => vbm(['hang'], { timeoutMs: 200 }))).toMatch(/^VBoxManage hang did not finish within 0\.2 s: VirtualBox may be waiting for a dialog/)
    // Done at the time limit, not when the stand-in's own child (sleep 5) lets go of its output.
    expect(Date.now() - started).toBeLessThan(3000)
    expect(debug).toContain('VBoxManage --version')
  })

  it('a VBoxManage path that does not exist is one line saying how to install VirtualBox', async () => {
    const vbm = vboxManageAt(join(await tempDir('vbox-none-'), 'VBoxManage'))
    expect(await errorLineAsync(() => vbm(['--version']))).toMatch(/^VBoxManage \(.*VBoxManage\) was not found: install VirtualBox >= 5/)
  })
})
