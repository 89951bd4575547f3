/**
 * The QEMU command line for every platform × accelerator × guest architecture: the exact argv a
 * machine is launched with, or the one line that refuses the combination before anything is made.
 * Hardware accelerators run guests of the host's own architecture (an x86_64 guest on an Intel
 * host, an aarch64 guest on Apple Silicon / an arm64 Linux server); TCG runs either anywhere.
 */
import { describe, expect, it } from 'vitest'
import { accelProblem, chooseAccel } from '../../drivers/qemu/accel.js'
import { firmwareNotFound, installHint } from '../../drivers/qemu/client.js'
import { qemuArgs, versionAtLeast, type LaunchSpec } from '../../drivers/qemu/cmdline.js'
import { imageFor } from '../../drivers/qemu/driver.js'
import { defaultImageUrl } from '../../drivers/qemu/options.js'
import type { Accel, GuestArch } from '../../drivers/qemu/settings.js'

type Platform = 'linux' | 'darwin' | 'win32'
const M = '/s/machines/dev'

/** The spec the driver builds on each platform (Windows: no -daemonize, QMP on a TCP port). */
function spec(platform: Platform, accel: Accel, arch: GuestArch, qemuVersion = '7.2.22'): LaunchSpec {
  return {
    name: 'dev',
    arch,
    accel,
    cpus: 2,
    memoryMb: 2048,
    disk: `${M}/disk.qcow2`,
    seed: `${M}/seed.iso`,
    ...(arch === 'aarch64' ? { firmware: { code: '/fw/AAVMF_CODE.fd', vars: `${M}/efi-vars.fd` } } : {}),
    sshPort: 40022,
    engineHostPort: 42376,
    engineGuestPort: 2376,
    forwards: [],
    consoleLog: `${M}/console.log`,
    firmwareLog: `${M}/firmware.log`,
    pidFile: `${M}/qemu.pid`,
    qmp: platform === 'win32' ? { host: '127.0.0.1', port: 45000 } : { path: `${M}/qmp.sock` },
    daemonize: platform !== 'win32',
    qemuVersion,
  }
}

/** The whole argv, with the machine/accelerator/CPU part given by each row of the table. */
function argv(platform: Platform, arch: GuestArch, machineAccelCpu: string[]): string[] {
  return [
    '-name',
    'dev,process=qemu-machine-dev',
    ...machineAccelCpu,
    '-smp',
    '2',
    '-m',
    '2048',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-serial',
    `file:${M}/console.log`,
    // SeaBIOS's debug port exists on x86 only; aarch64's UEFI prints on the serial console.
    ...(arch === 'x86_64' ? ['-chardev', `file,id=fwlog,path=${M}/firmware.log`, '-device', 'isa-debugcon,iobase=0x402,chardev=fwlog'] : []),
    '-qmp',
    platform === 'win32' ? 'tcp:127.0.0.1:45000,server=on,wait=off' : `unix:${M}/qmp.sock,server=on,wait=off`,
    '-pidfile',
    `${M}/qemu.pid`,
    ...(platform === 'win32' ? [] : ['-daemonize']),
    ...(arch === 'aarch64' ? ['-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/fw/AAVMF_CODE.fd', '-drive', `if=pflash,format=raw,unit=1,file=${M}/efi-vars.fd`] : []),
    '-drive',
    `file=${M}/disk.qcow2,if=virtio,format=qcow2,discard=unmap`,
    '-drive',
    `file=${M}/seed.iso,if=virtio,format=raw,readonly=on`,
    '-netdev',
    'user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:42376-:2376',
    '-device',
    'virtio-net-pci,netdev=net0',
    '-device',
    'virtio-rng-pci',
  ]
}

const TCG_X86 = ['-accel', 'tcg,thread=multi', '-cpu', 'max']
const TCG_ARM = ['-accel', 'tcg,thread=multi', '-cpu', 'max,pauth-impdef=on']
const q35 = (...rest: string[]) => ['-machine', 'q35', ...rest]
const virt = (...rest: string[]) => ['-machine', 'virt,gic-version=max', ...rest]

/** platform, accelerator, guest → the -machine/-accel/-cpu part of the argv, or the refusal. */
const TABLE: Array<[Platform, Accel, GuestArch, string[] | string]> = [
  ['linux', 'kvm', 'x86_64', q35('-accel', 'kvm', '-cpu', 'host')],
  ['linux', 'kvm', 'aarch64', virt('-accel', 'kvm', '-cpu', 'host')],
  ['linux', 'hvf', 'x86_64', '--qemu-accel hvf is only available on macOS'],
  ['linux', 'hvf', 'aarch64', '--qemu-accel hvf is only available on macOS'],
  ['linux', 'whpx', 'x86_64', '--qemu-accel whpx is only available on Windows'],
  ['linux', 'whpx', 'aarch64', '--qemu-accel whpx is only available on Windows'],
  ['linux', 'tcg', 'x86_64', q35(...TCG_X86)],
  ['linux', 'tcg', 'aarch64', virt(...TCG_ARM)],
  ['darwin', 'kvm', 'x86_64', '--qemu-accel kvm is only available on Linux'],
  ['darwin', 'kvm', 'aarch64', '--qemu-accel kvm is only available on Linux'],
  ['darwin', 'hvf', 'x86_64', q35('-accel', 'hvf', '-cpu', 'host')],
  // Apple Silicon: QEMU's default GIC under HVF, highmem on (QEMU >= 7.0 sizes the map to the host's IPA).
  ['darwin', 'hvf', 'aarch64', ['-machine', 'virt', '-accel', 'hvf', '-cpu', 'host']],
  ['darwin', 'whpx', 'x86_64', '--qemu-accel whpx is only available on Windows'],
  ['darwin', 'whpx', 'aarch64', '--qemu-accel whpx is only available on Windows'],
  ['darwin', 'tcg', 'x86_64', q35(...TCG_X86)],
  ['darwin', 'tcg', 'aarch64', virt(...TCG_ARM)],
  ['win32', 'kvm', 'x86_64', '--qemu-accel kvm is only available on Linux'],
  ['win32', 'kvm', 'aarch64', '--qemu-accel kvm is only available on Linux'],
  ['win32', 'hvf', 'x86_64', '--qemu-accel hvf is only available on macOS'],
  ['win32', 'hvf', 'aarch64', '--qemu-accel hvf is only available on macOS'],
  ['win32', 'whpx', 'x86_64', q35('-accel', 'whpx,kernel-irqchip=off', '-accel', 'tcg,thread=multi', '-cpu', 'max')],
  ['win32', 'whpx', 'aarch64', "QEMU's WHPX runs x86_64 guests only, not aarch64"],
  ['win32', 'tcg', 'x86_64', q35(...TCG_X86)],
  ['win32', 'tcg', 'aarch64', virt(...TCG_ARM)],
]

describe('QEMU command line: platform × accelerator × guest architecture', () => {
  it('covers every combination once', () => {
    expect(new Set(TABLE.map(([p, a, g]) => `${p} ${a} ${g}`)).size).toBe(3 * 4 * 2)
  })

  for (const [platform, accel, arch, want] of TABLE) {
    // A hardware accelerator on the host of the guest's own architecture; TCG on an x86_64 host.
    const hostArch = accel === 'tcg' ? 'x86_64' : arch
    if (typeof want === 'string') {
      it(`${platform} ${accel} ${arch}: refused in one line`, () => {
        expect(accelProblem(accel, { platform, hostArch, guestArch: arch })).toBe(want)
      })
    } else {
      it(`${platform} ${accel} ${arch}: ${want.join(' ')}`, () => {
        expect(accelProblem(accel, { platform, hostArch, guestArch: arch })).toBeUndefined()
        expect(qemuArgs(spec(platform, accel, arch))).toEqual(argv(platform, arch, want))
      })
    }
  }

  it('a hardware accelerator never runs a guest of the other architecture', () => {
    expect(accelProblem('kvm', { platform: 'linux', hostArch: 'x86_64', guestArch: 'aarch64' })).toBe(
      '--qemu-accel kvm cannot run an aarch64 guest on an x86_64 host, only emulation can',
    )
    expect(accelProblem('hvf', { platform: 'darwin', hostArch: 'aarch64', guestArch: 'x86_64' })).toBe(
      '--qemu-accel hvf cannot run an x86_64 guest on an aarch64 host, only emulation can',
    )
    expect(accelProblem('tcg', { platform: 'linux', hostArch: 'x86_64', guestArch: 'aarch64' })).toBeUndefined()
    expect(accelProblem('auto', { platform: 'win32', hostArch: 'aarch64', guestArch: 'aarch64' })).toBeUndefined()
  })

  it('HVF on aarch64 before QEMU 7.0: highmem=off (36-bit IPA on M1), from 7.0 on: the default map', () => {
    expect(qemuArgs(spec('darwin', 'hvf', 'aarch64', '6.2.0')).slice(2, 4)).toEqual(['-machine', 'virt,highmem=off'])
    expect(qemuArgs(spec('darwin', 'hvf', 'aarch64', '7.0.0')).slice(2, 4)).toEqual(['-machine', 'virt'])
    expect(qemuArgs(spec('darwin', 'hvf', 'aarch64', '10.1.2')).slice(2, 4)).toEqual(['-machine', 'virt'])
    // The version matters nowhere else.
    expect(qemuArgs(spec('linux', 'tcg', 'aarch64', '6.2.0'))).toEqual(qemuArgs(spec('linux', 'tcg', 'aarch64', '9.0.0')))
    expect(versionAtLeast('6.2.0', 7, 0)).toBe(false)
    expect(versionAtLeast('7.2.22', 7, 0)).toBe(true)
    expect(versionAtLeast(undefined, 7, 0)).toBe(true)
  })

  it('aarch64 direct kernel boot: no firmware, the kernel and its ttyAMA0 console as given', () => {
    const a = qemuArgs({ ...spec('linux', 'tcg', 'aarch64'), kernel: '/img/vmlinuz', initrd: '/img/initrd.img', append: 'root=/dev/vda rw console=ttyAMA0 net.ifnames=0' })
    const fw = argv('linux', 'aarch64', virt(...TCG_ARM))
    const at = fw.indexOf('-drive')
    expect(a).toEqual([...fw.slice(0, at), '-kernel', '/img/vmlinuz', '-initrd', '/img/initrd.img', '-append', 'root=/dev/vda rw console=ttyAMA0 net.ifnames=0', ...fw.slice(at + 4)])
  })
})

describe('--qemu-accel auto, per platform and architecture', () => {
  const kvmOk = { usable: true, reason: 'a guest kernel booted under KVM in 1.1 s' }
  const hvfOk = { usable: true, reason: 'the macOS Hypervisor framework is available' }

  it('an arm64 host runs an aarch64 guest with its hardware accelerator', () => {
    expect(chooseAccel('auto', { platform: 'linux', hostArch: 'aarch64', guestArch: 'aarch64', kvm: kvmOk })).toEqual({ accel: 'kvm', reason: kvmOk.reason })
    expect(chooseAccel('auto', { platform: 'darwin', hostArch: 'aarch64', guestArch: 'aarch64', hvf: hvfOk })).toEqual({ accel: 'hvf', reason: hvfOk.reason })
  })

  it('a guest of the other architecture is emulated, and the reason says so', () => {
    expect(chooseAccel('auto', { platform: 'linux', hostArch: 'x86_64', guestArch: 'aarch64', kvm: kvmOk })).toEqual({
      accel: 'tcg',
      reason: 'an aarch64 guest on an x86_64 host can only be emulated',
    })
    expect(chooseAccel('auto', { platform: 'darwin', hostArch: 'aarch64', guestArch: 'x86_64', hvf: hvfOk })).toEqual({
      accel: 'tcg',
      reason: 'an x86_64 guest on an aarch64 host can only be emulated',
    })
  })

  it('Windows on ARM: QEMU has no WHPX for aarch64 guests, so TCG', () => {
    expect(chooseAccel('auto', { platform: 'win32', hostArch: 'aarch64', guestArch: 'aarch64' })).toEqual({ accel: 'tcg', reason: "QEMU's WHPX runs x86_64 guests only" })
    expect(chooseAccel('auto', { platform: 'win32', hostArch: 'x86_64', guestArch: 'x86_64' }).accel).toBe('whpx')
  })
})

describe('what is missing, per OS', () => {
  it('aarch64 UEFI firmware not found: one line naming the package for the OS', () => {
    const line = (p: NodeJS.Platform) => {
      const e = firmwareNotFound(p)
      return `${e.message}: ${e.hint}`
    }
    expect(line('linux')).toBe(
      'No UEFI firmware for aarch64 guests was found: install it: "sudo apt-get install qemu-efi-aarch64" (Debian/Ubuntu), "sudo dnf install edk2-aarch64" (Fedora), "sudo pacman -S edk2-aarch64" (Arch); or boot a kernel with --qemu-kernel',
    )
    expect(line('darwin')).toBe(
      'No UEFI firmware for aarch64 guests was found: Homebrew\'s qemu ships it as share/qemu/edk2-aarch64-code.fd: "brew install qemu" (or "brew reinstall qemu"); or boot a kernel with --qemu-kernel',
    )
    expect(line('win32')).toBe(
      'No UEFI firmware for aarch64 guests was found: the QEMU installer puts it in share\\edk2-aarch64-code.fd next to qemu-system-aarch64.exe: reinstall QEMU; or boot a kernel with --qemu-kernel',
    )
    for (const p of ['linux', 'darwin', 'win32'] as const) expect(line(p)).not.toContain('\n')
  })

  it('qemu-system-aarch64 not found on Linux names Debian\'s qemu-system-arm package', () => {
    expect(installHint('aarch64', 'linux')).toContain('sudo apt-get install qemu-system-arm qemu-efi-aarch64 qemu-utils')
    expect(installHint('aarch64', 'linux')).toContain('sudo dnf install qemu-system-aarch64 edk2-aarch64 qemu-img')
    expect(installHint('x86_64', 'linux')).toContain('sudo apt-get install qemu-system-x86 qemu-utils')
    expect(installHint('aarch64', 'darwin')).toBe('install it with "brew install qemu"')
  })
})

describe('the default image follows the guest architecture', () => {
  const amd64 = 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2'
  const arm64 = 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-arm64.qcow2'

  it('the default of an x86_64 host gives an aarch64 guest the arm64 image, and the other way round', () => {
    expect(defaultImageUrl('x86_64')).toBe(amd64)
    expect(defaultImageUrl('aarch64')).toBe(arm64)
    expect(imageFor(amd64, 'aarch64', 'x86_64')).toBe(arm64)
    expect(imageFor(amd64, 'x86_64', 'x86_64')).toBe(amd64)
    expect(imageFor(arm64, 'x86_64', 'aarch64')).toBe(amd64)
    expect(imageFor(arm64, 'aarch64', 'aarch64')).toBe(arm64)
  })

  it('an image the user chose is never replaced', () => {
    expect(imageFor('/images/mine.qcow2', 'aarch64', 'x86_64')).toBe('/images/mine.qcow2')
    // The other architecture's default, named on purpose: kept as given.
    expect(imageFor(arm64, 'x86_64', 'x86_64')).toBe(arm64)
  })
})
