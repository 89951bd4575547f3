import { describe, expect, it } from 'vitest'
import { chooseAccel, firmwareRan } from '../../drivers/qemu/accel.js'
import { qemuArgs } from '../../drivers/qemu/cmdline.js'
import { baseLaunchSpec } from '../helpers/qemu-launch-spec.js'

const base = baseLaunchSpec

/** The value following each occurrence of `flag`. */
const values = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []))

describe('QEMU command line', () => {
  it('x86_64 under TCG: multi-threaded TCG with -cpu max, q35, detached with console, pid file and QMP', () => {
    const a = qemuArgs(base)
    expect(values(a, '-machine')).toEqual(['q35'])
    expect(values(a, '-accel')).toEqual(['tcg,thread=multi'])
    expect(values(a, '-cpu')).toEqual(['max'])
    expect(values(a, '-smp')).toEqual(['2'])
    expect(values(a, '-m')).toEqual(['2048'])
    expect(values(a, '-display')).toEqual(['none'])
    expect(values(a, '-serial')).toEqual(['file:/s/machines/dev/console.log'])
    expect(values(a, '-pidfile')).toEqual(['/s/machines/dev/qemu.pid'])
    expect(values(a, '-qmp')).toEqual(['unix:/s/machines/dev/qmp.sock,server=on,wait=off'])
    expect(a).toContain('-daemonize')
    // -daemonize refuses -nographic.
    expect(a).not.toContain('-nographic')
  })

  it('puts the root disk first (/dev/vda) and the seed second, read-only', () => {
    const drives = values(qemuArgs(base), '-drive')
    expect(drives).toEqual([
      'file=/s/machines/dev/disk.qcow2,if=virtio,format=qcow2,discard=unmap',
      'file=/s/machines/dev/seed.iso,if=virtio,format=raw,readonly=on',
    ])
  })

  it('forwards SSH, the engine and extra ports from 127.0.0.1 only', () => {
    const a = qemuArgs({
      ...base,
      forwards: [
        { proto: 'tcp', host: 8080, guest: 80 },
        { proto: 'udp', host: 5353, guest: 53 },
      ],
    })
    expect(values(a, '-netdev')).toEqual([
      'user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:42376-:2376,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:127.0.0.1:5353-:53',
    ])
    expect(values(a, '-device')).toEqual(['virtio-net-pci,netdev=net0', 'virtio-rng-pci'])
  })

  it('KVM uses the host CPU', () => {
    const a = qemuArgs({ ...base, accel: 'kvm' })
    expect(values(a, '-accel')).toEqual(['kvm'])
    expect(values(a, '-cpu')).toEqual(['host'])
  })

  it('HVF on aarch64: virt machine, host CPU, UEFI firmware as pflash with per-machine vars', () => {
    const a = qemuArgs({ ...base, arch: 'aarch64', accel: 'hvf', firmware: { code: '/fw/code.fd', vars: '/s/machines/dev/efi-vars.fd' } })
    expect(values(a, '-machine')).toEqual(['virt'])
    expect(values(a, '-accel')).toEqual(['hvf'])
    expect(values(a, '-cpu')).toEqual(['host'])
    expect(values(a, '-drive').slice(0, 2)).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/fw/code.fd',
      'if=pflash,format=raw,unit=1,file=/s/machines/dev/efi-vars.fd',
    ])
  })

  it('aarch64 under TCG/KVM asks for GICv3', () => {
    expect(values(qemuArgs({ ...base, arch: 'aarch64', accel: 'tcg' }), '-machine')).toEqual(['virt,gic-version=max'])
    expect(values(qemuArgs({ ...base, arch: 'aarch64', accel: 'kvm' }), '-machine')).toEqual(['virt,gic-version=max'])
  })

  it('WHPX falls back to TCG inside QEMU and uses a CPU model both accept', () => {
    const a = qemuArgs({ ...base, accel: 'whpx', daemonize: false, qmp: { host: '127.0.0.1', port: 45000 } })
    expect(values(a, '-accel')).toEqual(['whpx,kernel-irqchip=off', 'tcg,thread=multi'])
    expect(values(a, '-cpu')).toEqual(['max'])
    expect(values(a, '-qmp')).toEqual(['tcp:127.0.0.1:45000,server=on,wait=off'])
    expect(a).not.toContain('-daemonize')
  })

  it('direct kernel boot: -kernel/-initrd/-append, and no firmware even if one is known', () => {
    const a = qemuArgs({
      ...base,
      arch: 'aarch64',
      kernel: '/img/vmlinuz',
      initrd: '/img/initrd.img',
      append: 'root=/dev/vda rw console=ttyS0 net.ifnames=0',
      firmware: { code: '/fw/code.fd', vars: '/v.fd' },
    })
    expect(values(a, '-kernel')).toEqual(['/img/vmlinuz'])
    expect(values(a, '-initrd')).toEqual(['/img/initrd.img'])
    expect(values(a, '-append')).toEqual(['root=/dev/vda rw console=ttyS0 net.ifnames=0'])
    expect(values(a, '-drive').some((d) => d!.includes('pflash'))).toBe(false)
  })

  it('escapes commas in paths inside QEMU option values', () => {
    const a = qemuArgs({ ...base, disk: '/a,b/disk.qcow2' })
    expect(values(a, '-drive')[0]).toBe('file=/a,,b/disk.qcow2,if=virtio,format=qcow2,discard=unmap')
  })
})

describe('accelerator choice', () => {
  const linux = { platform: 'linux' as const, hostArch: 'x86_64' as const, guestArch: 'x86_64' as const }

  it('auto on Linux uses KVM only when the probe ran a guest', () => {
    expect(chooseAccel('auto', { ...linux, kvm: { usable: true, reason: 'a test VM ran guest code under KVM' } })).toEqual({
      accel: 'kvm',
      reason: 'a test VM ran guest code under KVM',
    })
    const c = chooseAccel('auto', { ...linux, kvm: { usable: false, reason: '/dev/kvm exists but a test VM under KVM failed: abort' } })
    expect(c.accel).toBe('tcg')
    expect(c.reason).toBe('KVM is not usable: /dev/kvm exists but a test VM under KVM failed: abort')
  })

  it('auto on macOS uses HVF when the hypervisor framework is there, on Windows WHPX', () => {
    const mac = { platform: 'darwin' as const, hostArch: 'aarch64' as const, guestArch: 'aarch64' as const }
    expect(chooseAccel('auto', { ...mac, hvf: { usable: true, reason: 'the macOS Hypervisor framework is available' } }).accel).toBe('hvf')
    const off = chooseAccel('auto', { ...mac, hvf: { usable: false, reason: 'the macOS Hypervisor framework is not available (kern.hv_support is 0)' } })
    expect(off).toEqual({ accel: 'tcg', reason: 'HVF is not usable: the macOS Hypervisor framework is not available (kern.hv_support is 0)' })
    expect(chooseAccel('auto', { platform: 'win32', hostArch: 'x86_64', guestArch: 'x86_64' }).accel).toBe('whpx')
  })

  it('a foreign guest architecture is always emulated', () => {
    const c = chooseAccel('auto', { ...linux, guestArch: 'aarch64', kvm: { usable: true, reason: 'ok' } })
    expect(c).toEqual({ accel: 'tcg', reason: 'an aarch64 guest on an x86_64 host can only be emulated' })
  })

  it('an explicit --qemu-accel is used as given', () => {
    expect(chooseAccel('kvm', { ...linux, kvm: { usable: false, reason: 'x' } })).toEqual({ accel: 'kvm', reason: '--qemu-accel kvm was given' })
  })

  it('recognises firmware output on the KVM probe debug console', () => {
    expect(firmwareRan('SeaBIOS (version 1.16.2-debian-1.16.2-1)\n')).toBe(true)
    expect(firmwareRan('')).toBe(false)
  })
})
