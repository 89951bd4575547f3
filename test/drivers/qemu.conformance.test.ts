/**
 * The shared driver conformance suite against the qemu driver with REAL QEMU booting the Debian
 * test image (built by test/e2e/image/build-image.sh, cached outside the repo; the first run on a
 * machine builds it as root in ~3 min). Under TCG (no usable KVM) a boot to the SSH banner takes
 * ~40-70 s on 2 idle cores (3x that when other VMs share the cores), hence the long per-step timeouts.
 *
 * Beyond the suite's own checks, after create and after start the guest must answer on the
 * forwarded SSH port with exactly the host key we injected through the cloud-init seed, and let
 * the user cloud-init made log in with the machine's key; after remove no process and no file
 * the driver made may remain.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { Client } from 'ssh2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import qemu from '../../drivers/qemu/index.js'
import { liveProcessesNaming } from '../helpers/processes.js'
import type { DriverContext } from '../../src/driver-kit/contract.js'
import { driverConformance } from '../../src/driver-kit/conformance.js'
import { consoleTail, ensureTestImage, waitForSshBanner } from '../e2e/image/test-image.js'

const flags: Record<string, unknown> = {
  'qemu-cpus': 2,
  'qemu-memory': 1536,
  'qemu-disk-size': '8G',
  'qemu-accel': 'auto',
}
const BOOT_MS = 480_000
const logs: string[] = []
let machineDir = ''

beforeAll(async () => {
  const img = await ensureTestImage()
  Object.assign(flags, {
    'qemu-image': img.image,
    'qemu-kernel': img.kernel,
    'qemu-initrd': img.initrd,
    'qemu-append': img.append,
  })
}, 1_600_000)

afterAll(() => {
  // Whatever failed, leave no VM running.
  if (machineDir) for (const pid of liveProcessesNaming(machineDir)) process.kill(pid, 'SIGKILL')
})

/**
 * Log in over the forwarded port, accepting only the injected ed25519 host key, and report who
 * we are in the guest.
 */
function sshAsMachineUser(ctx: DriverContext): Promise<{ presented: string; out: string }> {
  const injected = String((ctx.config.SSHHostKeys as string[])[0])
  const injectedBlob = Buffer.from(injected.split(/\s+/)[1]!, 'base64')
  let presented = ''
  return new Promise((resolve, reject) => {
    const c = new Client()
    c.on('ready', () => {
      c.exec('id -un; id -Gn; hostname', (err, stream) => {
        if (err) return reject(err)
        let out = ''
        stream.on('data', (d: Buffer) => (out += d.toString()))
        stream.stderr.on('data', (d: Buffer) => (out += d.toString()))
        stream.on('close', () => {
          c.end()
          resolve({ presented, out })
        })
      })
    })
    c.on('error', (e) => reject(new Error(`SSH to the guest failed (${e.message}); presented host key ${presented || 'none'}`)))
    c.connect({
      host: '127.0.0.1',
      port: Number(ctx.config.SSHPort),
      username: String(ctx.config.SSHUser),
      privateKey: readFileSync(String(ctx.config.SSHKeyPath)),
      algorithms: { serverHostKey: ['ssh-ed25519'] },
      readyTimeout: 60_000,
      hostVerifier: (key: Buffer) => {
        presented = `ssh-ed25519 ${key.toString('base64')}`
        return key.equals(injectedBlob)
      },
    })
  })
}

async function expectGuestUp(ctx: DriverContext): Promise<void> {
  const port = Number(ctx.config.SSHPort)
  try {
    const b = await waitForSshBanner(port, BOOT_MS)
    logs.push(`SSH banner after ${(b.ms / 1000).toFixed(1)} s: ${b.banner}`)
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- console.log ---\n${await consoleTail(`${ctx.machineDir}/console.log`)}`)
  }
  const { presented, out } = await sshAsMachineUser(ctx)
  expect(presented.split(' ').slice(0, 2)).toEqual(String((ctx.config.SSHHostKeys as string[])[0]).split(' ').slice(0, 2))
  const [user, groups, hostname] = out.trim().split('\n')
  expect(user).toBe('docker')
  // The docker.io package's "docker" group exists in the image: the user must still be created, in it.
  expect(groups?.split(' ')).toContain('docker')
  expect(hostname).toBe(ctx.machineName)
}

driverConformance(
  {
    definition: qemu,
    flags,
    env: { PATH: process.env.PATH, MACHINE_POLL_INTERVAL_MS: '500', MACHINE_QEMU_STOP_TIMEOUT_MS: '150000' },
    timeoutMs: 720_000,
    arrange: (step, ctx) => {
      if (step === 'preCreateCheck') {
        machineDir = ctx.machineDir
        ctx.log = { info: (l) => logs.push(l), debug: () => {} }
      }
    },
    verify: async (step, ctx) => {
      switch (step) {
        case 'create':
          expect(logs.find((l) => l.startsWith('QEMU acceleration:'))).toMatch(/^QEMU acceleration: (kvm|tcg)\b/)
          expect(ctx.config.IPAddress).toBe('127.0.0.1')
          await expectGuestUp(ctx)
          break
        case 'start':
          // The same disk boots again: the host key persisted on it is still the injected one.
          await expectGuestUp(ctx)
          break
        case 'stop':
        case 'kill':
          expect(liveProcessesNaming(ctx.machineDir)).toEqual([])
          break
        case 'remove':
          expect(liveProcessesNaming(ctx.machineDir)).toEqual([])
          // Only the machine's SSH key (the store's, shared by every driver) may remain.
          expect(readdirSync(ctx.machineDir).sort()).toEqual(['id_rsa', 'id_rsa.pub'])
          break
      }
    },
  },
  { describe, it, expect, beforeAll, afterAll },
)

describe('qemu conformance timings', () => {
  it('booted to the SSH banner (see the log lines)', () => {
    const boots = logs.filter((l) => l.startsWith('SSH banner after'))
    console.log(logs.join('\n'))
    expect(boots.length).toBe(2)
  })
})
