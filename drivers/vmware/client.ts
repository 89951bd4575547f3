/**
 * The one way this driver talks to VMware: `vmrun` and `vmware-vdiskmanager`, run with an argv
 * array (never a shell), UTF-8 output, each call bounded in time. Everything else takes a
 * `VmwareTools` value, so tests inject a runner that replays recorded output, and the end-to-end
 * tests put fake programs on PATH. The only file of this driver that runs a program.
 */
import { join } from 'node:path'
import { MachineError } from '../../src/driver-kit/errors.js'
import { run, which } from '../../src/driver-kit/run.js'

export interface ToolOutput {
  stdout: string
  stderr: string
}

export interface ToolCallOptions {
  /** Default 120 s (converting a disk may take longer, waiting for an address less: the caller says so). */
  timeoutMs?: number
  signal?: AbortSignal
}

export type Tool = 'vmrun' | 'vmware-vdiskmanager'

/** Run `<tool> <args>`; resolves with its output, rejects with a VmwareToolError. */
export type ToolRunner = (tool: Tool, args: readonly string[], o?: ToolCallOptions) => Promise<ToolOutput>

/** A call that failed: `line` is the one line the user sees; `said` is what the tool printed. */
export class VmwareToolError extends MachineError {
  readonly tool: Tool
  readonly args: readonly string[]
  readonly said: string
  readonly timedOut: boolean
  constructor(tool: Tool, args: readonly string[], said: string, message: string, o: { hint?: string; timedOut?: boolean } = {}) {
    super('vmware-failed', message, o.hint ? { hint: o.hint } : {})
    this.tool = tool
    this.args = args
    this.said = said
    this.timedOut = o.timedOut ?? false
  }
  /** "Error: The virtual machine is not powered on: <vmx>": stop/kill of a stopped VM. */
  get notPoweredOn(): boolean {
    return /The virtual machine is not powered on/i.test(this.said)
  }
  /** The .vmx is gone or was never a VM ("Cannot open VM: …, The virtual machine cannot be found"). */
  get notFound(): boolean {
    return /cannot be found|Cannot open VM|does not exist/i.test(this.said)
  }
}

/**
 * What the tool said in one line. vmrun prints "Error: …" on stdout (and exits 255); the VM's path
 * follows a colon there and is left out, since the user knows which machine they asked about.
 * vmware-vdiskmanager prints progress lines, then its reason ("Failed to …: …").
 */
export function toolErrorLine(said: string): string {
  const lines = said.split(/\r?\n/).map((l) => l.trim()).filter(Boolean)
  const err = lines.find((l) => /^Error: /.test(l))
  if (err) return err.replace(/^Error: /, '').replace(/: (?:\/|[A-Za-z]:\\).*\.vmx$/i, '')
  const failed = lines.find((l) => /^(Failed|Unable|Invalid|Cannot)\b/i.test(l))
  return failed ?? lines.filter((l) => !/^\s*\d+% done|^(Creating|Converting|Grow(ing)?) /.test(l)).pop() ?? ''
}

/** The call named without paths: "vmrun start", "vmware-vdiskmanager -r". */
export function callName(tool: Tool, args: readonly string[]): string {
  if (tool === 'vmware-vdiskmanager') return `${tool} ${args[0] ?? ''}`.trim()
  const i = args[0] === '-T' ? 2 : 0
  return `vmrun ${args[i] ?? ''}`.trim()
}

export function toolFailure(tool: Tool, args: readonly string[], said: string, code: number | null): VmwareToolError {
  const why = toolErrorLine(said) || `exit code ${code ?? 'unknown'}`
  let hint: string | undefined
  if (/Unable to connect to host|The operation was canceled|cannot connect/i.test(said)) {
    hint = 'start VMware Fusion/Workstation once (it finishes its set-up and licence on first run), then try again'
  } else if (/VMware Tools are not running/i.test(said)) {
    hint = 'the guest has no VMware Tools running (open-vm-tools): the driver then reads the vmnet DHCP leases instead'
  } else if (/Virtualized Intel VT-x\/EPT is (not supported|incompatible)|Hyper-V|Device\/Credential Guard/i.test(said)) {
    hint = 'another hypervisor (Hyper-V, WSL 2, Docker Desktop) holds the processor\'s virtualization: use VMware Workstation >= 15.5.5, which runs on Hyper-V, or turn Hyper-V off ("bcdedit /set hypervisorlaunchtype off" as administrator, then reboot)'
  }
  return new VmwareToolError(tool, args, said, `${callName(tool, args)} failed: ${why}`, hint ? { hint } : {})
}

/** Where VMware installs vmrun and vmware-vdiskmanager (docker-machine's vmware_<os>.go looked there too). */
export function installDirs(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === 'darwin') return ['/Applications/VMware Fusion.app/Contents/Library', '/Applications/VMware Fusion Tech Preview.app/Contents/Library']
  if (platform === 'win32') {
    const pf86 = env['ProgramFiles(x86)'] ?? 'C:\\Program Files (x86)'
    const pf = env.ProgramFiles ?? 'C:\\Program Files'
    return [join(pf86, 'VMware', 'VMware Workstation'), join(pf, 'VMware', 'VMware Workstation'), join(pf86, 'VMware', 'VMware VIX')]
  }
  return ['/usr/bin', '/usr/local/bin']
}

export const INSTALL_HINT =
  'install VMware Fusion (macOS) or VMware Workstation Pro (Windows, Linux) — free for personal use — or point MACHINE_VMRUN and MACHINE_VMWARE_VDISKMANAGER at the programs'

const ENV_OF: Record<Tool, string> = { vmrun: 'MACHINE_VMRUN', 'vmware-vdiskmanager': 'MACHINE_VMWARE_VDISKMANAGER' }

/** A tool's path: $MACHINE_VMRUN / $MACHINE_VMWARE_VDISKMANAGER, else PATH, else VMware's install directories. */
export function toolPath(tool: Tool, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const explicit = env[ENV_OF[tool]]
  if (explicit) return explicit
  const found = which(tool, env, installDirs(platform, env), platform)
  if (!found) throw new MachineError('vmware-not-found', `${tool} was not found on PATH nor where VMware installs it`, { hint: INSTALL_HINT })
  return found
}

/** vmrun's host type: Fusion on macOS, Workstation elsewhere (Workstation Player's own "-T player" is not used: see docs/drivers/vmware.md). */
export const hostType = (platform: NodeJS.Platform): 'fusion' | 'ws' => (platform === 'darwin' ? 'fusion' : 'ws')

/**
 * The real programs. Each call is logged (debug) with its argv; a failure is a VmwareToolError
 * whose line is the tool's own reason; a timeout says which call hung.
 */
export function vmwareTools(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, debug: (line: string) => void = () => undefined): ToolRunner {
  const paths = new Map<Tool, string>()
  return async (tool, args, o = {}) => {
    let bin = paths.get(tool)
    if (!bin) paths.set(tool, (bin = toolPath(tool, env, platform)))
    debug(`${tool} ${args.join(' ')}`)
    const timeoutMs = o.timeoutMs ?? 120_000
    let r
    try {
      r = await run(bin, args, { timeoutMs, ...(o.signal ? { signal: o.signal } : {}) })
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'EACCES') {
        throw new MachineError('vmware-not-found', `${tool} (${bin}) ${code === 'ENOENT' ? 'was not found' : 'cannot be run (permission denied)'}`, { hint: INSTALL_HINT })
      }
      throw e
    }
    o.signal?.throwIfAborted()
    if (r.timedOut) {
      throw new VmwareToolError(tool, args, r.stdout + r.stderr, `${callName(tool, args)} did not finish within ${Math.round(timeoutMs / 1000)} s`, {
        timedOut: true,
        hint: 'VMware may be waiting for a dialog (a licence or update prompt in its window) or hung; check it and try again',
      })
    }
    // vmrun exits 0 on success, 255 (or 1) with "Error: …" on stdout otherwise.
    if (r.code === 0 && !/^Error: /m.test(r.stdout)) return { stdout: r.stdout, stderr: r.stderr }
    throw toolFailure(tool, args, `${r.stdout}\n${r.stderr}`, r.code)
  }
}
