/**
 * A stateful stand-in for `powershell.exe` driving Hyper-V, for tests on hosts without Windows.
 *
 * Run as a program (`node fake-powershell.ts ARGS…`, through the `powershell.exe` wrapper that
 * fakeHyperV() puts first on PATH), it takes exactly `-NoProfile -NonInteractive
 * -EncodedCommand <base64 UTF-16LE>`, checks the script's fixed prelude and epilogue, and
 * interprets ONLY the one-line bodies the hyperv driver's templates produce, recognised by strict
 * patterns written here independently of the driver: anything else is refused loudly (exit 99),
 * so a script the driver starts emitting without a fake that knows it fails the tests. Values are
 * read as PowerShell reads single-quoted literals (readPsLiteral).
 *
 * The answers follow the real cmdlets: ConvertTo-Json -Compress arrays, VMState names, Hyper-V's
 * error messages ("Hyper-V was unable to find a virtual machine with name …") on stderr with
 * exit code 1 (what the driver's catch block prints). Remove-VM leaves the VHDs and the ISO, as
 * the real one does. Save-VM writes the VM's state next to its configuration (a .vmrs file in
 * "Virtual Machines", as Windows 10 / Server 2016 configuration versions keep it) and the VM is
 * Saved; Start-VM of a Saved VM resumes it (the guest's address is there at once: it kept its
 * lease, no boot) and Remove-VMSavedState drops the state (Off). A VM whose secure boot template is not the UEFI CA one never gets an address
 * (the Debian shim is not signed by Windows' own CA: the firmware refuses it).
 *
 * The world is one JSON file in $FAKE_HYPERV_HOME, changed under a lock (exclusive mkdir) and
 * written atomically; every call is appended to calls.log (one JSON line: the cmdlet and the
 * body). Knobs: FAKE_HYPERV_FAIL="Cmdlet[:nth][,…]" fails the nth (default every) call of that
 * cmdlet, changing nothing; FAKE_HYPERV_ROLE=admin|hyperv-admin|user; FAKE_HYPERV_NO_MODULE=1;
 * FAKE_HYPERV_SWITCHES (JSON [{Name,SwitchType}]); FAKE_HYPERV_IPS (the addresses a booted guest
 * reports, default 127.0.0.1 and a link-local IPv6); FAKE_HYPERV_BOOT_MS (default 200).
 */
import { randomUUID } from 'node:crypto'
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { logCall, readJsonState, statePath, withJsonState } from './fake-cli-state.ts'

export const FAKE_POWERSHELL = fileURLToPath(import.meta.url)

export interface FakeVm {
  name: string
  id: string
  path: string
  state: 'Off' | 'Running' | 'Saved' | 'Paused'
  memoryBytes: number
  vhd: string
  switchName: string
  cpus: number
  dynamicMemory: boolean
  secureBootTemplate: string
  mac: string
  vlan: number
  dvds: string[]
  bootedAt?: number
  /** How the last Start-VM ran it: a boot, or a resume of a saved state. */
  lastStart?: 'boot' | 'resume'
}

export interface FakeHyperVState {
  vms: FakeVm[]
  /** VHDX files Convert-VHD made: path → virtual size in bytes. */
  disks: Record<string, number>
  counts: Record<string, number>
}

export const DEFAULT_SWITCHES = [
  { Name: 'Default Switch', SwitchType: 'Internal' },
  { Name: 'LAN (Intel® Ethernet)', SwitchType: 'External' },
]

const Q = "['\u2018\u2019\u201a\u201b]"
/** A PowerShell single-quoted literal, as a regex source (quote, then non-quotes or doubled quotes, then quote). */
const LIT = `(${Q}(?:[^'\u2018\u2019\u201a\u201b]|${Q}${Q})*${Q})`

/** The value of a single-quoted literal as PowerShell reads it: two quote characters in a row are one (the second). */
export function readPsLiteral(lit: string): string {
  const inner = lit.slice(1, -1)
  let out = ''
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!
    if (/['\u2018\u2019\u201a\u201b]/.test(c)) {
      const next = inner[i + 1]
      if (next === undefined || !/['\u2018\u2019\u201a\u201b]/.test(next)) throw new Error(`unpaired quote in literal ${lit}`)
      out += next
      i++
    } else out += c
  }
  return out
}

const PRELUDE = ["$ErrorActionPreference = 'Stop'", "$ProgressPreference = 'SilentlyContinue'", '[Console]::OutputEncoding = [Text.Encoding]::UTF8', 'try {']
const EPILOGUE = ['} catch {', '  [Console]::Error.WriteLine($_.Exception.Message)', '  exit 1', '}']

/** The one body line of a script the driver sent, or why it is not one. */
export function scriptBody(args: readonly string[]): { body: string } | { refused: string } {
  if (args.length !== 4 || args[0] !== '-NoProfile' || args[1] !== '-NonInteractive' || args[2] !== '-EncodedCommand') return { refused: `unexpected arguments ${JSON.stringify(args)}` }
  const b64 = args[3]!
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return { refused: 'the -EncodedCommand argument is not base64' }
  const lines = Buffer.from(b64, 'base64').toString('utf16le').split('\n')
  if (lines.length !== PRELUDE.length + 1 + EPILOGUE.length) return { refused: `a script of ${lines.length} lines` }
  for (const [i, l] of PRELUDE.entries()) if (lines[i] !== l) return { refused: `prelude line ${i + 1} is ${JSON.stringify(lines[i])}` }
  for (const [i, l] of EPILOGUE.entries()) if (lines[PRELUDE.length + 1 + i] !== l) return { refused: `epilogue line ${i + 1} is ${JSON.stringify(lines[PRELUDE.length + 1 + i])}` }
  const body = lines[PRELUDE.length]!
  if (!body.startsWith('  ')) return { refused: 'the body is not indented' }
  return { body: body.slice(2) }
}

const PROBE =
  "$p = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent(); ConvertTo-Json -Compress -InputObject @{ Module = [bool](@(Get-Module -ListAvailable -Name Hyper-V).Count); Administrator = $p.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator); HyperVAdministrator = $p.IsInRole([Security.Principal.SecurityIdentifier]'S-1-5-32-578') }"
const SWITCHES = "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VMSwitch | Select-Object Name, @{ Name = 'SwitchType'; Expression = { [string]$_.SwitchType } })"

/** The bodies understood: a cmdlet name and a strict pattern of its one line. */
const PATTERNS: Array<{ cmdlet: string; re: RegExp }> = [
  { cmdlet: 'Get-VM', re: new RegExp(`^ConvertTo-Json -Compress -InputObject @\\(Hyper-V\\\\Get-VM -Name ${LIT} \\| Select-Object Name, Path, @\\{ Name = 'State'; Expression = \\{ \\[string\\]\\$_\\.State \\} \\}\\)$`) },
  { cmdlet: 'Get-VMNetworkAdapter', re: new RegExp(`^ConvertTo-Json -Compress -InputObject @\\(Hyper-V\\\\Get-VMNetworkAdapter -VMName ${LIT} \\| ForEach-Object \\{ \\$_\\.IPAddresses \\}\\)$`) },
  { cmdlet: 'Convert-VHD', re: new RegExp(`^Hyper-V\\\\Convert-VHD -Path ${LIT} -DestinationPath ${LIT} -VHDType Dynamic$`) },
  { cmdlet: 'Resize-VHD', re: new RegExp(`^Hyper-V\\\\Resize-VHD -Path ${LIT} -SizeBytes (\\d+)$`) },
  { cmdlet: 'New-VM', re: new RegExp(`^Hyper-V\\\\New-VM -Name ${LIT} -Path ${LIT} -Generation 2 -MemoryStartupBytes (\\d+) -VHDPath ${LIT} -SwitchName ${LIT} \\| Out-Null$`) },
  { cmdlet: 'Set-VM', re: new RegExp(`^Hyper-V\\\\Set-VM -Name ${LIT} -ProcessorCount (\\d+) -CheckpointType Disabled -AutomaticStopAction ShutDown$`) },
  { cmdlet: 'Set-VMMemory', re: new RegExp(`^Hyper-V\\\\Set-VMMemory -VMName ${LIT} -DynamicMemoryEnabled \\$(true|false)$`) },
  { cmdlet: 'Set-VMFirmware', re: new RegExp(`^Hyper-V\\\\Set-VMFirmware -VMName ${LIT} -EnableSecureBoot On -SecureBootTemplate (MicrosoftUEFICertificateAuthority|MicrosoftWindows)$`) },
  { cmdlet: 'Set-VMNetworkAdapter', re: new RegExp(`^Hyper-V\\\\Set-VMNetworkAdapter -VMName ${LIT} -StaticMacAddress ${LIT}$`) },
  { cmdlet: 'Set-VMNetworkAdapterVlan', re: new RegExp(`^Hyper-V\\\\Set-VMNetworkAdapterVlan -VMName ${LIT} -Access -VlanId (\\d+)$`) },
  { cmdlet: 'Add-VMDvdDrive', re: new RegExp(`^Hyper-V\\\\Add-VMDvdDrive -VMName ${LIT} -Path ${LIT}$`) },
  { cmdlet: 'Start-VM', re: new RegExp(`^Hyper-V\\\\Start-VM -Name ${LIT}$`) },
  { cmdlet: 'Stop-VM -TurnOff', re: new RegExp(`^Hyper-V\\\\Stop-VM -Name ${LIT} -TurnOff -Force$`) },
  { cmdlet: 'Stop-VM', re: new RegExp(`^Hyper-V\\\\Stop-VM -Name ${LIT} -Force$`) },
  { cmdlet: 'Remove-VM', re: new RegExp(`^Hyper-V\\\\Remove-VM -Name ${LIT} -Force$`) },
  { cmdlet: 'Save-VM', re: new RegExp(`^Hyper-V\\\\Save-VM -Name ${LIT} -Confirm:\\$false$`) },
  { cmdlet: 'Remove-VMSavedState', re: new RegExp(`^Hyper-V\\\\Remove-VMSavedState -VMName ${LIT} -Confirm:\\$false$`) },
]

/** Which cmdlet a body is, and its arguments (literals read, numbers as text), or undefined. */
export function recognise(body: string): { cmdlet: string; args: string[] } | undefined {
  if (body === PROBE) return { cmdlet: 'probe', args: [] }
  if (body === SWITCHES) return { cmdlet: 'Get-VMSwitch', args: [] }
  for (const p of PATTERNS) {
    const m = p.re.exec(body)
    if (m) return { cmdlet: p.cmdlet, args: m.slice(1).map((a) => (/^['\u2018-\u201b]/.test(a) ? readPsLiteral(a) : a)) }
  }
  return undefined
}

// ---- state -----------------------------------------------------------------------------------

export const emptyState = (): FakeHyperVState => ({ vms: [], disks: {}, counts: {} })
export { statePath }

export const readState = (home: string): FakeHyperVState => readJsonState(home, emptyState)

/** Run `fn` on the state under the lock, writing it back atomically. */
export const withState = <T>(home: string, fn: (s: FakeHyperVState) => T): T => withJsonState(home, 'fake powershell.exe', emptyState, fn)

/** A cmdlet's failure: the message the driver's catch block writes. */
class PsError extends Error {}

const notFound = (name: string) => new PsError(`Hyper-V was unable to find a virtual machine with name "${name}".`)

function vmOf(s: FakeHyperVState, name: string): FakeVm {
  const vm = s.vms.find((v) => v.name === name)
  if (!vm) throw notFound(name)
  return vm
}

function magic(path: string): 'vhd' | 'vhdx' | 'other' {
  const fd = openSync(path, 'r')
  try {
    const b = Buffer.alloc(8)
    readSync(fd, b, 0, 8, 0)
    if (b.toString('latin1') === 'vhdxfile') return 'vhdx'
    const size = fstatSync(fd).size
    if (size >= 512) {
      readSync(fd, b, 0, 8, size - 512)
      if (b.toString('latin1') === 'conectix') return 'vhd'
    }
    return 'other'
  } finally {
    closeSync(fd)
  }
}

const fileNotFound = (p: string) => new PsError(`The system cannot find the file specified. (${p})`)

/** Hyper-V's answer to a state change the VM's state does not allow (as for Start-VM of a running VM). */
const wrongState = (vm: FakeVm) => new PsError(`'${vm.name}' failed to change state. The operation cannot be performed while the object is in its current state.`)

/** Where the fake keeps a saved VM's state: its runtime state file next to the configuration. */
export const savedStateFile = (vm: FakeVm): string => join(vm.path, 'Virtual Machines', `${vm.id}.vmrs`)

/** The VM off, any saved state gone (a turn-off, or Remove-VMSavedState). */
function turnOff(vm: FakeVm): string {
  rmSync(savedStateFile(vm), { force: true })
  vm.state = 'Off'
  delete vm.bootedAt
  return ''
}

export function guestAddresses(vm: FakeVm, env: NodeJS.ProcessEnv, now = Date.now()): string[] {
  if (vm.state !== 'Running' || vm.bootedAt === undefined) return []
  if (vm.secureBootTemplate !== 'MicrosoftUEFICertificateAuthority') return []
  if (now < vm.bootedAt + Number(env.FAKE_HYPERV_BOOT_MS ?? 200)) return []
  return (env.FAKE_HYPERV_IPS ?? '127.0.0.1,fe80::215:5dff:fe00:102').split(',').filter(Boolean)
}

/** Carry out one recognised call on the state; returns stdout. */
export function execute(s: FakeHyperVState, cmdlet: string, a: string[], env: NodeJS.ProcessEnv): string {
  switch (cmdlet) {
    case 'probe': {
      const role = env.FAKE_HYPERV_ROLE ?? 'hyperv-admin'
      return JSON.stringify({ Module: env.FAKE_HYPERV_NO_MODULE !== '1', Administrator: role === 'admin', HyperVAdministrator: role === 'hyperv-admin' })
    }
    case 'Get-VMSwitch':
      return JSON.stringify(env.FAKE_HYPERV_SWITCHES ? JSON.parse(env.FAKE_HYPERV_SWITCHES) : DEFAULT_SWITCHES)
    case 'Get-VM': {
      const vm = vmOf(s, a[0]!)
      return JSON.stringify([{ Name: vm.name, Path: vm.path, State: vm.state }])
    }
    case 'Get-VMNetworkAdapter':
      return JSON.stringify(guestAddresses(vmOf(s, a[0]!), env))
    case 'Convert-VHD': {
      const [src, dest] = a as [string, string]
      if (!existsSync(src)) throw fileNotFound(src)
      if (!/\.vhdx?$/i.test(src) || magic(src) === 'other') throw new PsError(`The file '${src}' is not a virtual hard disk file.`)
      if (!/\.vhdx$/i.test(dest)) throw new PsError(`The destination '${dest}' must have the extension .vhdx or .vhd.`)
      if (existsSync(dest)) throw new PsError(`The file '${dest}' already exists.`)
      // A VHDX's virtual size: a fixed VHD's is in its footer (offset 48, the "current size").
      let size = s.disks[src]
      if (size === undefined) {
        const buf = readFileSync(src)
        size = Number(buf.readBigUInt64BE(buf.length - 512 + 48))
      }
      writeFileSync(dest, Buffer.concat([Buffer.from('vhdxfile', 'latin1'), Buffer.from(JSON.stringify({ size }))]))
      s.disks[dest] = size
      return ''
    }
    case 'Resize-VHD': {
      const [path, bytes] = a as [string, string]
      if (!existsSync(path) || s.disks[path] === undefined) throw fileNotFound(path)
      if (Number(bytes) < s.disks[path]!) throw new PsError('The size specified is smaller than the current size of the virtual disk: use -ToMinimumSize to shrink it.')
      s.disks[path] = Number(bytes)
      return ''
    }
    case 'New-VM': {
      const [name, dir, mem, vhd, sw] = a as [string, string, string, string, string]
      const switches = (env.FAKE_HYPERV_SWITCHES ? JSON.parse(env.FAKE_HYPERV_SWITCHES) : DEFAULT_SWITCHES) as Array<{ Name: string }>
      if (!switches.some((x) => x.Name === sw)) throw new PsError(`Hyper-V was unable to find a virtual switch with name "${sw}".`)
      if (!existsSync(vhd)) throw fileNotFound(vhd)
      if (Number(mem) % (2 * 1024 * 1024) !== 0) throw new PsError('The memory size must be a multiple of 2 MB.')
      const id = randomUUID().toUpperCase()
      const path = join(dir, name)
      mkdirSync(join(path, 'Virtual Machines'), { recursive: true })
      writeFileSync(join(path, 'Virtual Machines', `${id}.vmcx`), 'fake')
      s.vms.push({ name, id, path, state: 'Off', memoryBytes: Number(mem), vhd, switchName: sw, cpus: 1, dynamicMemory: false, secureBootTemplate: 'MicrosoftWindows', mac: '', vlan: 0, dvds: [] })
      return ''
    }
    case 'Set-VM':
      vmOf(s, a[0]!).cpus = Number(a[1])
      return ''
    case 'Set-VMMemory':
      vmOf(s, a[0]!).dynamicMemory = a[1] === 'true'
      return ''
    case 'Set-VMFirmware':
      vmOf(s, a[0]!).secureBootTemplate = a[1]!
      return ''
    case 'Set-VMNetworkAdapter': {
      if (!/^[0-9A-F]{12}$/i.test(a[1]!)) throw new PsError(`'${a[1]}' is not a valid MAC address.`)
      vmOf(s, a[0]!).mac = a[1]!
      return ''
    }
    case 'Set-VMNetworkAdapterVlan':
      vmOf(s, a[0]!).vlan = Number(a[1])
      return ''
    case 'Add-VMDvdDrive': {
      const vm = vmOf(s, a[0]!)
      if (!existsSync(a[1]!)) throw fileNotFound(a[1]!)
      vm.dvds.push(a[1]!)
      return ''
    }
    case 'Start-VM': {
      const vm = vmOf(s, a[0]!)
      if (vm.state === 'Running') throw wrongState(vm)
      if (vm.state === 'Saved') {
        // A resume: the guest carries on where it was saved (bootedAt kept: its address is there at once).
        rmSync(savedStateFile(vm), { force: true })
        vm.lastStart = 'resume'
      } else {
        vm.bootedAt = Date.now()
        vm.lastStart = 'boot'
      }
      vm.state = 'Running'
      return ''
    }
    case 'Stop-VM':
    case 'Stop-VM -TurnOff': {
      const vm = vmOf(s, a[0]!)
      // A shutdown goes through the guest's integration services, which a saved VM is not running.
      if (cmdlet === 'Stop-VM' && vm.state === 'Saved') throw wrongState(vm)
      return turnOff(vm)
    }
    case 'Save-VM': {
      const vm = vmOf(s, a[0]!)
      if (vm.state !== 'Running' && vm.state !== 'Paused') throw wrongState(vm)
      writeFileSync(savedStateFile(vm), `fake saved state of ${vm.name}`)
      vm.state = 'Saved'
      return ''
    }
    case 'Remove-VMSavedState': {
      const vm = vmOf(s, a[0]!)
      if (vm.state !== 'Saved') throw wrongState(vm)
      return turnOff(vm)
    }
    case 'Remove-VM': {
      const vm = vmOf(s, a[0]!)
      if (vm.state !== 'Off') throw new PsError(`The operation cannot be performed while the virtual machine "${vm.name}" is in its current state.`)
      // Its configuration goes; its disks and ISO stay (as Hyper-V's Remove-VM leaves them).
      rmSync(join(vm.path, 'Virtual Machines'), { recursive: true, force: true })
      s.vms = s.vms.filter((v) => v !== vm)
      return ''
    }
    default:
      throw new Error(`no handler for ${cmdlet}`)
  }
}

function failing(env: NodeJS.ProcessEnv, cmdlet: string, nth: number): boolean {
  return (env.FAKE_HYPERV_FAIL ?? '')
    .split(',')
    .filter(Boolean)
    .some((spec) => {
      const [c, n] = spec.split(':')
      return c === cmdlet && (n === undefined || Number(n) === nth)
    })
}

function main(): void {
  const home = process.env.FAKE_HYPERV_HOME
  if (!home) {
    process.stderr.write('fake powershell.exe: FAKE_HYPERV_HOME is not set\n')
    process.exit(99)
  }
  const parsed = scriptBody(process.argv.slice(2))
  if ('refused' in parsed) {
    logCall(home, { cmdlet: 'REFUSED', body: parsed.refused })
    process.stderr.write(`fake powershell.exe: ${parsed.refused}\n`)
    process.exit(99)
  }
  const r = recognise(parsed.body)
  logCall(home, { cmdlet: r?.cmdlet ?? 'UNRECOGNISED', body: parsed.body })
  if (!r) {
    process.stderr.write(`fake powershell.exe: unrecognised script: ${parsed.body}\n`)
    process.exit(99)
  }
  const result = withState(home, (s): { stdout: string } | { error: string } => {
    const n = (s.counts[r.cmdlet] = (s.counts[r.cmdlet] ?? 0) + 1)
    if (failing(process.env, r.cmdlet, n)) return { error: `The operation failed (injected into ${r.cmdlet} call ${n}).` }
    // A failed cmdlet changes nothing: work on a copy, keep it only on success.
    const copy = structuredClone(s)
    try {
      const stdout = execute(copy, r.cmdlet, r.args, process.env)
      Object.assign(s, copy)
      return { stdout }
    } catch (e) {
      if (e instanceof PsError) return { error: e.message }
      throw e
    }
  })
  if ('error' in result) {
    process.stderr.write(`${result.error}\r\n`)
    process.exit(1)
  }
  if (result.stdout) process.stdout.write(`${result.stdout}\r\n`)
}

if (process.argv[1] && basename(process.argv[1]) === basename(FAKE_POWERSHELL)) main()
