/**
 * The one way this driver talks to VirtualBox: VBoxManage, run with an argv array (never a
 * shell), UTF-8 output, each call bounded in time. Everything else takes a `VBoxManage` function,
 * so tests inject a runner that replays recorded output, and the end-to-end tests put a fake
 * VBoxManage on PATH. The only file of this driver that runs a program.
 */
import { join } from 'node:path'
import { MachineError } from '../../src/driver-kit/errors.js'
import { run, which } from '../../src/driver-kit/run.js'

export interface VBoxOutput {
  stdout: string
  stderr: string
}

export interface VBoxCallOptions {
  /** Default 120 s (converting a disk may take longer: the caller says so). */
  timeoutMs?: number
  signal?: AbortSignal
}

/** Run `VBoxManage <args>`; resolves with its output, rejects with a VBoxManageError. */
export type VBoxManage = (args: readonly string[], o?: VBoxCallOptions) => Promise<VBoxOutput>

/** A VBoxManage call that failed: `line` is the one line the user sees. */
export class VBoxManageError extends MachineError {
  readonly args: readonly string[]
  readonly stderr: string
  constructor(args: readonly string[], stderr: string, message: string, hint?: string) {
    super('vboxmanage-failed', message, hint ? { hint } : {})
    this.args = args
    this.stderr = stderr
  }
  /** "Could not find a registered machine named 'x'": the VM is not (or no longer) registered. */
  get notFound(): boolean {
    return /Could not find a registered machine (named|with UUID)|VBOX_E_OBJECT_NOT_FOUND/.test(this.stderr)
  }
}

/**
 * VBoxManage's own words in one line: its first "VBoxManage: error:" line, leaving out the
 * "Details:"/"Context:" lines that follow it (COM codes and source lines), else its last line.
 * A startvm that fails says "Failed to open a session for the virtual machine NAME." first and
 * why on the next line (VT-x missing, a NAT forward that cannot bind…): the reason is taken then.
 */
export function vboxErrorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter(Boolean)
  const errors = lines
    .map((l) => /^VBoxManage(?:\.exe)?: error: (.*)$/.exec(l)?.[1]?.trim())
    .filter((l): l is string => !!l && !/^(Details|Context):/.test(l))
  if (errors.length > 1 && /^Failed to open a session for the virtual machine /.test(errors[0]!)) return errors[1]!
  return errors[0] ?? lines.filter((l) => !/^\d+%/.test(l)).pop() ?? ''
}

/** Subcommands whose second word says what they did ("hostonlyif create", "list hostonlyifs"). */
const TWO_WORDS = new Set(['list', 'hostonlyif', 'dhcpserver', 'sharedfolder', 'guestproperty', 'closemedium', 'showmediuminfo', 'modifymedium', 'clonemedium', 'createmedium'])

/** "startvm", "hostonlyif create", "controlvm poweroff": the call named without the VM or paths. */
export function subcommand(args: readonly string[]): string {
  const [sub = '', second = '', third = ''] = args
  if (TWO_WORDS.has(sub)) return `${sub} ${second}`
  if (sub === 'controlvm') return `controlvm ${third}`
  return sub
}

/** A failed call as one line naming the subcommand, VirtualBox's reason and (when known) the fix. */
export function vboxFailure(args: readonly string[], stderr: string, code: number | null): VBoxManageError {
  const why = vboxErrorLine(stderr) || `exit code ${code ?? 'unknown'}`
  const what = `VBoxManage ${subcommand(args)}`
  let hint: string | undefined
  if (/E_ACCESSDENIED/.test(stderr) && args[0] === 'hostonlyif') {
    hint = 'VirtualBox >= 6.1.28 allows host-only addresses in 192.168.56.0/21 only: use a --virtualbox-hostonly-cidr there, or list your range in /etc/vbox/networks.conf (e.g. "* 10.0.0.0/8 192.168.0.0/16")'
  } else if (/VERR_VMX_NO_VMX|VERR_SVM_NO_SVM|VERR_VMX_MSR_.*DISABLED|VERR_SVM_DISABLED|VT-x is not available|AMD-V is not available/.test(stderr)) {
    hint = VTX_FIX
  } else if (/VERR_NEM_NOT_AVAILABLE|VERR_SUPDRV_NO_RAW_MODE_HYPER_V_ROOT|Hyper-V/.test(stderr)) {
    hint = HYPERV_FIX
  } else if (/kernel driver not installed|VERR_VM_DRIVER_NOT_INSTALLED|vboxdrv/.test(stderr)) {
    hint = 'the VirtualBox kernel module is not loaded: run "sudo /sbin/vboxconfig" (Linux) or allow the Oracle system extension (macOS: System Settings > Privacy & Security), then try again'
  }
  return new VBoxManageError(args, stderr, `${what} failed: ${why}`, hint)
}

export const VTX_FIX =
  'enable hardware virtualization (Intel VT-x / AMD-V, often "SVM" or "Virtualization Technology") in the BIOS/UEFI settings; inside another VM, enable nested virtualization; or pass --virtualbox-no-vtx-check to skip this check'

export const HYPERV_FIX =
  'Hyper-V (also used by WSL 2, Docker Desktop and Windows Sandbox) holds the processor\'s virtualization: VirtualBox then runs very slowly or not at all. Turn it off with "bcdedit /set hypervisorlaunchtype off" as administrator and reboot, or pass --virtualbox-no-vtx-check to go on anyway'

/** Where VirtualBox installs VBoxManage when it is not on PATH. */
export function installDirs(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === 'darwin') return ['/Applications/VirtualBox.app/Contents/MacOS', '/usr/local/bin']
  if (platform === 'win32') {
    const pf = env.ProgramFiles ?? 'C:\\Program Files'
    return [env.VBOX_INSTALL_PATH, env.VBOX_MSI_INSTALL_PATH, join(pf, 'Oracle', 'VirtualBox')].filter((d): d is string => !!d)
  }
  return ['/usr/bin', '/usr/local/bin', '/usr/lib/virtualbox', '/opt/VirtualBox']
}

export const INSTALL_HINT =
  'install VirtualBox >= 5 from https://www.virtualbox.org/wiki/Downloads (or your package manager), or point MACHINE_VBOXMANAGE at VBoxManage'

/** VBoxManage's path: $MACHINE_VBOXMANAGE, else PATH, else VirtualBox's install directories. */
export function vboxManagePath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const explicit = env.MACHINE_VBOXMANAGE
  if (explicit) return explicit
  const found = which('VBoxManage', env, installDirs(platform, env), platform)
  if (!found) throw new MachineError('vboxmanage-not-found', 'VBoxManage was not found on PATH nor where VirtualBox installs it', { hint: INSTALL_HINT })
  return found
}

/** VirtualBox's "the object is not ready" right after a change: retried a few times, as docker-machine does. */
const NOT_READY = /error: The object is not ready/

/**
 * The real VBoxManage at `bin`. Each call is logged (debug) with its argv, and a failure is a
 * VBoxManageError whose line is VirtualBox's own reason. VBoxManage sometimes exits 0 after
 * printing "error:" (VT-x missing): that is a failure too.
 */
export function vboxManageAt(bin: string, debug: (line: string) => void = () => undefined): VBoxManage {
  return async (args, o = {}) => {
    for (let attempt = 1; ; attempt++) {
      debug(`VBoxManage ${args.join(' ')}`)
      let r
      try {
        r = await run(bin, args, { timeoutMs: o.timeoutMs ?? 120_000, ...(o.signal ? { signal: o.signal } : {}) })
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'ENOENT') throw new MachineError('vboxmanage-not-found', `VBoxManage (${bin}) was not found`, { hint: INSTALL_HINT })
        if (code === 'EACCES') throw new MachineError('vboxmanage-not-found', `VBoxManage (${bin}) cannot be run (permission denied)`, { hint: INSTALL_HINT })
        throw e
      }
      o.signal?.throwIfAborted()
      if (r.timedOut) {
        throw new VBoxManageError(args, r.stderr, `VBoxManage ${subcommand(args)} did not finish within ${(o.timeoutMs ?? 120_000) / 1000} s`, 'VirtualBox may be waiting for a dialog (Windows: a permission prompt minimised in the taskbar) or hung; check it and try again')
      }
      if (r.code === 0 && !/^VBoxManage(?:\.exe)?: error:/m.test(r.stderr)) return { stdout: r.stdout, stderr: r.stderr }
      if (attempt < 5 && NOT_READY.test(r.stderr)) {
        await new Promise((res) => setTimeout(res, 100))
        continue
      }
      throw vboxFailure(args, r.stderr, r.code)
    }
  }
}
