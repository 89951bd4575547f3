import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cleanConsole, describeFailure, describeStall, kernelStarted, readBootConsole } from '../../drivers/qemu/boot-console.js'
import { watchBoot } from '../../drivers/qemu/boot-watch.js'
import { MachineError } from '../../src/driver-kit/errors.js'

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

describe('cloud-init failures', () => {
  const failed = (line: string) => readBootConsole(KERNEL + SYSTEMD + CLOUD_INIT + line + '\n' + LOGIN).cloudInitFailed

  it('are found in systemd\'s unit lines of every release and in cloud-init\'s own summary lines', () => {
    expect(failed('[FAILED] Failed to start cloud-final.service - Execute cloud user/final scripts.')).toBe('Failed to start cloud-final.service - Execute cloud user/final scripts.')
    // systemd before 253 names the unit by its description only.
    expect(failed('[FAILED] Failed to start Execute cloud user/final scripts.')).toBe('Failed to start Execute cloud user/final scripts.')
    expect(failed('[FAILED] Failed to start Apply the settings specified in cloud-config.')).toBe('Failed to start Apply the settings specified in cloud-config.')
    expect(failed('[FAILED] Failed to start Initial cloud-init job (metadata service crawler).')).toBe('Failed to start Initial cloud-init job (metadata service crawler).')
    expect(
      failed("[   20.1] cloud-init[412]: 2026-12-02 08:00:05,123 - util.py[WARNING]: Running module users_groups (<module 'cloudinit.config.cc_users_groups'>) failed"),
    ).toBe("Running module users_groups (<module 'cloudinit.config.cc_users_groups'>) failed")
    expect(failed('[   31.7] cloud-init[530]: 2026-12-02 08:00:16,001 - cc_scripts_user.py[WARNING]: Failed to run module scripts_user (scripts in /var/lib/cloud/instance/scripts)')).toBe(
      'Failed to run module scripts_user (scripts in /var/lib/cloud/instance/scripts)',
    )
    expect(failed('[   12.0] cloud-init[300]: failed run of stage init')).toBe('failed run of stage init')
    expect(failed('[   12.0] cloud-init[300]: 2026-12-02 08:00:01,000 - util.py[WARNING]: No instance datasource found! Likely bad things to come!')).toBe(
      'No instance datasource found! Likely bad things to come!',
    )
    // A successful run names no failure.
    expect(failed("[   40.2] cloud-init[600]: Cloud-init v. 22.4.2 finished at Mon, 02 Dec 2026 08:00:30 +0000. Datasource DataSourceNoCloud [seed=/dev/vdb].  Up 40.10 seconds")).toBeUndefined()
    expect(failed('[  OK  ] Finished cloud-final.service - Execute cloud user/final scripts.')).toBeUndefined()
  })

  it('at the login prompt, are named when the boot is described', () => {
    const v = readBootConsole(KERNEL + SYSTEMD + CLOUD_INIT + '[FAILED] Failed to start cloud-init.service - Cloud-init: Network Stage.\n' + LOGIN)
    expect(v.stage).toBe('login')
    expect(describeStall(v)).toBe('cloud-init failed ("Failed to start cloud-init.service - Cloud-init: Network Stage.")')
  })
})

describe('the boot watchdog at the login prompt', () => {
  let dir = ''
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'machine-boot-watch-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const watch = (consolePath: string, signal: AbortSignal) =>
    watchBoot({
      machineName: 'dev',
      consolePath,
      signal,
      alive: async () => true,
      onStage: () => {},
      stallMs: 60_000,
      cloudInitGraceMs: 1000,
      pollMs: 20,
      launchedAt: () => Date.now(),
    })

  it('ends the wait early, in one line, when cloud-init failed and nothing answers after the grace time', async () => {
    const consolePath = join(dir, 'console.log')
    await writeFile(consolePath, KERNEL + SYSTEMD + CLOUD_INIT + '[FAILED] Failed to start cloud-final.service - Execute cloud user/final scripts.\n' + LOGIN)
    const t0 = Date.now()
    const err = await watch(consolePath, new AbortController().signal).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MachineError)
    expect((err as MachineError).code).toBe('cloud-init-failed')
    expect((err as MachineError).message).toBe(
      '"dev" booted to its login prompt, but cloud-init failed ("Failed to start cloud-final.service - Execute cloud user/final scripts."); 1 s later it still did not answer',
    )
    expect((err as MachineError).hint).toBe(`see ${consolePath}`)
    expect(Date.now() - t0).toBeLessThan(5000)
  })

  it('keeps waiting at a login prompt after a cloud-init that succeeded (SSH ends the watch)', async () => {
    const consolePath = join(dir, 'console.log')
    await writeFile(consolePath, KERNEL + SYSTEMD + CLOUD_INIT + LOGIN)
    const ac = new AbortController()
    const t = setTimeout(() => ac.abort(), 800)
    await expect(watch(consolePath, ac.signal)).resolves.toBeUndefined()
    clearTimeout(t)
  })
})
