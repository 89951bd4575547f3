import { describe, expect, it } from 'vitest'
import { cleanConsole, describeFailure, describeStall, kernelStarted, readBootConsole } from '../../drivers/qemu/boot-console.js'

// Excerpts of real consoles: SeaBIOS's debug port, the Debian test image's serial console.
const SEABIOS = 'SeaBIOS (version 1.16.2-debian-1.16.2-1)\nBUILD: gcc: (Debian 12.2.0-14) 12.2.0\nBooting from Hard Disk...\n'
const KERNEL = '[    0.000000] Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org)\n[    0.000000] Command line: root=/dev/vda rw console=ttyS0\n'
const SYSTEMD = '[    2.101203] Run /init as init process\n[\x1b[0;32m  OK  \x1b[0m] Reached target \x1b[0;1;39mlocal-fs.target\x1b[0m.\r\n'
const CLOUD_INIT = "[   14.512339] cloud-init[312]: Cloud-init v. 22.4.2 running 'init' at Mon, 02 Dec 2026 08:00:00 +0000.\n"
const LOGIN = '\nDebian GNU/Linux 12 dev ttyS0\n\ndev login: '

describe('reading a boot console', () => {
  it('names the latest stage reached', () => {
    expect(readBootConsole('').stage).toBe('silent')
    expect(readBootConsole(SEABIOS).stage).toBe('firmware')
    expect(readBootConsole(SEABIOS + 'Welcome to GRUB!\nLoading Linux 6.1.0-28-amd64 ...\n').stage).toBe('bootloader')
    expect(readBootConsole(SEABIOS + KERNEL).stage).toBe('kernel')
    expect(readBootConsole(SEABIOS + KERNEL + SYSTEMD).stage).toBe('userspace')
    expect(readBootConsole(KERNEL + SYSTEMD + CLOUD_INIT).stage).toBe('cloud-init')
    expect(readBootConsole(KERNEL + SYSTEMD + CLOUD_INIT + LOGIN).stage).toBe('login')
    expect(kernelStarted(readBootConsole(SEABIOS))).toBe(false)
    expect(kernelStarted(readBootConsole(SEABIOS + KERNEL))).toBe(true)
  })

  it('keeps the last line, without escape sequences or carriage returns', () => {
    expect(cleanConsole('[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mssh.service\x1b[0m.\r\n')).toBe('[  OK  ] Started ssh.service.\n')
    expect(readBootConsole(KERNEL + SYSTEMD).lastLine).toBe('[  OK  ] Reached target local-fs.target.')
    expect(readBootConsole('x'.repeat(400)).lastLine).toHaveLength(160)
  })

  it('finds the failures no waiting can fix', () => {
    const panic = readBootConsole(KERNEL + '[    2.3] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n[    2.4] CPU: 0 PID: 1\n')
    expect(panic.failure).toEqual({ kind: 'kernel-panic', line: 'Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)' })
    expect(describeFailure(panic.failure!)).toBe('the guest kernel panicked ("Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)")')
    expect(readBootConsole(SEABIOS + 'Boot failed: not a bootable disk\n\nNo bootable device.\n').failure).toEqual({ kind: 'no-bootable-device', line: 'Boot failed: not a bootable disk' })
    expect(readBootConsole('BdsDxe: No bootable option or device was found.\n').failure?.kind).toBe('no-bootable-device')
    expect(readBootConsole(KERNEL + 'Gave up waiting for root file system device.  Common problems:\nALERT!  /dev/vda does not exist.  Dropping to a shell!\n').failure).toEqual({
      kind: 'no-root-filesystem',
      line: 'Gave up waiting for root file system device.  Common problems:',
    })
    expect(readBootConsole(KERNEL + SYSTEMD + 'You are in emergency mode. After logging in, type "journalctl -xb"\n').failure?.kind).toBe('emergency-mode')
    expect(readBootConsole(KERNEL + SYSTEMD + CLOUD_INIT + LOGIN).failure).toBeUndefined()
  })

  it('says where a stalled boot stopped', () => {
    expect(describeStall(readBootConsole(''))).toBe('the console stayed empty (the firmware printed nothing)')
    expect(describeStall(readBootConsole(SEABIOS))).toBe('it is stuck in the firmware; the console last showed "Booting from Hard Disk..."')
    expect(describeStall(readBootConsole(SEABIOS + KERNEL))).toBe('the kernel stopped booting; the console last showed "[    0.000000] Command line: root=/dev/vda rw console=ttyS0"')
    expect(describeStall(readBootConsole(KERNEL + SYSTEMD + CLOUD_INIT))).toMatch(/^the system stopped starting up; the console last showed "\[ +14\.512339\] cloud-init\[312\]: Cloud-init v\. 22\.4\.2 running 'init'/)
    const failedCi = readBootConsole(KERNEL + SYSTEMD + '[FAILED] Failed to start cloud-init.service - Cloud-init: Network Stage.\n')
    expect(describeStall(failedCi)).toBe('cloud-init failed ("Failed to start cloud-init.service - Cloud-init: Network Stage.")')
  })
})
