/**
 * The shared driver conformance suite on the generic driver, against a real OpenSSH sshd serving
 * a chroot "host" (test/helpers/chroot-host.ts: its `shutdown` is a stub that only records the
 * request, so a restart can never reboot the machine running the tests).
 *
 * generic makes nothing: create copies the SSH key into the machine directory, remove leaves the
 * host untouched, start/stop/kill are refused (the host is not ours to power), and restart reboots
 * it over SSH and returns once SSH went down. The test plays the reboot: when the host records
 * `shutdown -r now`, its sshd goes away for a moment and comes back.
 */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DriverContext, DriverDefinition } from '../../src/driver-kit/contract.js'
import { driverConformance, type ConformanceStep } from '../../src/driver-kit/conformance.js'
import generic from '../../drivers/generic/index.js'
import { startChrootHost } from '../helpers/chroot-host.js'

// As the registry sees it (options untyped): the suite hands the driver an untyped context.
const definition: DriverDefinition = generic

const host = await startChrootHost()
afterAll(() => host.stop())

const flags = {
  'generic-ip-address': '127.0.0.1',
  'generic-ssh-port': host.port,
  'generic-ssh-user': 'root',
  'generic-ssh-key': host.userKeyPath,
}

let commandsBefore = 0
let reboot: Promise<void> | undefined
/** When the played reboot took SSH down, and when it was back. */
let downAt = 0
let backAt = 0

/** Play the host's reboot: once `shutdown -r now` is recorded, SSH is down for a moment, then back. */
async function playReboot(): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!host.calls().includes('shutdown -r now')) {
    if (Date.now() > deadline) throw new Error(`no reboot was requested; the host saw: ${host.commands().join(' | ')}`)
    await sleep(50)
  }
  downAt = Date.now()
  await host.restart({ downMs: 2_000 })
  backAt = Date.now()
}

function arrange(step: ConformanceStep): void {
  commandsBefore = host.commands().length
  if (step === 'restart') reboot = playReboot()
}

async function verify(step: ConformanceStep, ctx: DriverContext): Promise<void> {
  const stepEndedAt = Date.now()
  const newCommands = host.commands().slice(commandsBefore)
  switch (step) {
    case 'create': {
      // The machine keeps its own copy of the key (0600), so it works after the user's file moves.
      const copy = join(ctx.machineDir, 'id_user')
      expect(ctx.config.SSHKeyPath).toBe(copy)
      expect(await readFile(copy, 'utf8')).toBe(await readFile(host.userKeyPath, 'utf8'))
      expect((await stat(copy)).mode & 0o777).toBe(0o600)
      expect(newCommands).toEqual([])
      break
    }
    case 'sshInfo':
      expect(await (await definition.load()).createDriver(ctx).sshInfo()).toEqual({ host: '127.0.0.1', port: host.port, user: 'root', keyPath: join(ctx.machineDir, 'id_user') })
      break
    case 'restart':
      // Asked once, as root (no sudo), over SSH; restart returns once SSH went down (so the
      // caller's wait for Running sees the host come back, not the boot that was ending), not
      // only after the whole reboot nor before it began.
      await reboot
      expect(downAt).toBeGreaterThan(0)
      expect(stepEndedAt).toBeGreaterThanOrEqual(downAt)
      expect(stepEndedAt).toBeLessThan(backAt)
      expect(host.calls().filter((c) => c.startsWith('shutdown'))).toEqual(['shutdown -r now'])
      expect(newCommands).toEqual(['shutdown -r now'])
      break
    case 'remove':
    case 'remove:again':
      // The host is not ours: removing the machine runs nothing on it.
      expect(newCommands).toEqual([])
      break
  }
}

driverConformance(
  {
    definition,
    flags,
    // Short waits: the host answers at once. A restart that missed SSH going down would wait
    // the whole 20 s and end after the host was back (see the restart check).
    env: { MACHINE_GENERIC_PROBE_TIMEOUT_MS: '2000', MACHINE_GENERIC_SSH_WAIT_MS: '5000', MACHINE_GENERIC_REBOOT_DOWN_MS: '20000' },
    arrange,
    verify,
  },
  { describe, it, expect, beforeAll, afterAll },
)
