/**
 * `--qemu-accel auto` and the boot watchdog with REAL QEMU on hosts whose KVM misbehaves.
 *
 * A KVM that runs the firmware and then hangs the guest kernel (nested KVM without VMX/SVM) is
 * played by test/helpers/fake-qemu.ts: under "-accel kvm" the firmware really runs and prints,
 * then spins forever in a boot sector. /dev/kvm is stood in for by a file (MACHINE_QEMU_KVM_DEVICE),
 * so the same tests run on hosts with and without a KVM device. Then, through the built CLI, the
 * failures a user meets under any accelerator: a kernel panic, a disk that does not boot, a boot
 * that stops making progress; each ends the wait early with one line saying what the console
 * showed, and the console log outlives the rollback.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import qemuDefinition from '../../drivers/qemu/index.js'
import { accelCachePath } from '../../drivers/qemu/accel-cache.js'
import type { Driver, DriverContext, DriverDefinition } from '../../src/driver-kit/contract.js'
import { makeDriverContext } from '../../src/driver-kit/conformance.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { ensureTestImage, type TestImage } from '../e2e/image/test-image.js'
import { runCli } from '../helpers/cli.js'
import { hangingBootDisk, hangingKvmQemu, kvmRuns, printingBootDisk, workingKvmQemu } from '../helpers/fake-qemu.js'
import { liveProcessesNaming } from '../helpers/processes.js'

// As the registry sees it (options untyped), like the contexts makeDriverContext builds.
const qemu: DriverDefinition = qemuDefinition

let root = ''
let img: TestImage
let fakeQemu = ''
let kvmDevice = ''
let blank = ''

beforeAll(async () => {
  img = await ensureTestImage()
  root = await mkdtemp(join(tmpdir(), 'qemu-boot-watch-'))
  fakeQemu = hangingKvmQemu(root)
  kvmDevice = join(root, 'kvm')
  await writeFile(kvmDevice, '')
  blank = join(root, 'blank.qcow2')
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '1G'])
}, 1_600_000)

afterAll(async () => {
  // Never leave a VM behind, whatever failed.
  for (const pid of liveProcessesNaming(root)) process.kill(pid, 'SIGKILL')
  if (root) await rm(root, { recursive: true, force: true })
})

interface Made {
  ctx: DriverContext
  driver: Driver
  journal: MemoryJournal
  logs: string[]
}

async function make(store: string, name: string, flags: Record<string, unknown>, env: Record<string, string>, bin = fakeQemu): Promise<Made> {
  const ctx = await makeDriverContext(
    qemu,
    { 'qemu-binary': bin, 'qemu-accel': 'auto', 'qemu-memory': 512, 'qemu-cpus': 1, 'qemu-disk-size': '4G', ...flags },
    { PATH: process.env.PATH, MACHINE_POLL_INTERVAL_MS: '200', MACHINE_QEMU_KVM_DEVICE: kvmDevice, ...env },
    store,
    name,
  )
  const logs: string[] = []
  ctx.log = { info: (l) => logs.push(l), debug: () => {} }
  return { ctx, driver: (await qemu.load()).createDriver(ctx), journal: new MemoryJournal(), logs }
}

const cmdlineOf = (m: Made): string => {
  const pid = readFileSync(join(m.ctx.machineDir, 'qemu.pid'), 'utf8').trim()
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
}

const cache = (store: string) => JSON.parse(readFileSync(accelCachePath(join(store, 'cache')), 'utf8')) as { hosts: Record<string, { usable: boolean; reason: string; proof: string }> }

describe('--qemu-accel auto on a host whose KVM runs the firmware and hangs the kernel', () => {
  it('the probe boots a real kernel, sees it hang, picks TCG, and remembers the verdict', async () => {
    const store = join(root, 'probe')
    const flags = { 'qemu-image': blank, 'qemu-kernel': img.kernel, 'qemu-initrd': img.initrd, 'qemu-append': img.append }
    const env = { MACHINE_QEMU_KVM_PROBE_MS: '4000' }
    const a = await make(store, 'probe1', flags, env)
    await a.driver.preCreateCheck()
    const t0 = Date.now()
    await a.driver.create(a.journal)
    const probeMs = Date.now() - t0
    const line = a.logs.find((l) => l.startsWith('QEMU acceleration:'))
    // The firmware printed (the old probe took that as proof); the kernel never got anywhere.
    expect(line).toMatch(
      new RegExp(`^QEMU acceleration: tcg \\(software emulation, slow\\) because KVM is not usable: ${kvmDevice} exists but a guest kernel did not boot under KVM within 4\\.0 s \\(the firmware ran, then the kernel printed nothing; nested virtualisation without VMX\\/SVM\\?\\)$`),
    )
    expect(probeMs).toBeLessThan(15_000)
    expect(cmdlineOf(a)).toContain('-accel tcg,thread=multi -cpu max')
    const verdicts = Object.entries(cache(store).hosts)
    expect(verdicts).toHaveLength(1)
    expect(verdicts[0]![0]).toMatch(/^kvm \| host-kernel .+ \| .+qemu-system-x86_64 [\d.]+ \| x86_64$/)
    expect(verdicts[0]![1]).toMatchObject({ usable: false, proof: 'probe-kernel' })
    await a.driver.remove(a.journal)

    // The next create on this host does not probe again: it says where the verdict is kept.
    const b = await make(store, 'probe2', flags, env)
    const t1 = Date.now()
    await b.driver.create(b.journal)
    expect(Date.now() - t1).toBeLessThan(4000)
    expect(b.logs.find((l) => l.startsWith('QEMU acceleration:'))).toMatch(/because KVM is not usable: .* did not boot under KVM within 4\.0 s .*; checked \d{4}-\d\d-\d\d, remembered in .*qemu-accel\.json \(delete it to check again\)$/)
    await b.driver.remove(b.journal)
  }, 120_000)

  it('with no kernel at hand, the probe boots the machine\'s own disk (-snapshot), sees no kernel start, picks TCG, and remembers it', async () => {
    const store = join(root, 'disk-probe')
    // "disk": as on a host whose /boot is empty or root-only, with a cloud image (no --qemu-kernel).
    const env = { MACHINE_QEMU_PROBE_KERNEL: 'disk', MACHINE_QEMU_KVM_PROBE_MS: '4000' }
    const before = kvmRuns(root).length
    const a = await make(store, 'disk1', { 'qemu-image': blank }, env)
    await a.driver.preCreateCheck()
    await a.driver.create(a.journal)
    expect(a.logs.find((l) => l.startsWith('QEMU acceleration:'))).toMatch(
      new RegExp(
        `^QEMU acceleration: tcg \\(software emulation, slow\\) because KVM is not usable: ${kvmDevice} exists but the machine's disk did not start its kernel under KVM within 4\\.0 s \\(the console stopped at "Booting from [^"]+"; nested virtualisation without VMX\\/SVM\\?\\)$`,
      ),
    )
    // The one KVM run was the probe, booting the machine's overlay without writing to it.
    const runs = kvmRuns(root).slice(before)
    expect(runs).toHaveLength(1)
    expect(runs[0]).toContain(`-snapshot -drive file=${join(a.ctx.machineDir, 'disk.qcow2')},if=virtio,format=qcow2`)
    expect(runs[0]).not.toContain('-kernel')
    expect(cmdlineOf(a)).toContain('-accel tcg,thread=multi -cpu max')
    expect(Object.values(cache(store).hosts)).toEqual([expect.objectContaining({ usable: false, proof: 'probe-disk' })])
    await a.driver.remove(a.journal)
  }, 120_000)

  it('with no kernel at hand, a KVM that works is proven by the machine\'s disk printing its kernel\'s first line', async () => {
    const store = join(root, 'disk-probe-ok')
    const dir = join(root, 'working-kvm')
    const bin = workingKvmQemu(dir)
    const disk = printingBootDisk(join(root, 'linux.img'), '[    0.000000] Linux version 6.1.0-21-amd64 (debian-kernel@lists.debian.org)\r\n')
    const env = { MACHINE_QEMU_PROBE_KERNEL: 'disk', MACHINE_QEMU_KVM_PROBE_MS: '8000' }
    const a = await make(store, 'diskok1', { 'qemu-image': disk }, env, bin)
    await a.driver.create(a.journal)
    expect(a.logs.find((l) => l.startsWith('QEMU acceleration:'))).toMatch(/^QEMU acceleration: kvm \(the machine's disk started its kernel under KVM in \d+\.\d s\)$/)
    expect(a.ctx.config.AccelUsed).toBe('kvm')
    const runs = kvmRuns(dir)
    // The probe, then the machine's own VM under KVM.
    expect(runs).toHaveLength(2)
    expect(runs[0]).toContain('-snapshot')
    expect(runs[1]).not.toContain('-snapshot')
    expect(Object.values(cache(store).hosts)).toEqual([expect.objectContaining({ usable: true, proof: 'probe-disk' })])
    await a.driver.remove(a.journal)
  }, 120_000)

  it('a disk that does not boot cannot prove KVM either way: KVM is used provisionally and the first boot decides', async () => {
    const store = join(root, 'disk-probe-noboot')
    const bin = workingKvmQemu(join(root, 'working-kvm-2'))
    const env = { MACHINE_QEMU_PROBE_KERNEL: 'disk', MACHINE_QEMU_KVM_PROBE_MS: '8000' }
    const a = await make(store, 'disknb1', { 'qemu-image': blank }, env, bin)
    await a.driver.create(a.journal)
    expect(a.logs.find((l) => l.startsWith('QEMU acceleration:'))).toMatch(
      /^QEMU acceleration: kvm \(a test VM ran its firmware under KVM, but the machine's disk does not boot \(the VM found no bootable disk \("[^"]+"\); the first boot confirms that a kernel runs\)\)$/,
    )
    expect(existsSync(accelCachePath(join(store, 'cache')))).toBe(false)
    await a.driver.remove(a.journal)
  }, 120_000)

  it('without a kernel to probe with, the first boot is watched: no kernel under KVM in time → restarted under TCG, said in one line, remembered', async () => {
    const store = join(root, 'watch')
    const flags = { 'qemu-image': img.image, 'qemu-kernel': img.kernel, 'qemu-initrd': img.initrd, 'qemu-append': img.append }
    // No probe kernel: only the firmware can be tried, and it runs.
    const env = { MACHINE_QEMU_PROBE_KERNEL: 'none', MACHINE_QEMU_ACCEL_BOOT_MS: '5000' }
    const m = await make(store, 'watch1', flags, env)
    await m.driver.preCreateCheck()
    await m.driver.create(m.journal)
    expect(m.logs.find((l) => l.startsWith('QEMU acceleration:'))).toMatch(/^QEMU acceleration: kvm \(a test VM ran its firmware under KVM \(the first boot confirms that a kernel runs too\)\)$/)
    const sshPort = m.ctx.config.SSHPort
    const stages: string[] = []
    const ac = new AbortController()
    const watching = m.driver.watchBoot!({
      signal: ac.signal,
      onStage: (s) => {
        stages.push(s)
        if (s === 'kernel booting') ac.abort()
      },
    })
    await watching
    // Firmware under "KVM", then the fallback, then the same VM's kernel under TCG.
    expect(stages[0]).toBe('firmware')
    expect(stages).toContain('kernel booting')
    const fallback = m.logs.filter((l) => l.includes('restarting it under TCG'))
    expect(fallback).toEqual([
      expect.stringMatching(
        /^The guest kernel of "watch1" did not start under KVM within 5 s \(the console stopped at "Booting from [^"]+"\): restarting it under TCG \(software emulation\); KVM is remembered as unusable on this host \(--qemu-accel kvm forces it\)$/,
      ),
    ])
    expect(cmdlineOf(m)).toContain('-accel tcg,thread=multi -cpu max')
    expect(m.ctx.config.AccelUsed).toBe('tcg')
    expect(m.ctx.config.SSHPort).toBe(sshPort)
    expect(Object.values(cache(store).hosts)).toEqual([expect.objectContaining({ usable: false, proof: 'boot' })])
    expect(liveProcessesNaming(m.ctx.machineDir)).toHaveLength(1)

    // The next machine on this host goes straight to TCG.
    const n = await make(store, 'watch2', { 'qemu-image': blank }, env)
    await n.driver.create(n.journal)
    expect(n.logs.find((l) => l.startsWith('QEMU acceleration:'))).toMatch(/^QEMU acceleration: tcg .* because KVM is not usable: a guest kernel did not start under KVM within 5 s .*remembered in/)
    await n.driver.remove(n.journal)
    await m.driver.remove(m.journal)
    expect(liveProcessesNaming(m.ctx.machineDir)).toEqual([])
  }, 180_000)
})

describe('a boot that fails ends the wait at once, with what the console showed (built CLI, TCG)', () => {
  const create = (store: string, name: string, args: string[], env: Record<string, string> = {}) =>
    runCli(['create', '-d', 'qemu', '--qemu-accel', 'tcg', '--qemu-memory', '512', '--qemu-cpus', '1', '--engine-install-url', 'none', ...args, name], {
      store,
      env: { MACHINE_POLL_INTERVAL_MS: '200', ...env },
      timeoutMs: 240_000,
    })

  /** The one error line, the evidence directory it names, and what that directory holds. */
  function failure(r: { code: number; stderr: string }, store: string) {
    expect(r.code).not.toBe(0)
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('Error:'))
    expect(lines).toHaveLength(1)
    const kept = /is kept in (\S+)$/.exec(lines[0]!)?.[1]
    expect(kept, lines[0]).toBeDefined()
    expect(kept!.startsWith(join(store, 'failed'))).toBe(true)
    // Rolled back: no machine, no VM; the evidence stays.
    expect(readdirSync(join(store, 'machines'))).toEqual([])
    expect(liveProcessesNaming(store)).toEqual([])
    return { line: lines[0]!, kept: kept!, files: readdirSync(kept!).sort() }
  }

  it('a kernel panic', async () => {
    const store = join(root, 'cli-panic')
    // No initrd: the kernel has no virtio_blk to find its root disk, and panics.
    const r = await create(store, 'panic1', ['--qemu-image', blank, '--qemu-kernel', img.kernel, '--qemu-append', 'root=/dev/vda console=ttyS0'])
    const f = failure(r, store)
    expect(f.line).toMatch(/^Error: "panic1" did not boot: the guest kernel panicked \("Kernel panic - not syncing: VFS: Unable to mount root fs[^"]*"\): what the machine and the create logged \(--debug lines included\) is kept in /)
    expect(r.ms).toBeLessThan(90_000)
    expect(f.files).toEqual(expect.arrayContaining(['console.log', 'create.log']))
    expect(readFileSync(join(f.kept, 'console.log'), 'utf8')).toContain('Kernel panic - not syncing')
    const transcript = readFileSync(join(f.kept, 'create.log'), 'utf8')
    // The debug lines are there although --debug was not given: the QEMU command line, the error.
    expect(transcript).toMatch(/\[debug\] .*qemu-system-x86_64 .*-kernel/)
    expect(transcript.trim().split('\n').pop()).toMatch(/^Error: "panic1" did not boot: the guest kernel panicked/)
    // Progress showed the guest's stage while waiting (no terminal: one line per stage).
    expect(r.stdout).toMatch(/^ {2}guest: kernel booting \(\d+s\)$/m)
    expect(r.stdout).toMatch(/^✖ Waiting for SSH to be available \(\d+\.\ds\)$/m)
  }, 240_000)

  it('a disk that does not boot', async () => {
    const store = join(root, 'cli-noboot')
    const r = await create(store, 'noboot1', ['--qemu-image', blank])
    const f = failure(r, store)
    expect(f.line).toMatch(/^Error: "noboot1" did not boot: the VM found no bootable disk \("(Boot failed: not a bootable disk|No bootable device)[^"]*"\): /)
    expect(r.ms).toBeLessThan(90_000)
    expect(r.stdout).toMatch(/^ {2}guest: firmware \(\d+s\)$/m)
  }, 240_000)

  it('a boot that stops making progress', async () => {
    const store = join(root, 'cli-stall')
    const disk = hangingBootDisk(join(root, 'stall.img'))
    const r = await create(store, 'stall1', ['--qemu-image', disk], { MACHINE_QEMU_STALL_MS: '5000' })
    const f = failure(r, store)
    expect(f.line).toMatch(/^Error: "stall1" made no boot progress for 5 s: it is stuck in the firmware; the console last showed "Booting from [^"]+": /)
    expect(r.ms).toBeLessThan(60_000)
    expect(existsSync(join(f.kept, 'console.log'))).toBe(true)
  }, 240_000)
})
