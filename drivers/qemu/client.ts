/**
 * Everything that runs QEMU's programs or looks at its process: finding qemu-system/qemu-img,
 * probing KVM, making overlays, launching the daemonized VM, and checking that its process is
 * alive (and not a zombie) and really ours. The only file of this driver that spawns them.
 */
import { spawn } from 'node:child_process'
import { constants, existsSync, openSync, closeSync } from 'node:fs'
import { access, mkdtemp, readdir, readFile, rm, writeFile, copyFile, stat, truncate } from 'node:fs/promises'
import { release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { lastLine, MachineError } from '../../src/driver-kit/errors.js'
import { run, which as kitWhich, type RunResult } from '../../src/driver-kit/run.js'
import { firmwareRan } from './accel.js'
import { describeFailure, kernelStarted, readBootConsole } from './boot-console.js'
import { accelArgs, esc, machineArgs } from './cmdline.js'
import type { GuestArch } from './settings.js'

export type { RunResult }
export { run }

/** Where QEMU is installed when it is not on PATH (Homebrew, the Windows installer). */
function extraDirs(): string[] {
  if (process.platform === 'darwin') return ['/opt/homebrew/bin', '/usr/local/bin', '/opt/local/bin']
  if (process.platform === 'win32') return [join(process.env.ProgramFiles ?? 'C:\\Program Files', 'qemu')]
  return ['/usr/bin', '/usr/local/bin', '/usr/libexec']
}

const exe = (name: string) => (process.platform === 'win32' ? `${name}.exe` : name)

export const which = (name: string, env: NodeJS.ProcessEnv = process.env): string | undefined => kitWhich(name, env, extraDirs())

/** How to install QEMU for a guest architecture, on this OS (Debian names qemu-system-aarch64's package qemu-system-arm). */
export const installHint = (arch: GuestArch = 'x86_64', platform: NodeJS.Platform = process.platform): string => {
  switch (platform) {
    case 'darwin':
      return 'install it with "brew install qemu"'
    case 'win32':
      return 'install it with "choco install qemu" (or winget install SoftwareFreedomConservancy.QEMU) or pass --qemu-binary'
    default:
      return arch === 'aarch64'
        ? 'install it, e.g. "sudo apt-get install qemu-system-arm qemu-efi-aarch64 qemu-utils" (Debian/Ubuntu) or "sudo dnf install qemu-system-aarch64 edk2-aarch64 qemu-img" (Fedora), or pass --qemu-binary'
        : 'install it, e.g. "sudo apt-get install qemu-system-x86 qemu-utils" (Debian/Ubuntu) or "sudo dnf install qemu-kvm qemu-img" (Fedora), or pass --qemu-binary'
  }
}

/** The qemu-system-<arch> binary: --qemu-binary, else PATH and the usual install locations. */
export function qemuSystemBinary(arch: GuestArch, explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) {
    if (!existsSync(explicit)) throw new MachineError('qemu-not-found', `--qemu-binary ${explicit} does not exist`)
    return explicit
  }
  const found = which(`qemu-system-${arch}`, env)
  if (!found) throw new MachineError('qemu-not-found', `qemu-system-${arch} was not found`, { hint: installHint(arch) })
  return found
}

/** qemu-img next to the system binary first (same installation), else from PATH. */
export function qemuImgBinary(systemBinary: string, env: NodeJS.ProcessEnv = process.env): string {
  const sibling = join(dirname(systemBinary), exe('qemu-img'))
  if (existsSync(sibling)) return sibling
  const found = which('qemu-img', env)
  if (!found) throw new MachineError('qemu-not-found', 'qemu-img was not found', { hint: installHint() })
  return found
}

export async function qemuVersion(bin: string): Promise<string> {
  const r = await run(bin, ['--version'], { timeoutMs: 20_000 }).catch((e: unknown) => {
    throw new MachineError('qemu-not-found', `${bin} does not run: ${(e as Error).message}`, { hint: installHint() })
  })
  if (r.code !== 0) throw new MachineError('qemu-not-found', `${bin} --version failed: ${r.stderr.trim() || `exit ${r.code}`}`)
  return /version\s+([\d.]+)/.exec(r.stdout)?.[1] ?? r.stdout.split('\n')[0]?.trim() ?? ''
}

export async function imageInfo(qemuImg: string, path: string): Promise<{ format: string; virtualSize: number }> {
  const r = await run(qemuImg, ['info', '--output=json', path], { timeoutMs: 60_000 })
  if (r.code !== 0) throw new MachineError('bad-image', `qemu-img cannot read ${path}: ${r.stderr.trim()}`)
  const j = JSON.parse(r.stdout) as { format?: string; 'virtual-size'?: number }
  return { format: j.format ?? 'raw', virtualSize: j['virtual-size'] ?? 0 }
}

/** A copy-on-write qcow2 overlay over the (read-only, shared) base image. */
export async function createOverlay(qemuImg: string, base: string, baseFormat: string, overlay: string, sizeBytes: number): Promise<void> {
  const r = await run(qemuImg, ['create', '-q', '-f', 'qcow2', '-F', baseFormat, '-b', base, overlay, String(sizeBytes)], { timeoutMs: 120_000 })
  if (r.code !== 0) throw new MachineError('overlay-failed', `qemu-img could not create ${overlay}: ${r.stderr.trim()}`)
}

// ---- KVM / HVF probes ---------------------------------------------------------------------

export interface KvmProbe {
  usable: boolean
  reason: string
  /**
   * What the verdict rests on: the device (missing, no access), a probe kernel that booted or
   * did not, the machine's own disk whose kernel started or did not, or only the firmware (no
   * kernel and no bootable disk to test with: the machine's first boot decides).
   */
  proof: 'device' | 'probe-kernel' | 'probe-disk' | 'probe-firmware'
}

/** The machine's own disk for the KVM probe when no kernel is at hand (a cloud image, empty /boot). */
export interface ProbeDisk {
  /** A qcow2 image; booted with -snapshot, so nothing is written to it. */
  path: string
  /** aarch64: the UEFI firmware the disk boots with (the variable store is not written either). */
  firmware?: { code: string; vars: string }
}

/** Why /dev/kvm cannot be used, or undefined when it can be opened read/write. */
export async function kvmDeviceProblem(device = '/dev/kvm'): Promise<string | undefined> {
  try {
    await access(device, constants.R_OK | constants.W_OK)
    return undefined
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return code === 'ENOENT'
      ? `${device} does not exist (no KVM module, or virtualisation is off in the firmware)`
      : `no read/write access to ${device} (add your user to the "kvm" group)`
  }
}

/**
 * A console line a kernel prints only after it brought up memory, interrupts, timers and every
 * CPU: with no root disk and no initrd, mounting the root file system is where it stops.
 */
export const PROBE_KERNEL_MILESTONE = /VFS: (?:Cannot open root device|Unable to mount root)|Freeing unused kernel|Run \/init as init process/

const probeMemo = new Map<string, Promise<KvmProbe>>()

/**
 * Does KVM really run a guest? /dev/kvm can exist while every VM aborts or hangs (nested
 * virtualisation without VMX/SVM): the firmware may even run and print, and then the kernel
 * hangs at its first steps. So the probe boots a real kernel under KVM with the same -cpu the VM
 * gets, in the first way at hand:
 *   - a kernel file (the machine's --qemu-kernel, the host's own), without disk or initrd, until
 *     it reaches the root-mount step (about a second when KVM works);
 *   - else the machine's own disk, with -snapshot, until its kernel prints on the serial console
 *     ("Linux version", kernel timestamps: a few seconds through firmware and boot loader). The
 *     boot watchdog relies on the same console, so a disk whose kernel is silent there would fail
 *     the first boot's check just the same;
 *   - else only the firmware (a provisional "usable" the first boot must confirm).
 */
export function probeKvm(bin: string, arch: GuestArch, o: { kernel?: string; disk?: ProbeDisk; timeoutMs?: number; device?: string } = {}): Promise<KvmProbe> {
  const key = [bin, arch, o.kernel ?? '', o.kernel ? '' : (o.disk?.path ?? ''), o.device ?? ''].join('\0')
  let p = probeMemo.get(key)
  if (!p) {
    p = probeKvmOnce(bin, arch, o.kernel ? { kernel: o.kernel } : o.disk ? { disk: o.disk } : {}, o.timeoutMs ?? 10_000, o.device ?? '/dev/kvm')
    probeMemo.set(key, p)
  }
  return p
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`

async function probeKvmOnce(bin: string, arch: GuestArch, what: { kernel?: string; disk?: ProbeDisk }, timeoutMs: number, device: string): Promise<KvmProbe> {
  const problem = await kvmDeviceProblem(device)
  if (problem) return { usable: false, reason: problem, proof: 'device' }
  const { kernel, disk } = what
  const dir = await mkdtemp(join(tmpdir(), 'machine-kvm-probe-'))
  const log = join(dir, 'console.log')
  const fwLog = join(dir, 'firmware.log')
  const args = [...machineArgs(arch, 'kvm'), ...accelArgs('kvm', arch), '-m', disk ? '512' : '256', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot']
  // SeaBIOS prints on its debug port only: that shows whether the firmware ran at all.
  if (arch === 'x86_64') args.push('-chardev', `file,id=fwlog,path=${esc(fwLog)}`, '-device', 'isa-debugcon,iobase=0x402,chardev=fwlog')
  if (kernel) args.push('-serial', `file:${log}`, '-kernel', kernel, '-append', `${arch === 'aarch64' ? 'console=ttyAMA0' : 'console=ttyS0'} panic=-1 loglevel=7`)
  if (disk) {
    // -snapshot: every write (disk, UEFI variables) goes to a temporary file QEMU deletes.
    args.push('-serial', `file:${log}`, '-snapshot')
    if (disk.firmware) {
      args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${esc(disk.firmware.code)}`)
      args.push('-drive', `if=pflash,format=raw,unit=1,file=${esc(disk.firmware.vars)}`)
    }
    args.push('-drive', `file=${esc(disk.path)},if=virtio,format=qcow2`)
  }
  const proof = kernel ? 'probe-kernel' : disk ? 'probe-disk' : 'probe-firmware'
  let diskUnusable = false
  try {
    const verdict = await new Promise<KvmProbe>((resolve) => {
      const started = Date.now()
      const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      let settled = false
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const finish = (r: KvmProbe) => {
        if (settled) return
        settled = true
        clearInterval(poll)
        clearTimeout(timer)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        resolve(r)
      }
      const read = async () => ({ kernel: await readFile(log, 'utf8').catch(() => ''), firmware: await readFile(fwLog, 'utf8').catch(() => '') })
      // The disk's boot, read as the boot watchdog reads a machine's: firmware lines first.
      const diskView = (out: { kernel: string; firmware: string }) => readBootConsole(out.firmware && out.kernel ? `${out.firmware}\n${out.kernel}` : out.firmware || out.kernel)
      const judge = (out: { kernel: string; firmware: string }): KvmProbe | undefined => {
        if (kernel && PROBE_KERNEL_MILESTONE.test(out.kernel)) return { usable: true, reason: `a guest kernel booted under KVM in ${secs(Date.now() - started)}`, proof }
        if (disk) {
          const view = diskView(out)
          if (kernelStarted(view)) return { usable: true, reason: `the machine's disk started its kernel under KVM in ${secs(Date.now() - started)}`, proof }
          // Not KVM's doing (no boot sector, say): this disk cannot tell; the first boot will.
          if (view.failure) {
            return {
              usable: true,
              reason: `a test VM ran its firmware under KVM, but the machine's disk does not boot (${describeFailure(view.failure)}; the first boot confirms that a kernel runs)`,
              proof: 'probe-firmware',
            }
          }
        }
        if (!kernel && !disk && arch === 'x86_64' && firmwareRan(out.firmware)) return { usable: true, reason: 'a test VM ran its firmware under KVM (the first boot confirms that a kernel runs too)', proof }
        // No firmware on the aarch64 probe without a kernel: surviving the start-up is the best evidence.
        if (!kernel && !disk && arch === 'aarch64' && Date.now() - started > 1500) return { usable: true, reason: 'a test VM started under KVM (the first boot confirms that a kernel runs too)', proof }
        return undefined
      }
      /** Where the guest got to, in words, for a verdict of "unusable". */
      const shown = (out: { kernel: string; firmware: string }): string => {
        if (disk) {
          const view = diskView(out)
          if (view.lastLine) return `the console stopped at "${view.lastLine.slice(0, 120)}"`
          return arch === 'x86_64' ? 'not even the firmware printed anything' : 'nothing was printed'
        }
        const k = lastLine(out.kernel)
        if (k) return `the kernel's console stopped at "${k.slice(0, 120)}"`
        if (firmwareRan(out.firmware)) return kernel ? 'the firmware ran, then the kernel printed nothing' : 'the firmware ran'
        return arch === 'x86_64' ? 'not even the firmware printed anything' : 'nothing was printed'
      }
      child.on('error', (e) => finish({ usable: false, reason: `the KVM probe could not start ${bin}: ${e.message}`, proof }))
      child.on('exit', (code, sig) => {
        // -no-reboot: the probe kernel's panic (no root disk) ends QEMU; read what it printed first.
        void read().then((out) => {
          const ok = judge(out)
          if (ok) return finish(ok)
          // QEMU could not open the disk (a lock, a format): says nothing about KVM.
          if (disk && stderr.includes(disk.path)) {
            diskUnusable = true
            return finish({ usable: false, reason: lastLine(stderr), proof })
          }
          const why = lastLine(stderr) || `QEMU exited (${code ?? sig}); ${shown(out)}`
          finish({ usable: false, reason: `${device} exists but a test VM under KVM failed: ${why}`, proof })
        })
      })
      const poll = setInterval(() => {
        void read().then((out) => {
          const ok = judge(out)
          if (ok) finish(ok)
        })
      }, 100)
      const timer = setTimeout(() => {
        void read().then((out) => {
          finish({
            usable: false,
            reason: kernel
              ? `${device} exists but a guest kernel did not boot under KVM within ${secs(timeoutMs)} (${shown(out)}; nested virtualisation without VMX/SVM?)`
              : disk
                ? `${device} exists but the machine's disk did not start its kernel under KVM within ${secs(timeoutMs)} (${shown(out)}; nested virtualisation without VMX/SVM?)`
                : `${device} exists but a test VM under KVM ran no guest code within ${secs(timeoutMs)} (nested virtualisation without VMX/SVM?)`,
            proof,
          })
        })
      }, timeoutMs)
    })
    if (!diskUnusable) return verdict
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return probeKvmOnce(bin, arch, {}, timeoutMs, device)
}

/**
 * A kernel of the host's own architecture to probe KVM with when the machine boots a disk image
 * (whose kernel is inside it): the running kernel's image, else the newest readable one in /boot.
 */
export async function hostKernelImage(): Promise<string | undefined> {
  const candidates = [`/boot/vmlinuz-${release()}`]
  const listed = await readdir('/boot').catch(() => [] as string[])
  candidates.push(...listed.filter((f) => /^vmlinuz-/.test(f)).sort().reverse().map((f) => join('/boot', f)), '/boot/vmlinuz', '/boot/Image')
  for (const c of candidates) {
    try {
      await access(c, constants.R_OK)
      return c
    } catch {
      // not there, or root-only (Ubuntu's images are 0600)
    }
  }
  return undefined
}

export async function hvfSupported(): Promise<boolean> {
  if (process.platform !== 'darwin') return false
  const r = await run('sysctl', ['-n', 'kern.hv_support'], { timeoutMs: 5000 }).catch(() => undefined)
  return r?.stdout.trim() === '1'
}

// ---- UEFI firmware (aarch64) --------------------------------------------------------------

/** pflash code + vars template for aarch64, from the usual packages (AAVMF, edk2, Homebrew, Windows). */
export function findAarch64Firmware(systemBinary: string): { code: string; varsTemplate?: string } | undefined {
  const share = join(dirname(systemBinary), '..', 'share', 'qemu')
  const winShare = join(dirname(systemBinary), 'share')
  const pairs: Array<[string, string | undefined]> = [
    ['/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/AAVMF/AAVMF_VARS.fd'],
    ['/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw', '/usr/share/edk2/aarch64/vars-template-pflash.raw'],
    ['/usr/share/edk2/aarch64/QEMU_EFI-silent-pflash.raw', '/usr/share/edk2/aarch64/vars-template-pflash.raw'],
    [join(share, 'edk2-aarch64-code.fd'), join(share, 'edk2-arm-vars.fd')],
    [join(winShare, 'edk2-aarch64-code.fd'), join(winShare, 'edk2-arm-vars.fd')],
    ['/usr/share/qemu/edk2-aarch64-code.fd', '/usr/share/qemu/edk2-arm-vars.fd'],
  ]
  for (const [code, vars] of pairs) {
    if (existsSync(code)) return { code, ...(vars && existsSync(vars) ? { varsTemplate: vars } : {}) }
  }
  return undefined
}

/** No aarch64 UEFI firmware: which package has it on this OS (one line), or a kernel to boot instead. */
export function firmwareNotFound(platform: NodeJS.Platform = process.platform): MachineError {
  const where =
    platform === 'darwin'
      ? 'Homebrew\'s qemu ships it as share/qemu/edk2-aarch64-code.fd: "brew install qemu" (or "brew reinstall qemu")'
      : platform === 'win32'
        ? 'the QEMU installer puts it in share\\edk2-aarch64-code.fd next to qemu-system-aarch64.exe: reinstall QEMU'
        : 'install it: "sudo apt-get install qemu-efi-aarch64" (Debian/Ubuntu), "sudo dnf install edk2-aarch64" (Fedora), "sudo pacman -S edk2-aarch64" (Arch)'
  return new MachineError('firmware-not-found', 'No UEFI firmware for aarch64 guests was found', { hint: `${where}; or boot a kernel with --qemu-kernel` })
}

/** The machine's writable UEFI variable store: a copy of the template, or zeros of the code's size. */
export async function makeVarsFile(fw: { code: string; varsTemplate?: string }, dest: string): Promise<void> {
  if (fw.varsTemplate) {
    await copyFile(fw.varsTemplate, dest)
    return
  }
  await writeFile(dest, '')
  await truncate(dest, (await stat(fw.code)).size)
}

// ---- the VM process ------------------------------------------------------------------------

export interface LaunchResult {
  pid: number
  warnings: string
}

/**
 * Start QEMU in the background. With -daemonize (Linux, macOS) QEMU itself forks after the VM is
 * set up and the parent exits 0, so errors (bad image, port taken) are reported here; on Windows
 * the process is detached by us and given a moment to fail.
 */
export async function launchQemu(bin: string, args: readonly string[], o: { daemonize: boolean; pidFile: string; logFile: string }): Promise<LaunchResult> {
  if (o.daemonize) {
    // detached: the VM must not die with this CLI process or its terminal's Ctrl-C.
    const r = await new Promise<RunResult>((resolve, reject) => {
      const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      child.on('error', reject)
      // 'exit', not 'close': the daemon keeps the pipes until it redirects its stdio.
      child.on('exit', (code) => setTimeout(() => resolve({ code, stdout, stderr }), 50))
    })
    if (r.code !== 0) throw new LaunchError(r.stderr.trim() || r.stdout.trim() || `qemu exited with ${r.code}`)
    const pid = await waitForPid(o.pidFile, 5000)
    if (!pid) throw new LaunchError(`qemu started but wrote no pid file ${o.pidFile}`)
    return { pid, warnings: r.stderr.trim() }
  }
  const fd = openSync(o.logFile, 'a')
  try {
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true, windowsHide: true })
    const early = await new Promise<number | null | 'running'>((resolve) => {
      child.once('error', () => resolve(-1))
      child.once('exit', (code) => resolve(code))
      setTimeout(() => resolve('running'), 2000)
    })
    if (early !== 'running' || !child.pid) {
      const out = await readFile(o.logFile, 'utf8').catch(() => '')
      throw new LaunchError(out.trim().split('\n').slice(-3).join(' ') || `qemu exited with ${String(early)}`)
    }
    child.unref()
    await writeFile(o.pidFile, `${child.pid}\n`)
    return { pid: child.pid, warnings: '' }
  } finally {
    closeSync(fd)
  }
}

export class LaunchError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LaunchError'
  }
  /** slirp could not bind a forwarded host port (someone took it since we picked it). */
  get portTaken(): boolean {
    return /host ?forwarding rule|hostfwd|Could not set up host forwarding/i.test(this.message)
  }
}

async function waitForPid(pidFile: string, ms: number): Promise<number | undefined> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const pid = await readPid(pidFile)
    if (pid) return pid
    await new Promise((r) => setTimeout(r, 50))
  }
  return undefined
}

export async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(pidFile, 'utf8')).trim())
    return Number.isInteger(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}

export type ProcState = 'alive' | 'zombie' | 'gone'

/**
 * Is the process there? On Linux /proc/PID/stat tells a zombie apart (a daemonized QEMU whose
 * reaper never waited for it lingers as one after it exits): a zombie is not a running VM.
 */
export async function processState(pid: number): Promise<ProcState> {
  if (process.platform === 'linux') {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
      const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
      return st === 'Z' || st === 'X' ? 'zombie' : 'alive'
    } catch {
      return 'gone'
    }
  }
  try {
    process.kill(pid, 0)
    return 'alive'
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'gone'
  }
}

/**
 * Is `arg` one of the arguments process `pid` was started with? Linux reads /proc/PID/cmdline,
 * macOS asks ps (its arguments joined by spaces); undefined where neither exists (Windows).
 */
export async function commandLineHas(pid: number, arg: string, platform: NodeJS.Platform = process.platform): Promise<boolean | undefined> {
  if (platform === 'linux') {
    try {
      return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').includes(arg)
    } catch {
      return false
    }
  }
  if (platform === 'darwin') {
    const r = await run('ps', ['-p', String(pid), '-o', 'command='], { timeoutMs: 5000 }).catch(() => undefined)
    return !!r && ` ${r.stdout.trim()} `.includes(` ${arg} `)
  }
  return undefined
}

/**
 * Is `pid` the QEMU of this machine (and not an unrelated process that reused the pid)? Checked
 * by its command line naming this machine's pid file. Where the command line cannot be read
 * (Windows), the pid file is trusted.
 */
export async function isOurQemu(pid: number, pidFile: string): Promise<boolean> {
  return (await commandLineHas(pid, pidFile)) ?? true
}

export function killHard(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // already gone
  }
}
