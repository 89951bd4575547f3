/**
 * A stateful stand-in for VirtualBox's `VBoxManage`, for tests on hosts without VirtualBox.
 *
 * Run as a program (`node fake-vboxmanage.ts ARGS…`, through the wrapper fake-virtualbox.ts puts
 * first on PATH), it answers the subcommands a docker-machine-style driver uses with the real
 * tool's argument syntax, output formats, error texts and exit codes (VirtualBox 7.1, checked
 * against docker/machine's recorded outputs in drivers/virtualbox/*_test.go and the VBoxManage
 * manual and sources), so an argv the real tool would refuse is refused here too:
 * an unknown subcommand or option is a syntax error (usage on stderr, "Syntax error: …", exit 2,
 * RTEXITCODE_SYNTAX); a failed operation prints "VBoxManage: error: …" lines and exits 1.
 *
 * Its whole world (VMs, media, host-only interfaces, DHCP servers) is one JSON file in
 * $FAKE_VBOX_HOME, changed under a lock (an exclusive mkdir) and written atomically (tmp +
 * rename): the CLI may run several VBoxManage at once, as it does the real one. Every call is
 * appended to calls.log (one JSON argv a line) so tests can read the sequence.
 *
 * Like the real VBoxManage, this is only a client: it changes the recorded state of VMs. Running
 * the guests (an SSH server, an engine) is the job of the "hypervisor" a test starts with
 * startFakeVirtualBox (fake-virtualbox.ts), as VBoxSVC/VBoxHeadless do for the real tool; when
 * one is attached, `controlvm poweroff` waits until it has really stopped the guest.
 *
 * Failure injection: FAKE_VBOX_FAIL="sub[:nth][,sub2[:nth]]" makes the nth call (default: every
 * call) of that subcommand ("storageattach", or "controlvm:acpipowerbutton" for a controlvm
 * action) fail as the real tool does, changing nothing. FAKE_VBOX_NO_VTX=1 makes startvm fail
 * as on a host without VT-x/AMD-V (and writes it to the VM's VBox.log, where the real one
 * logs it). FAKE_VBOX_ACPI=ignore: guests ignore the ACPI power button; otherwise a guest
 * powers off FAKE_VBOX_ACPI_MS (default 500) after it was pressed.
 */
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync, readdirSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { logCall, pidAlive, readJsonState, sleepSync, statePath, withJsonState } from './fake-cli-state.ts'

export const VERSION = '7.1.4r165100'

export type VmState = 'poweroff' | 'running' | 'paused' | 'saved' | 'aborted'

export interface NatRule {
  name: string
  proto: 'tcp' | 'udp'
  hostIp: string
  hostPort: number
  guestIp: string
  guestPort: number
}

export interface Nic {
  type: string
  nictype: string
  cable: 'on' | 'off'
  promisc: string
  mac: string
  hostonlyadapter?: string
  natpf: NatRule[]
  dnsHostResolver: 'on' | 'off'
  dnsProxy: 'on' | 'off'
}

export interface Attachment {
  type: 'dvddrive' | 'hdd' | 'fdd'
  /** Absolute path of the medium, or 'emptydrive'. */
  medium: string
}

export interface Vm {
  uuid: string
  name: string
  settingsFile: string
  ostype: string
  state: VmState
  stateChangedAt: string
  /** When the ACPI power button was pressed (ms since epoch), while the guest shuts down. */
  acpiAt?: number
  settings: Record<string, string>
  nics: Record<string, Nic>
  controllers: Array<{ name: string; type: string; controller: string; hostiocache: string; bootable: string; portcount: number }>
  /** "<controller>-<port>-<device>" → attachment */
  attachments: Record<string, Attachment>
  sharedFolders: Array<{ name: string; hostPath: string; readonly: boolean; automount: boolean; mountPoint: string }>
  guestProperties: Record<string, string>
  extraData: Record<string, string>
}

export interface Medium {
  uuid: string
  path: string
  format: string
  /** Logical size in MB. */
  sizeMb: number
  kind: 'hdd' | 'dvd' | 'floppy'
}

export interface HostOnlyIf {
  name: string
  guid: string
  ip: string
  mask: string
  mac: string
  dhcp: boolean
}

export interface DhcpServer {
  netname: string
  ip: string
  mask: string
  lower: string
  upper: string
  enabled: boolean
}

export interface FakeVBoxState {
  vms: Vm[]
  media: Medium[]
  hostonlyifs: HostOnlyIf[]
  dhcpservers: DhcpServer[]
  /** Calls made so far per subcommand (for FAKE_VBOX_FAIL's nth). */
  counts: Record<string, number>
  /** Set by the hypervisor harness (fake-virtualbox.ts): its pid and the guests it runs now, by VM uuid. */
  hypervisor?: { pid: number; up: string[]; /** the host port each running guest's SSH is served on, by uuid */ sshPorts?: Record<string, number | null> }
}

export const emptyState = (): FakeVBoxState => ({ vms: [], media: [], hostonlyifs: [], dhcpservers: [], counts: {} })

// ---- state file, lock (fake-cli-state.ts) ---------------------------------------------------

export { statePath }

export const readState = (home: string): FakeVBoxState => readJsonState(home, emptyState)

/** Run `fn` on the state under the lock (mkdir is atomic); a lock whose holder died is broken. */
export const withState = <T>(home: string, fn: (s: FakeVBoxState) => T): T => withJsonState(home, 'fake VBoxManage', emptyState, fn)

// ---- errors ----------------------------------------------------------------------------------

/** A failed operation: the real tool's "VBoxManage: error: …" lines, exit 1. */
export class VBoxError extends Error {
  readonly lines: string[]
  constructor(lines: string[]) {
    super(lines[0])
    this.lines = lines
  }
}
/** A refused command line: usage, then "Syntax error: …", exit 2 (RTEXITCODE_SYNTAX). */
export class SyntaxError_ extends Error {
  readonly usage: string
  constructor(usage: string, message: string) {
    super(message)
    this.usage = usage
  }
}

const details = (code: string, hex: string, component: string, iface: string, context: string, file: string, line: number): string[] => [
  `Details: code ${code} (${hex}), component ${component}, interface ${iface}, callee nsISupports`,
  `Context: "${context}" at line ${line} of file ${file}`,
]

const notFound = (name: string): VBoxError =>
  new VBoxError([`Could not find a registered machine named '${name}'`, ...details('VBOX_E_OBJECT_NOT_FOUND', '0x80bb0001', 'VirtualBoxWrap', 'IVirtualBox', 'FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())', 'VBoxManageInfo.cpp', 2964)])

const locked = (vm: Vm, context: string): VBoxError =>
  new VBoxError([`The machine '${vm.name}' is already locked for a session (or being unlocked)`, ...details('VBOX_E_INVALID_OBJECT_STATE', '0x80bb0007', 'MachineWrap', 'IMachine', context, 'VBoxManageModifyVM.cpp', 643)])

/** modifyvm of a saved VM: the first setting it tries fails (Machine::i_checkStateDependency(MutableStateDep)), naming the setter in Context. */
const notMutable = (option: string): VBoxError =>
  new VBoxError([`The machine is not mutable (state is Saved)`, ...details('VBOX_E_INVALID_VM_STATE', '0x80bb0002', 'SessionMachine', 'IMachine', `COMSETTER(${option.replace(/^--/, '')})(ValueUnion.psz)`, 'VBoxManageModifyVM.cpp', 782)])

const notRunning = (vm: Vm): VBoxError => new VBoxError([`Machine '${vm.name}' is not currently running`])

const fileNotFound = (path: string): VBoxError =>
  new VBoxError([
    `Could not find file for the medium '${path}' (VERR_FILE_NOT_FOUND)`,
    ...details('VBOX_E_FILE_ERROR', '0x80bb0004', 'MediumWrap', 'IMedium', 'OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, fForceNewUuidOnOpen, pMedium.asOutParam())', 'VBoxManageDisk.cpp', 201),
  ])

const PROGRESS = '0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%'

// ---- argument parsing ------------------------------------------------------------------------

/** The value kinds an option takes: a list of allowed words, 'int', 'string', or 'flag' (none). */
type Kind = readonly string[] | 'int' | 'string' | 'flag'

interface Parsed {
  opts: Array<[string, string]>
  positional: string[]
}

const ONOFF = ['on', 'off'] as const

/**
 * RTGetOpt's way: `--opt value`, `--opt=value` or `--opt:value`; `spec` maps an option (or a
 * pattern with a trailing <N> for numbered ones, --nic<N>) to its kind. Anything else starting
 * with "-" is "Unknown option", a value outside the allowed words "Invalid … argument".
 */
function parse(args: string[], spec: Record<string, Kind>, usage: string, maxPositional = Infinity): Parsed {
  const out: Parsed = { opts: [], positional: [] }
  const kindOf = (name: string): Kind | undefined => {
    if (spec[name]) return spec[name]
    const m = /^(--[a-z0-9-]*?[a-z-])([1-8])$/.exec(name)
    return m ? spec[`${m[1]}<N>`] : undefined
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (!a.startsWith('-') || a === '-') {
      if (out.positional.length >= maxPositional) throw new SyntaxError_(usage, `Invalid parameter '${a}'`)
      out.positional.push(a)
      continue
    }
    const eq = /^(--[^=:]+)[=:](.*)$/s.exec(a)
    const name = eq ? eq[1]! : a
    const kind = kindOf(name)
    if (!kind) throw new SyntaxError_(usage, `Unknown option: ${name}`)
    if (kind === 'flag') {
      out.opts.push([name, ''])
      continue
    }
    let value: string
    if (eq) value = eq[2]!
    else {
      if (i + 1 >= args.length) throw new SyntaxError_(usage, `${name}: RTGetOpt: Command line option needs argument.`)
      value = args[++i]!
    }
    if (kind === 'int' && !/^-?\d+$/.test(value)) throw new SyntaxError_(usage, `${name}: RTGetOpt: The value is not a number. (VERR_GETOPT_INVALID_ARGUMENT_FORMAT)`)
    if (Array.isArray(kind) && !kind.map((k) => k.toLowerCase()).includes(value.toLowerCase())) {
      throw new VBoxError([`Invalid ${name.slice(2)} argument '${value}'`])
    }
    out.opts.push([name, value])
  }
  return out
}

const opt = (p: Parsed, name: string): string | undefined => p.opts.findLast(([n]) => n === name)?.[1]
const has = (p: Parsed, name: string): boolean => p.opts.some(([n]) => n === name)

const USAGE: Record<string, string> = {
  createvm: 'VBoxManage createvm --name=name [--basefolder=basefolder] [--default] [--groups=group-ID[,...]] [--ostype=ostype] [--register] [--uuid=uuid] [--cipher cipher] [--password-id password-id] [--password file]',
  modifyvm: 'VBoxManage modifyvm <uuid|vmname> [--name=name] [--memory=size-in-MB] [--cpus=CPU-count] ...',
  storagectl: 'VBoxManage storagectl <uuid|vmname> --name=controller-name [--add=ide|floppy|pcie|sas|sata|scsi|usb|virtio] [--controller=...] [--bootable=on|off] [--hostiocache=on|off] [--portcount=count] [--remove] [--rename=new-controller-name]',
  storageattach: 'VBoxManage storageattach <uuid|vmname> --storagectl=name [--device=number] [--port=number] [--medium=none|emptydrive|additions|uuid|filename|host:drive|iscsi] [--type=dvddrive|fdd|hdd] ...',
  createmedium: 'VBoxManage createmedium [disk|dvd|floppy] --filename=filename [--size=megabytes|--sizebyte=bytes] [--diffparent=UUID|filename] [--format=VDI|VMDK|VHD] [--variant Standard,Fixed,Split2G,Stream,ESX,Formatted,RawDisk]',
  clonemedium: 'VBoxManage clonemedium [disk|dvd|floppy] <source-medium> <target-medium> [--existing] [--format=VDI|VMDK|VHD|RAW|other] [--variant=Standard,Fixed,Split2G,Stream,ESX]',
  convertfromraw: 'VBoxManage convertfromraw <inputfile> <outputfile> [--format=VDI|VMDK|VHD] [--uuid=uuid] [--variant=Standard,Fixed,Split2G,Stream,ESX]',
  modifymedium: 'VBoxManage modifymedium [disk|dvd|floppy] <uuid|filename> [--autoreset=on|off] [--compact] [--description=description] [--move=pathname] [--property=name=[value]] [--resize=megabytes|--resizebyte=bytes] [--setlocation=pathname] [--type=normal|writethrough|immutable|shareable|readonly|multiattach]',
  closemedium: 'VBoxManage closemedium [disk|dvd|floppy] <uuid|filename> [--delete]',
  showmediuminfo: 'VBoxManage showmediuminfo [disk|dvd|floppy] <uuid|filename>',
  sharedfolder: 'VBoxManage sharedfolder add <uuid|vmname> --name=name --hostpath=hostpath [--readonly] [--transient] [--automount] [--auto-mount-point=path]\nVBoxManage sharedfolder remove <uuid|vmname> --name=name [--transient]',
  hostonlyif: 'VBoxManage hostonlyif ipconfig <ifname> [--dhcp | --ip=IPv4-address [--netmask=IPv4-netmask] | --ipv6=IPv6-address [--netmasklengthv6=length]]\nVBoxManage hostonlyif create\nVBoxManage hostonlyif remove <ifname>',
  dhcpserver: 'VBoxManage dhcpserver add <--network=netname|--interface=ifname> --server-ip=address --netmask=mask --lower-ip=address --upper-ip=address <--enable|--disable>\nVBoxManage dhcpserver modify <--network=netname|--interface=ifname> [--server-ip=address] [--lower-ip=address] [--upper-ip=address] [--netmask=mask] [--enable|--disable]\nVBoxManage dhcpserver remove <--network=netname|--interface=ifname>',
  startvm: 'VBoxManage startvm <uuid|vmname...> [--putenv=name[=value]] [--type=[gui|headless|sdl|separate]]',
  controlvm: 'VBoxManage controlvm <uuid|vmname> pause | resume | reset | poweroff | savestate | acpipowerbutton | acpisleepbutton | natpf<1-N> ... | setlinkstate<1-N> on|off',
  discardstate: 'VBoxManage discardstate <uuid|vmname>',
  unregistervm: 'VBoxManage unregistervm <uuid|vmname> [--delete] [--delete-all]',
  showvminfo: 'VBoxManage showvminfo <uuid|vmname> [--details] [--machinereadable] [--password-id] [--password]',
  list: 'VBoxManage list [--long] [--sorted] bridgedifs | dhcpservers | hdds | hostonlyifs | ostypes | runningvms | vms | ...',
  guestproperty: 'VBoxManage guestproperty get <uuid|vmname> <property-name> [--verbose]\nVBoxManage guestproperty enumerate <uuid|vmname> [--no-timestamp] [--no-flags]\nVBoxManage guestproperty set <uuid|vmname> <property-name> [property-value [--flags=flags]]',
  setextradata: 'VBoxManage setextradata <global|uuid|vmname> <keyword> [value]',
  getextradata: 'VBoxManage getextradata <global|uuid|vmname> <keyword|enumerate>',
}

// ---- helpers ---------------------------------------------------------------------------------

function findVm(s: FakeVBoxState, ref: string | undefined, usage: string): Vm {
  if (!ref) throw new SyntaxError_(usage, 'No machine name or UUID given')
  const vm = s.vms.find((v) => v.name === ref || v.uuid === ref || `{${v.uuid}}` === ref)
  if (!vm) throw notFound(ref)
  return vm
}

const isLive = (vm: Vm): boolean => vm.state === 'running' || vm.state === 'paused'

export function setVmState(vm: Vm, st: VmState): void {
  vm.state = st
  vm.stateChangedAt = new Date().toISOString().replace('Z', '000000')
  if (st !== 'running') delete vm.acpiAt
}

const randomMac = (): string => `080027${Array.from({ length: 3 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join('').toUpperCase()}`

const newNic = (): Nic => ({ type: 'none', nictype: '82540EM', cable: 'on', promisc: 'deny', mac: randomMac(), natpf: [], dnsHostResolver: 'off', dnsProxy: 'off' })

const ipToInt = (ip: string): number => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0)
const isIpv4 = (ip: string): boolean => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip) && ip.split('.').every((o) => Number(o) <= 255)
const maskBits = (mask: string): number => ipToInt(mask).toString(2).replace(/0+$/, '').length

/**
 * The ranges host-only adapters may use (VirtualBox ≥ 6.1.28 on Linux, macOS, Solaris):
 * /etc/vbox/networks.conf ("* 10.0.0.0/8 192.168.0.0/16"), by default 192.168.56.0/21 only.
 * The fake reads $FAKE_VBOX_HOME/networks.conf instead of the host's.
 */
function allowedRanges(home: string): Array<[number, number]> {
  const file = join(home, 'networks.conf')
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const cidrs = text
    .split('\n')
    .filter((l) => l.trim().startsWith('*'))
    .flatMap((l) => l.trim().slice(1).trim().split(/\s+/))
    .filter((c) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c))
  return (cidrs.length ? cidrs : ['192.168.56.0/21']).map((c) => {
    const [ip, bits] = c.split('/') as [string, string]
    const size = 2 ** (32 - Number(bits))
    const base = ipToInt(ip) - (ipToInt(ip) % size)
    return [base, base + size - 1]
  })
}

function vmFolder(vm: Vm): string {
  return dirname(vm.settingsFile)
}

function settingsXml(vm: Vm): string {
  return [
    '<?xml version="1.0"?>',
    '<!-- written by the fake VBoxManage (test/helpers/fake-vboxmanage.ts) -->',
    '<VirtualBox xmlns="http://www.virtualbox.org/" version="1.19-linux">',
    `  <Machine uuid="{${vm.uuid}}" name="${vm.name}" OSType="${vm.ostype}" snapshotFolder="Snapshots">`,
    '  </Machine>',
    '</VirtualBox>',
    '',
  ].join('\n')
}

function mediumOf(s: FakeVBoxState, ref: string): Medium | undefined {
  const abs = isAbsolute(ref) ? ref : resolve(ref)
  return s.media.find((m) => m.uuid === ref || m.path === abs)
}

/** Open (register) a medium as the real tool does when a file is first used. */
function openMedium(s: FakeVBoxState, ref: string, kind: Medium['kind']): Medium {
  const known = mediumOf(s, ref)
  if (known) return known
  const path = isAbsolute(ref) ? ref : resolve(ref)
  if (!existsSync(path)) throw fileNotFound(path)
  const ext = path.split('.').pop()?.toUpperCase() ?? ''
  const format = kind === 'dvd' ? 'RAW' : ['VDI', 'VMDK', 'VHD'].includes(ext) ? ext : 'RAW'
  const size = diskSizeMb(path)
  const m: Medium = { uuid: randomUUID(), path, format, sizeMb: size, kind }
  s.media.push(m)
  return m
}

/** The fake's disk files start with a header line naming their format and logical size. */
function writeDisk(path: string, format: string, sizeMb: number): void {
  writeFileSync(path, `FAKE-${format} ${sizeMb}\n`)
}
function diskSizeMb(path: string): number {
  const head = readFileSync(path).subarray(0, 64).toString('latin1')
  const m = /^FAKE-\w+ (\d+)\n/.exec(head)
  return m ? Number(m[1]) : Math.ceil(statSync(path).size / 2 ** 20)
}

function usersOf(s: FakeVBoxState, m: Medium): Vm[] {
  return s.vms.filter((v) => Object.values(v.attachments).some((a) => a.medium === m.path))
}

// ---- subcommands -----------------------------------------------------------------------------

interface Out {
  stdout: string[]
}

type Handler = (s: FakeVBoxState, args: string[], out: Out, home: string) => void

const MODIFYVM: Record<string, Kind> = {
  '--name': 'string',
  '--ostype': 'string',
  '--memory': 'int',
  '--cpus': 'int',
  '--vram': 'int',
  '--firmware': ['bios', 'efi', 'efi32', 'efi64'],
  '--acpi': ONOFF,
  '--ioapic': ONOFF,
  '--rtcuseutc': ONOFF,
  '--hwvirtex': ONOFF,
  '--nestedpaging': ONOFF,
  '--largepages': ONOFF,
  '--vtxvpid': ONOFF,
  '--vtxux': ONOFF,
  '--nested-hw-virt': ONOFF,
  '--pae': ONOFF,
  '--longmode': ONOFF,
  '--hpet': ONOFF,
  '--x2apic': ONOFF,
  '--cpuhotplug': ONOFF,
  '--accelerate3d': ONOFF,
  '--bioslogofadein': ONOFF,
  '--bioslogofadeout': ONOFF,
  '--bioslogodisplaytime': 'int',
  '--biosbootmenu': ['disabled', 'menuonly', 'messageandmenu'],
  '--boot<N>': ['none', 'floppy', 'dvd', 'disk', 'net'],
  '--graphicscontroller': ['none', 'vboxvga', 'vmsvga', 'vboxsvga'],
  '--audio': ['none', 'null', 'dsound', 'was', 'oss', 'alsa', 'pulse', 'coreaudio'],
  '--audio-driver': ['none', 'default', 'null', 'dsound', 'was', 'oss', 'alsa', 'pulse', 'coreaudio'],
  '--audio-enabled': ONOFF,
  '--usb': ONOFF,
  '--usbohci': ONOFF,
  '--usbehci': ONOFF,
  '--usbxhci': ONOFF,
  '--mouse': ['ps2', 'usb', 'usbtablet', 'usbmultitouch', 'usbmtscreenpluspad'],
  '--keyboard': ['ps2', 'usb'],
  '--uart<N>': 'string',
  '--uartmode<N>': 'string',
  '--paravirtprovider': ['none', 'default', 'legacy', 'minimal', 'hyperv', 'kvm'],
  '--chipset': ['ich9', 'piix3'],
  '--description': 'string',
  '--groups': 'string',
  '--clipboard-mode': ['disabled', 'hosttoguest', 'guesttohost', 'bidirectional'],
  '--draganddrop': ['disabled', 'hosttoguest', 'guesttohost', 'bidirectional'],
  '--nic<N>': ['none', 'null', 'nat', 'natnetwork', 'bridged', 'intnet', 'hostonly', 'hostonlynet', 'generic'],
  '--nictype<N>': ['Am79C970A', 'Am79C973', 'Am79C960', '82540EM', '82543GC', '82545EM', 'virtio'],
  '--cableconnected<N>': ONOFF,
  '--nicpromisc<N>': ['deny', 'allow-vms', 'allow-all'],
  '--hostonlyadapter<N>': 'string',
  '--macaddress<N>': 'string',
  '--natpf<N>': 'string',
  '--natdnshostresolver<N>': ONOFF,
  '--natdnsproxy<N>': ONOFF,
  '--natdnspassdomain<N>': ONOFF,
  '--nat-localhostreachable<N>': ONOFF,
  '--nicspeed<N>': 'int',
}

function parseNatRule(text: string): NatRule {
  const f = text.split(',')
  const bad = (): VBoxError => new VBoxError([`Invalid NAT rule: '${text}'`])
  if (f.length !== 6) throw bad()
  const [name, proto, hostIp, hostPort, guestIp, guestPort] = f as [string, string, string, string, string, string]
  if (proto !== 'tcp' && proto !== 'udp') throw bad()
  if (!/^\d+$/.test(hostPort) || !/^\d+$/.test(guestPort) || Number(hostPort) > 65535 || Number(guestPort) > 65535) throw bad()
  if ((hostIp && !isIpv4(hostIp)) || (guestIp && !isIpv4(guestIp))) throw bad()
  return { name: name || `${proto}_${hostPort}_${guestPort}`, proto, hostIp, hostPort: Number(hostPort), guestIp, guestPort: Number(guestPort) }
}

const modifyvm: Handler = (s, args) => {
  const [ref, ...rest] = args
  const vm = findVm(s, ref, USAGE.modifyvm!)
  // Options whose value is two words (--natpf<N> delete NAME, --uart<N> BASE IRQ, --uartmode<N>
  // file PATH): folded into one value first. A missing second word is the real tool's error.
  const folded: string[] = []
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!
    const next = rest[i + 1]
    const two = (/^--natpf[1-8]$/.test(a) && next === 'delete') || (/^--uart[1-4]$/.test(a) && next !== undefined && next !== 'off') || (/^--uartmode[1-4]$/.test(a) && ['server', 'client', 'tcpserver', 'tcpclient', 'file'].includes(next ?? ''))
    if (two) {
      if (rest[i + 2] === undefined) throw new SyntaxError_(USAGE.modifyvm!, `Missing argument to '${a} ${next}'`)
      folded.push(`${a}=${next} ${rest[i + 2]}`)
      i += 2
    } else folded.push(a)
  }
  const p = parse(folded, MODIFYVM, USAGE.modifyvm!, 0)
  if (p.opts.length === 0) throw new SyntaxError_(USAGE.modifyvm!, 'No options specified')
  if (isLive(vm)) throw locked(vm, 'LockMachine(a->session, LockType_Write)')
  // A saved VM's settings are its saved state's: VirtualBox refuses to change them (hardware and
  // network cards: "not mutable", as reported by users of VBoxManage on a VM left Saved by a
  // snapshot restore). Its NAT engine's AddRedirect has no such check in VirtualBox's sources, so
  // a real one may accept --natpf<N> here: the fake refuses every option, the stricter reading.
  if (vm.state === 'saved') throw notMutable(p.opts[0]![0])
  // All checked before anything changes: the real tool applies nothing of a refused command line.
  const next: Vm = JSON.parse(JSON.stringify(vm)) as Vm
  for (const [name, value] of p.opts) {
    const n = /([1-8])$/.exec(name)?.[1]
    const nic = (): Nic => (next.nics[n!] ??= newNic())
    if (name === '--name') {
      if (s.vms.some((v) => v !== vm && v.name === value)) throw new VBoxError([`Machine '${value}' already exists`])
      next.name = value
    } else if (name === '--ostype') next.ostype = value
    else if (name === '--memory') {
      if (Number(value) < 4 || Number(value) > 2097152) throw new VBoxError([`Invalid RAM size: ${value} MB (must be in range [4, 2097152] MB)`])
      next.settings.memory = value
    } else if (name === '--cpus') {
      if (Number(value) < 1 || Number(value) > 64) throw new VBoxError([`Invalid number of CPUs: ${value} (must be in range [1, 64])`])
      next.settings.cpus = value
    } else if (/^--nic[1-8]$/.test(name)) nic().type = value.toLowerCase()
    else if (/^--nictype[1-8]$/.test(name)) nic().nictype = value
    else if (/^--cableconnected[1-8]$/.test(name)) nic().cable = value as 'on' | 'off'
    else if (/^--nicpromisc[1-8]$/.test(name)) nic().promisc = value
    else if (/^--hostonlyadapter[1-8]$/.test(name)) nic().hostonlyadapter = value
    else if (/^--macaddress[1-8]$/.test(name)) {
      if (value !== 'auto' && !/^[0-9A-Fa-f]{12}$/.test(value)) throw new VBoxError([`Invalid MAC address: '${value}'`])
      nic().mac = value === 'auto' ? randomMac() : value.toUpperCase()
    } else if (/^--natdnshostresolver[1-8]$/.test(name)) nic().dnsHostResolver = value as 'on' | 'off'
    else if (/^--natdnsproxy[1-8]$/.test(name)) nic().dnsProxy = value as 'on' | 'off'
    else if (/^--natpf[1-8]$/.test(name)) {
      const rules = nic().natpf
      if (value.startsWith('delete ')) {
        const rule = value.slice('delete '.length)
        const i = rules.findIndex((r) => r.name === rule)
        if (i < 0) throw new VBoxError([`Code NS_ERROR_INVALID_ARG (0x80070057) - Invalid argument value (extended info not available)`, `Context: "RemoveRedirect(Bstr(ValueUnion.psz).raw())" at line 1921 of file VBoxManageModifyVM.cpp`])
        rules.splice(i, 1)
      } else {
        const r = parseNatRule(value)
        if (rules.some((x) => x.name === r.name)) throw new VBoxError([`A NAT rule of this name already exists`, ...details('NS_ERROR_INVALID_ARG', '0x80070057', 'NATEngineWrap', 'INATEngine', `AddRedirect(Bstr(strName).raw(), proto, Bstr(strHostIp).raw(), RTStrToUInt16(strHostPort), Bstr(strGuestIp).raw(), RTStrToUInt16(strGuestPort))`, 'VBoxManageModifyVM.cpp', 1905)])
        if (rules.some((x) => x.proto === r.proto && x.hostPort === r.hostPort && x.hostIp === r.hostIp)) throw new VBoxError([`A NAT rule for this host port and this host IP already exists`])
        rules.push(r)
      }
    } else if (/^--uart[1-4]$/.test(name)) {
      if (value !== 'off' && !/^0x[0-9a-fA-F]+ \d+$/.test(value)) throw new VBoxError([`Invalid UART settings '${value}'`])
      next.settings[name.slice(2)] = value
    } else if (/^--uartmode[1-4]$/.test(name)) {
      const [mode, arg] = value.split(' ') as [string, string | undefined]
      if (mode === 'file' && arg && !isAbsolute(arg)) throw new VBoxError([`Invalid file name '${arg}': the path must be absolute`])
      if (!['disconnected', 'server', 'client', 'tcpserver', 'tcpclient', 'file'].includes(mode) && !mode.startsWith('/dev/')) throw new VBoxError([`Invalid UART mode '${value}'`])
      next.settings[name.slice(2)] = value
    } else next.settings[name.slice(2)] = value
  }
  Object.assign(vm, next)
}

const createvm: Handler = (s, args, out) => {
  const p = parse(args, { '--name': 'string', '--basefolder': 'string', '--register': 'flag', '--ostype': 'string', '--groups': 'string', '--uuid': 'string', '--default': 'flag' }, USAGE.createvm!, 0)
  const name = opt(p, '--name')
  if (!name) throw new SyntaxError_(USAGE.createvm!, 'Parameter --name is required')
  const base = opt(p, '--basefolder') ?? join(process.env.HOME ?? '/root', 'VirtualBox VMs')
  const settingsFile = join(resolve(base), name, `${name}.vbox`)
  if (existsSync(settingsFile)) {
    throw new VBoxError([`Machine settings file '${settingsFile}' already exists`, ...details('VBOX_E_FILE_ERROR', '0x80bb0004', 'MachineWrap', 'IMachine', 'CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), enmPlatformArch, ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), bstrCipher.raw(), bstrPasswordId.raw(), Bstr(strPassword).raw(), machine.asOutParam())', 'VBoxManageMisc.cpp', 455)])
  }
  const register = has(p, '--register')
  if (register && s.vms.some((v) => v.name === name)) {
    throw new VBoxError([`Machine '${name}' already exists`, ...details('VBOX_E_OBJECT_IN_USE', '0x80bb000c', 'VirtualBoxWrap', 'IVirtualBox', 'RegisterMachine(machine)', 'VBoxManageMisc.cpp', 472)])
  }
  const uuid = opt(p, '--uuid') ?? randomUUID()
  const vm: Vm = {
    uuid,
    name,
    settingsFile,
    ostype: opt(p, '--ostype') ?? 'Other',
    state: 'poweroff',
    stateChangedAt: '',
    settings: { memory: '128', cpus: '1', firmware: 'BIOS' },
    nics: { '1': { ...newNic(), type: 'nat' } },
    controllers: [],
    attachments: {},
    sharedFolders: [],
    guestProperties: {},
    extraData: {},
  }
  setVmState(vm, 'poweroff')
  mkdirSync(dirname(settingsFile), { recursive: true })
  // Registering writes the settings file; without --register only the file is made (as the real one does, when saved).
  writeFileSync(settingsFile, settingsXml(vm))
  if (register) s.vms.push(vm)
  out.stdout.push(`Virtual machine '${name}' is created${register ? ' and registered' : ''}.`, `UUID: ${uuid}`, `Settings file: '${settingsFile}'`)
}

const storagectl: Handler = (s, args) => {
  const [ref, ...rest] = args
  const vm = findVm(s, ref, USAGE.storagectl!)
  const p = parse(
    rest,
    {
      '--name': 'string',
      '--add': ['ide', 'floppy', 'pcie', 'sas', 'sata', 'scsi', 'usb', 'virtio'],
      '--controller': ['BusLogic', 'I82078', 'ICH6', 'IntelAHCI', 'LSILogic', 'LSILogicSAS', 'NVMe', 'PIIX3', 'PIIX4', 'USB', 'VirtIO'],
      '--bootable': ONOFF,
      '--hostiocache': ONOFF,
      '--portcount': 'int',
      '--remove': 'flag',
      '--rename': 'string',
    },
    USAGE.storagectl!,
    0,
  )
  const name = opt(p, '--name')
  if (!name) throw new SyntaxError_(USAGE.storagectl!, 'Storage controller name not specified')
  if (isLive(vm)) throw locked(vm, 'LockMachine(a->session, LockType_Write)')
  const existing = vm.controllers.find((c) => c.name === name)
  if (has(p, '--remove')) {
    if (!existing) throw new VBoxError([`Couldn't find the controller with the name: '${name}'`])
    vm.controllers = vm.controllers.filter((c) => c !== existing)
    for (const k of Object.keys(vm.attachments)) if (k.startsWith(`${name}-`)) delete vm.attachments[k]
    return
  }
  const add = opt(p, '--add')
  if (add) {
    if (existing) throw new VBoxError([`Storage controller named '${name}' already exists`, ...details('VBOX_E_OBJECT_IN_USE', '0x80bb000c', 'SessionMachine', 'IMachine', 'AddStorageController(Bstr(pszCtl).raw(), StorageBus_SATA, ctl.asOutParam())', 'VBoxManageStorageController.cpp', 1099)])
    const defaults: Record<string, [string, number]> = { sata: ['IntelAhci', 30], ide: ['PIIX4', 2], scsi: ['LsiLogic', 16], sas: ['LsiLogicSas', 8], floppy: ['I82078', 1], usb: ['USB', 8], pcie: ['NVMe', 1], virtio: ['VirtIO', 1] }
    const [ctl, ports] = defaults[add]!
    vm.controllers.push({ name, type: add, controller: opt(p, '--controller') ?? ctl, hostiocache: opt(p, '--hostiocache') ?? (add === 'sata' ? 'off' : 'on'), bootable: opt(p, '--bootable') ?? 'on', portcount: Number(opt(p, '--portcount') ?? ports) })
    return
  }
  if (!existing) throw new VBoxError([`Couldn't find the controller with the name: '${name}'`])
  if (opt(p, '--hostiocache')) existing.hostiocache = opt(p, '--hostiocache')!
  if (opt(p, '--bootable')) existing.bootable = opt(p, '--bootable')!
  if (opt(p, '--portcount')) existing.portcount = Number(opt(p, '--portcount'))
}

const storageattach: Handler = (s, args) => {
  const [ref, ...rest] = args
  const vm = findVm(s, ref, USAGE.storageattach!)
  const p = parse(
    rest,
    {
      '--storagectl': 'string',
      '--port': 'int',
      '--device': 'int',
      '--type': ['dvddrive', 'fdd', 'hdd'],
      '--medium': 'string',
      '--mtype': ['normal', 'writethrough', 'immutable', 'shareable', 'readonly', 'multiattach'],
      '--nonrotational': ONOFF,
      '--discard': ONOFF,
      '--hotpluggable': ONOFF,
      '--tempeject': ONOFF,
      '--comment': 'string',
    },
    USAGE.storageattach!,
    0,
  )
  const ctlName = opt(p, '--storagectl')
  if (!ctlName) throw new SyntaxError_(USAGE.storageattach!, 'Storage controller name not specified')
  const medium = opt(p, '--medium')
  if (!medium) throw new SyntaxError_(USAGE.storageattach!, 'Missing --medium argument')
  if (isLive(vm) && opt(p, '--type') === 'hdd') throw locked(vm, 'LockMachine(a->session, LockType_Write)')
  const ctl = vm.controllers.find((c) => c.name === ctlName)
  if (!ctl) throw new VBoxError([`Could not find a controller named '${ctlName}'`])
  const port = Number(opt(p, '--port') ?? 0)
  const device = Number(opt(p, '--device') ?? 0)
  if (port >= ctl.portcount) throw new VBoxError([`Invalid port number ${port} for controller '${ctlName}' (must be in range [0, ${ctl.portcount - 1}])`])
  const key = `${ctlName}-${port}-${device}`
  if (medium === 'none') {
    if (!vm.attachments[key]) throw new VBoxError([`No storage device attached to device slot ${device} on port ${port} of controller '${ctlName}'`])
    delete vm.attachments[key]
    return
  }
  const type = opt(p, '--type') as Attachment['type'] | undefined
  if (!type) throw new SyntaxError_(USAGE.storageattach!, 'Argument --type must be specified')
  if (medium === 'emptydrive') {
    if (type === 'hdd') throw new VBoxError(['Invalid medium "emptydrive" for a hard disk'])
    vm.attachments[key] = { type, medium: 'emptydrive' }
    return
  }
  const m = openMedium(s, medium, type === 'hdd' ? 'hdd' : type === 'dvddrive' ? 'dvd' : 'floppy')
  if (type === 'hdd' && usersOf(s, m).some((v) => v !== vm)) {
    const other = usersOf(s, m).find((v) => v !== vm)!
    throw new VBoxError([`Cannot attach medium '${m.path}' {${m.uuid}}: medium is already associated with the current state of machine uuid {${other.uuid}}!`, ...details('VBOX_E_OBJECT_IN_USE', '0x80bb000c', 'SessionMachine', 'IMachine', 'AttachDevice(Bstr(pszCtl).raw(), port, device, DeviceType_HardDisk, pMedium2Mount)', 'VBoxManageStorageController.cpp', 1132)])
  }
  vm.attachments[key] = { type, medium: m.path }
}

function mediumCommand(args: string[]): { kind: Medium['kind']; rest: string[] } {
  const first = args[0]
  if (first === 'disk' || first === 'dvd' || first === 'floppy') return { kind: first === 'disk' ? 'hdd' : first, rest: args.slice(1) }
  return { kind: 'hdd', rest: args }
}

const FORMATS = ['VDI', 'VMDK', 'VHD']

const createmedium: Handler = (s, args, out) => {
  const { kind, rest } = mediumCommand(args)
  const p = parse(rest, { '--filename': 'string', '--size': 'int', '--sizebyte': 'int', '--format': 'string', '--variant': 'string', '--diffparent': 'string' }, USAGE.createmedium!, 0)
  const file = opt(p, '--filename')
  if (!file) throw new SyntaxError_(USAGE.createmedium!, 'Parameters --filename is required')
  const size = opt(p, '--size') ? Number(opt(p, '--size')) : opt(p, '--sizebyte') ? Math.ceil(Number(opt(p, '--sizebyte')) / 2 ** 20) : undefined
  if (size === undefined) throw new SyntaxError_(USAGE.createmedium!, 'Parameters --size is required')
  const format = (opt(p, '--format') ?? 'VDI').toUpperCase()
  if (!FORMATS.includes(format)) throw new VBoxError([`Invalid hard disk format '${format}'`])
  const path = resolve(file)
  if (existsSync(path) || mediumOf(s, path)) {
    throw new VBoxError([`Failed to create medium`, `Could not create the medium storage unit '${path}'.`, `VBoxManage: error: VD: cannot create image '${path}', file already exists (VERR_ALREADY_EXISTS)`])
  }
  if (!existsSync(dirname(path))) throw new VBoxError([`Failed to create medium`, `Could not create the medium storage unit '${path}'.`, `VBoxManage: error: VD: cannot create image '${path}' (VERR_PATH_NOT_FOUND)`])
  writeDisk(path, format, size)
  const m: Medium = { uuid: randomUUID(), path, format, sizeMb: size, kind }
  s.media.push(m)
  out.stdout.push(PROGRESS, `Medium created. UUID: ${m.uuid}`)
}

const clonemedium: Handler = (s, args, out) => {
  const { kind, rest } = mediumCommand(args)
  const p = parse(rest, { '--format': 'string', '--variant': 'string', '--existing': 'flag' }, USAGE.clonemedium!, 2)
  const [src, dst] = p.positional
  if (!src || !dst) throw new SyntaxError_(USAGE.clonemedium!, 'Mandatory parameter missing')
  const from = openMedium(s, src, kind)
  const format = (opt(p, '--format') ?? from.format).toUpperCase()
  if (![...FORMATS, 'RAW'].includes(format)) throw new VBoxError([`Invalid hard disk format '${format}'`])
  const path = resolve(dst)
  if (existsSync(path)) throw new VBoxError([`Failed to clone medium`, `Could not create the clone medium '${path}'`, `VBoxManage: error: VD: cannot create image '${path}', file already exists (VERR_ALREADY_EXISTS)`])
  writeDisk(path, format, from.sizeMb)
  const m: Medium = { uuid: randomUUID(), path, format, sizeMb: from.sizeMb, kind }
  s.media.push(m)
  out.stdout.push(PROGRESS, `Clone medium created in format '${format}'. UUID: ${m.uuid}`)
}

const convertfromraw: Handler = (s, args, out) => {
  const p = parse(args, { '--format': 'string', '--variant': 'string', '--uuid': 'string' }, USAGE.convertfromraw!, 2)
  const [src, dst] = p.positional
  if (!src || !dst) throw new SyntaxError_(USAGE.convertfromraw!, 'Incorrect number of parameters')
  const format = (opt(p, '--format') ?? 'VDI').toUpperCase()
  if (!FORMATS.includes(format)) throw new SyntaxError_(USAGE.convertfromraw!, `Invalid format '${format}'`)
  const from = resolve(src)
  if (!existsSync(from)) throw new VBoxError([`Cannot open file '${from}': VERR_FILE_NOT_FOUND`])
  const bytes = statSync(from).size
  const to = resolve(dst)
  if (existsSync(to)) throw new VBoxError([`Cannot create the disk image "${to}": VERR_ALREADY_EXISTS`])
  out.stdout.push(`Converting from raw image file="${from}" to file="${to}"...`, `Creating dynamic image with size ${bytes} bytes (${Math.ceil(bytes / 2 ** 20)}MB)...`)
  writeDisk(to, format, Math.ceil(bytes / 2 ** 20))
}

const modifymedium: Handler = (s, args, out) => {
  const { kind, rest } = mediumCommand(args)
  const p = parse(rest, { '--resize': 'int', '--resizebyte': 'int', '--compact': 'flag', '--type': 'string', '--description': 'string', '--autoreset': ONOFF }, USAGE.modifymedium!, 1)
  const ref = p.positional[0]
  if (!ref) throw new SyntaxError_(USAGE.modifymedium!, 'Missing disk name')
  const m = openMedium(s, ref, kind)
  const resize = opt(p, '--resize') ? Number(opt(p, '--resize')) : opt(p, '--resizebyte') ? Math.ceil(Number(opt(p, '--resizebyte')) / 2 ** 20) : undefined
  if (resize === undefined) return
  if (usersOf(s, m).some(isLive)) throw new VBoxError([`Medium '${m.path}' is locked for writing by another task`])
  // VirtualBox resizes VDI and VHD images only; the real error for VMDK, recorded in the field.
  if (m.format !== 'VDI' && m.format !== 'VHD') {
    out.stdout.push('0%...')
    throw new VBoxError(['Resize medium operation for this format is not implemented yet!'])
  }
  if (resize < m.sizeMb) throw new VBoxError([`Failed to resize medium`, `Resizing to new size ${resize * 2 ** 20} is not yet supported for medium '${m.path}'`])
  m.sizeMb = resize
  writeDisk(m.path, m.format, resize)
  out.stdout.push(PROGRESS)
}

const closemedium: Handler = (s, args, out) => {
  const { kind, rest } = mediumCommand(args)
  const p = parse(rest, { '--delete': 'flag' }, USAGE.closemedium!, 1)
  const ref = p.positional[0]
  if (!ref) throw new SyntaxError_(USAGE.closemedium!, 'No disk UUID or filename given')
  const m = openMedium(s, ref, kind)
  const users = usersOf(s, m)
  if (users.length) {
    throw new VBoxError([`Cannot close medium '${m.path}' because it is still attached to ${users.length} virtual machines`, ...details('VBOX_E_OBJECT_IN_USE', '0x80bb000c', 'MediumWrap', 'IMedium', 'Close()', 'VBoxManageDisk.cpp', 1813)])
  }
  if (has(p, '--delete')) {
    rmSync(m.path, { force: true })
    out.stdout.push(PROGRESS)
  }
  s.media = s.media.filter((x) => x !== m)
}

const showmediuminfo: Handler = (s, args, out) => {
  const { kind, rest } = mediumCommand(args)
  const p = parse(rest, {}, USAGE.showmediuminfo!, 1)
  const m = openMedium(s, p.positional[0] ?? '', kind)
  const users = usersOf(s, m)
  out.stdout.push(
    `UUID:           ${m.uuid}`,
    'Parent UUID:    base',
    'State:          created',
    'Type:           normal (base)',
    `Location:       ${m.path}`,
    `Storage format: ${m.format}`,
    'Format variant: dynamic default',
    `Capacity:       ${m.sizeMb} MBytes`,
    `Size on disk:   ${Math.ceil(statSync(m.path).size / 2 ** 20)} MBytes`,
    'Encryption:     disabled',
    'Property:       AllocationBlockSize=1048576',
    ...(users.length ? [`In use by VMs:  ${users.map((u) => `${u.name} (UUID: ${u.uuid})`).join(', ')}`] : []),
  )
}

const sharedfolder: Handler = (s, args) => {
  const [action, ref, ...rest] = args
  if (action !== 'add' && action !== 'remove') throw new SyntaxError_(USAGE.sharedfolder!, `Invalid parameter '${action ?? ''}'`)
  const vm = findVm(s, ref, USAGE.sharedfolder!)
  const p = parse(rest, action === 'add' ? { '--name': 'string', '--hostpath': 'string', '--readonly': 'flag', '--transient': 'flag', '--automount': 'flag', '--auto-mount-point': 'string' } : { '--name': 'string', '--transient': 'flag' }, USAGE.sharedfolder!, 0)
  const name = opt(p, '--name')
  if (!name) throw new SyntaxError_(USAGE.sharedfolder!, 'Parameter --name is required')
  if (isLive(vm) && !has(p, '--transient')) throw locked(vm, 'LockMachine(a->session, LockType_Write)')
  if (action === 'add') {
    const hostPath = opt(p, '--hostpath')
    if (!hostPath) throw new SyntaxError_(USAGE.sharedfolder!, 'Parameter --hostpath is required')
    if (!isAbsolute(hostPath)) throw new VBoxError([`Shared folder path '${hostPath}' is not absolute`])
    if (vm.sharedFolders.some((f) => f.name === name)) throw new VBoxError([`Shared folder named '${name}' already exists`])
    vm.sharedFolders.push({ name, hostPath, readonly: has(p, '--readonly'), automount: has(p, '--automount'), mountPoint: opt(p, '--auto-mount-point') ?? '' })
  } else {
    if (!vm.sharedFolders.some((f) => f.name === name)) throw new VBoxError([`Could not find a shared folder named '${name}'.`])
    vm.sharedFolders = vm.sharedFolders.filter((f) => f.name !== name)
  }
}

const hostonlyif: Handler = (s, args, out, home) => {
  const [action, ...rest] = args
  if (action === 'create') {
    parse(rest, {}, USAGE.hostonlyif!, 0)
    let i = 0
    while (s.hostonlyifs.some((h) => h.name === `vboxnet${i}`)) i++
    const name = `vboxnet${i}`
    s.hostonlyifs.push({ name, guid: `786f6276-656e-4${i.toString(16).padStart(3, '0')}-8000-0a00270000${i.toString(16).padStart(2, '0')}`, ip: '192.168.56.1', mask: '255.255.255.0', mac: `0a:00:27:00:00:${i.toString(16).padStart(2, '0')}`, dhcp: false })
    out.stdout.push(PROGRESS, `Interface '${name}' was successfully created`)
    return
  }
  if (action === 'remove' || action === 'ipconfig') {
    const p = parse(rest, action === 'ipconfig' ? { '--ip': 'string', '--netmask': 'string', '--dhcp': 'flag', '--ipv6': 'string', '--netmasklengthv6': 'int' } : {}, USAGE.hostonlyif!, 1)
    const name = p.positional[0]
    if (!name) throw new SyntaxError_(USAGE.hostonlyif!, 'Missing interface name')
    const hif = s.hostonlyifs.find((h) => h.name === name)
    if (!hif) throw new VBoxError([`Could not find a host interface named '${name}'`, ...details('E_INVALIDARG', '0x80070057', 'HostWrap', 'IHost', `FindHostNetworkInterfaceByName(Bstr(pszName).raw(), hif.asOutParam())`, 'VBoxManageHostonly.cpp', 250)])
    if (action === 'remove') {
      s.hostonlyifs = s.hostonlyifs.filter((h) => h !== hif)
      out.stdout.push(PROGRESS)
      return
    }
    const ip = opt(p, '--ip')
    if (has(p, '--dhcp')) {
      hif.dhcp = true
      return
    }
    if (!ip) throw new SyntaxError_(USAGE.hostonlyif!, 'No IP address given')
    const mask = opt(p, '--netmask') ?? '255.255.255.0'
    if (!isIpv4(ip) || !isIpv4(mask)) throw new VBoxError([`Invalid IP address or netmask`])
    const size = 2 ** (32 - maskBits(mask))
    const lo = ipToInt(ip) - (ipToInt(ip) % size)
    if (!allowedRanges(home).some(([a, b]) => lo >= a && lo + size - 1 <= b)) {
      throw new VBoxError([`Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)`, `Context: "EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())" at line 242 of file VBoxManageHostonly.cpp`])
    }
    hif.ip = ip
    hif.mask = mask
    hif.dhcp = false
    return
  }
  throw new SyntaxError_(USAGE.hostonlyif!, `Invalid parameter '${action ?? ''}'`)
}

const dhcpserver: Handler = (s, args) => {
  const [action, ...rest] = args
  if (action !== 'add' && action !== 'modify' && action !== 'remove') throw new SyntaxError_(USAGE.dhcpserver!, `Invalid parameter '${action ?? ''}'`)
  const spec: Record<string, Kind> = { '--netname': 'string', '--network': 'string', '--interface': 'string', '--ifname': 'string' }
  if (action !== 'remove') Object.assign(spec, { '--ip': 'string', '--server-ip': 'string', '--netmask': 'string', '--lowerip': 'string', '--lower-ip': 'string', '--upperip': 'string', '--upper-ip': 'string', '--enable': 'flag', '--disable': 'flag' })
  const p = parse(rest, spec, USAGE.dhcpserver!, 0)
  const ifname = opt(p, '--interface') ?? opt(p, '--ifname')
  const netname = opt(p, '--netname') ?? opt(p, '--network') ?? (ifname ? `HostInterfaceNetworking-${ifname}` : undefined)
  if (!netname) throw new SyntaxError_(USAGE.dhcpserver!, 'You need to specify either --network or --interface to identify the DHCP server')
  if (ifname && !s.hostonlyifs.some((h) => h.name === ifname)) throw new VBoxError([`Could not find interface '${ifname}'`])
  const existing = s.dhcpservers.find((d) => d.netname === netname)
  if (action === 'remove') {
    if (!existing) throw new VBoxError(['DHCP server does not exist'])
    s.dhcpservers = s.dhcpservers.filter((d) => d !== existing)
    return
  }
  const ip = opt(p, '--server-ip') ?? opt(p, '--ip')
  const mask = opt(p, '--netmask')
  const lower = opt(p, '--lower-ip') ?? opt(p, '--lowerip')
  const upper = opt(p, '--upper-ip') ?? opt(p, '--upperip')
  for (const a of [ip, mask, lower, upper]) if (a !== undefined && !isIpv4(a)) throw new VBoxError([`Invalid IPv4 address: '${a}'`])
  if (action === 'add') {
    if (existing) throw new VBoxError(['DHCP server already exists'])
    if (!ip || !mask || !lower || !upper) throw new SyntaxError_(USAGE.dhcpserver!, 'Missing required option: --server-ip, --netmask, --lower-ip and --upper-ip are required for add')
    s.dhcpservers.push({ netname, ip, mask, lower, upper, enabled: !has(p, '--disable') && has(p, '--enable') })
    return
  }
  if (!existing) throw new VBoxError(['DHCP server does not exist'])
  Object.assign(existing, { ...(ip ? { ip } : {}), ...(mask ? { mask } : {}), ...(lower ? { lower } : {}), ...(upper ? { upper } : {}) })
  if (has(p, '--enable')) existing.enabled = true
  if (has(p, '--disable')) existing.enabled = false
}

function writeVBoxLog(vm: Vm, lines: string[]): void {
  const dir = join(vmFolder(vm), 'Logs')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'VBox.log'), `${lines.map((l) => `00:00:00.000000 ${l}`).join('\n')}\n`)
}

const startvm: Handler = (s, args, out) => {
  const p = parse(args, { '--type': ['gui', 'headless', 'sdl', 'separate'], '--putenv': 'string', '-E': 'string' }, USAGE.startvm!)
  if (!p.positional.length) throw new SyntaxError_(USAGE.startvm!, 'at least one VM name or uuid required')
  for (const ref of p.positional) {
    const vm = findVm(s, ref, USAGE.startvm!)
    if (isLive(vm)) {
      throw new VBoxError([`The machine '${vm.name}' is already locked by a session (or being locked or unlocked)`, ...details('VBOX_E_INVALID_OBJECT_STATE', '0x80bb0007', 'MachineWrap', 'IMachine', 'LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())', 'VBoxManageMisc.cpp', 881)])
    }
    out.stdout.push(`Waiting for VM "${vm.name}" to power on...`)
    for (const nic of Object.values(vm.nics)) {
      if (nic.type === 'hostonly' && !s.hostonlyifs.some((h) => h.name === nic.hostonlyadapter)) {
        throw new VBoxError([`Failed to open a session for the virtual machine ${vm.name}.`, `Nonexistent host networking interface, name '${nic.hostonlyadapter ?? ''}' (VERR_INTERNAL_ERROR)`, ...details('E_FAIL', '0x80004005', 'ConsoleWrap', 'IConsole', 'FinishLaunchVMProcess', 'VBoxManageMisc.cpp', 881)])
      }
    }
    for (const a of Object.values(vm.attachments)) {
      if (a.medium !== 'emptydrive' && !existsSync(a.medium)) throw new VBoxError([`Failed to open a session for the virtual machine ${vm.name}.`, `Could not open the medium '${a.medium}'.`, `VD: error VERR_FILE_NOT_FOUND opening image file '${a.medium}' (VERR_FILE_NOT_FOUND)`])
    }
    if (process.env.FAKE_VBOX_NO_VTX === '1') {
      writeVBoxLog(vm, ['VirtualBox VM 7.1.4 r165100 linux.amd64', 'HM: HMR3Init: Falling back to raw-mode: VT-x is not available', 'VMSetError: VT-x is not available (VERR_VMX_NO_VMX)'])
      throw new VBoxError([`Failed to open a session for the virtual machine ${vm.name}.`, 'VT-x is not available (VERR_VMX_NO_VMX)', ...details('NS_ERROR_FAILURE', '0x80004005', 'ConsoleWrap', 'IConsole', 'FinishLaunchVMProcess', 'VBoxManageMisc.cpp', 881)])
    }
    writeVBoxLog(vm, ['VirtualBox VM 7.1.4 r165100 linux.amd64', `Log opened ${new Date().toISOString()}`, 'HM: HMR3Init: VT-x w/ nested paging and unrestricted guest execution hw support'])
    // A serial port in file mode: VirtualBox opens (creates) the file when the VM starts.
    for (const [k, v] of Object.entries(vm.settings)) if (/^uartmode[1-4]$/.test(k) && v.startsWith('file ')) writeFileSync(v.slice(5), '', { flag: 'a' })
    // A saved VM resumes from its state file, which goes.
    rmSync(join(vmFolder(vm), 'Snapshots', 'state.sav'), { force: true })
    setVmState(vm, 'running')
    out.stdout.push(`VM "${vm.name}" has been successfully started.`)
  }
}

const controlvm: Handler = (s, args, out) => {
  const [ref, action, ...rest] = args
  const vm = findVm(s, ref, USAGE.controlvm!)
  const actions = ['pause', 'resume', 'reset', 'poweroff', 'savestate', 'acpipowerbutton', 'acpisleepbutton']
  const nat = /^natpf([1-8])$/.exec(action ?? '')
  const link = /^setlinkstate([1-8])$/.exec(action ?? '')
  if (!action || (!actions.includes(action) && !nat && !link)) throw new SyntaxError_(USAGE.controlvm!, `Invalid parameter '${action ?? ''}'`)
  if (!nat && !link && action !== 'resume') parse(rest, {}, USAGE.controlvm!, 0)
  if (!isLive(vm)) throw notRunning(vm)
  switch (action) {
    case 'pause':
      if (vm.state === 'paused') throw new VBoxError(['Invalid machine state: Paused'])
      setVmState(vm, 'paused')
      return
    case 'resume':
      // docker-machine passed "--type <ui>" after resume; the real tool refuses extra words.
      parse(rest, {}, USAGE.controlvm!, 0)
      if (vm.state !== 'paused') throw new VBoxError(['Invalid machine state: Running'])
      setVmState(vm, 'running')
      return
    case 'poweroff':
      setVmState(vm, 'poweroff')
      out.stdout.push(PROGRESS)
      return
    case 'savestate':
      mkdirSync(join(vmFolder(vm), 'Snapshots'), { recursive: true })
      writeFileSync(join(vmFolder(vm), 'Snapshots', 'state.sav'), 'saved state\n')
      setVmState(vm, 'saved')
      out.stdout.push(PROGRESS)
      return
    case 'acpipowerbutton':
      if (vm.state === 'paused') throw new VBoxError(['Invalid machine state: Paused (must be Running, Teleporting or LiveSnapshotting)'])
      vm.acpiAt ??= Date.now()
      return
    case 'acpisleepbutton':
    case 'reset':
      return
  }
  if (nat) {
    const n = nat[1]!
    const nic = vm.nics[n]
    if (!nic || nic.type !== 'nat') throw new VBoxError([`Guest not running or network adapter ${n} is not a NAT adapter`])
    if (rest[0] === 'delete') {
      const i = nic.natpf.findIndex((r) => r.name === rest[1])
      if (i < 0) throw new VBoxError([`Code NS_ERROR_INVALID_ARG (0x80070057) - Invalid argument value (extended info not available)`])
      nic.natpf.splice(i, 1)
    } else {
      if (rest.length !== 1) throw new SyntaxError_(USAGE.controlvm!, 'Incorrect number of parameters')
      const r = parseNatRule(rest[0]!)
      if (nic.natpf.some((x) => x.name === r.name)) throw new VBoxError(['A NAT rule of this name already exists'])
      if (nic.natpf.some((x) => x.proto === r.proto && x.hostPort === r.hostPort && x.hostIp === r.hostIp)) throw new VBoxError([`A NAT rule for this host port and this host IP already exists`])
      nic.natpf.push(r)
    }
    return
  }
  if (link) {
    if (rest.length !== 1 || !['on', 'off'].includes(rest[0]!)) throw new SyntaxError_(USAGE.controlvm!, 'Incorrect number of parameters')
    const nic = vm.nics[link[1]!]
    if (nic) nic.cable = rest[0] as 'on' | 'off'
  }
}

const discardstate: Handler = (s, args) => {
  const p = parse(args, {}, USAGE.discardstate!, 1)
  const vm = findVm(s, p.positional[0], USAGE.discardstate!)
  if (isLive(vm)) throw locked(vm, 'LockMachine(a->session, LockType_Write)')
  if (vm.state !== 'saved') throw new VBoxError([`Machine in invalid state ${vm.state === 'aborted' ? 'Aborted' : 'PoweredOff'} -- not saved`])
  rmSync(join(vmFolder(vm), 'Snapshots', 'state.sav'), { force: true })
  setVmState(vm, 'poweroff')
}

const unregistervm: Handler = (s, args, out) => {
  const p = parse(args, { '--delete': 'flag', '--delete-all': 'flag' }, USAGE.unregistervm!, 1)
  const vm = findVm(s, p.positional[0], USAGE.unregistervm!)
  if (isLive(vm)) throw new VBoxError([`Cannot unregister the machine '${vm.name}' while it is locked`, ...details('VBOX_E_INVALID_OBJECT_STATE', '0x80bb0007', 'MachineWrap', 'IMachine', 'Unregister(CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))', 'VBoxManageMisc.cpp', 154)])
  s.vms = s.vms.filter((v) => v !== vm)
  // Media are registered in the registry of the VM that uses them (VirtualBox ≥ 4.0): they are
  // forgotten with it unless another VM uses them too (their files stay without --delete).
  const forgotten = Object.values(vm.attachments).map((a) => a.medium)
  const known = s.media
  s.media = known.filter((m) => !forgotten.includes(m.path) || usersOf(s, m).length > 0)
  const del = has(p, '--delete') || has(p, '--delete-all')
  if (!del) return
  // --delete removes the hard disks only this VM used (never DVD images: those need
  // --delete-all), the saved state, the logs, the settings file and its backups, and the
  // machine folder when it is then empty.
  for (const a of Object.values(vm.attachments)) {
    if (a.medium === 'emptydrive') continue
    if (a.type !== 'hdd' && !has(p, '--delete-all')) continue
    const m = known.find((x) => x.path === a.medium)
    if (m && usersOf(s, m).length === 0) rmSync(m.path, { force: true })
  }
  const folder = vmFolder(vm)
  rmSync(join(folder, 'Logs'), { recursive: true, force: true })
  rmSync(join(folder, 'Snapshots'), { recursive: true, force: true })
  for (const f of [vm.settingsFile, `${vm.settingsFile}-prev`, `${vm.settingsFile.replace(/\.vbox$/, '')}.vbox-prev`]) rmSync(f, { force: true })
  try {
    if (readdirSync(folder).length === 0) rmdirSync(folder)
  } catch {
    // gone already
  }
  out.stdout.push(PROGRESS)
}

/** VirtualBox 7.0's `showvminfo --machinereadable` layout (its stray "Encryption:" line included). */
function machineReadable(s: FakeVBoxState, vm: Vm): string[] {
  const q = (k: string, v: string | number): string => `${k}="${v}"`
  const qq = (k: string, v: string | number): string => `"${k}"="${v}"`
  const set = (k: string, dflt: string): string => vm.settings[k] ?? dflt
  const folder = vmFolder(vm)
  const lines = [
    q('name', vm.name),
    'Encryption:     disabled',
    q('groups', '/'),
    q('ostype', vm.ostype === 'Debian_64' ? 'Debian (64-bit)' : vm.ostype),
    q('UUID', vm.uuid),
    q('CfgFile', vm.settingsFile),
    q('SnapFldr', join(folder, 'Snapshots')),
    q('LogFldr', join(folder, 'Logs')),
    q('hardwareuuid', vm.uuid),
    `memory=${set('memory', '128')}`,
    q('pagefusion', 'off'),
    `vram=${set('vram', '8')}`,
    'cpuexecutioncap=100',
    q('hpet', set('hpet', 'off')),
    q('cpu-profile', 'host'),
    q('chipset', 'piix3'),
    q('firmware', set('firmware', 'bios').toUpperCase()),
    `cpus=${set('cpus', '1')}`,
    q('pae', set('pae', 'on')),
    q('longmode', set('longmode', 'on')),
    q('triplefaultreset', 'off'),
    q('apic', 'on'),
    q('x2apic', set('x2apic', 'on')),
    q('nested-hw-virt', set('nested-hw-virt', 'off')),
    'cpuid-portability-level=0',
    q('bootmenu', set('biosbootmenu', 'messageandmenu')),
    ...[1, 2, 3, 4].map((n) => q(`boot${n}`, set(`boot${n}`, n === 1 ? 'floppy' : n === 2 ? 'dvd' : n === 3 ? 'disk' : 'none'))),
    q('acpi', set('acpi', 'on')),
    q('ioapic', set('ioapic', 'on')),
    q('biosapic', 'apic'),
    'biossystemtimeoffset=0',
    `BIOS NVRAM File="${join(folder, `${vm.name}.nvram`)}"`,
    q('rtcuseutc', set('rtcuseutc', 'off')),
    q('hwvirtex', set('hwvirtex', 'on')),
    q('nestedpaging', set('nestedpaging', 'on')),
    q('largepages', set('largepages', 'off')),
    q('vtxvpid', set('vtxvpid', 'on')),
    q('vtxux', set('vtxux', 'on')),
    q('virtvmsavevmload', 'on'),
    q('iommu', 'none'),
    q('paravirtprovider', set('paravirtprovider', 'default')),
    q('effparavirtprovider', 'kvm'),
    q('VMState', vm.state),
    ...(vm.state === 'saved' ? [q('VMStateFile', join(folder, 'Snapshots', 'state.sav'))] : []),
    q('VMStateChangeTime', vm.stateChangedAt),
    q('graphicscontroller', set('graphicscontroller', 'vboxvga')),
    'monitorcount=1',
    q('accelerate3d', set('accelerate3d', 'off')),
    q('accelerate2dvideo', 'off'),
    q('teleporterenabled', 'off'),
    'teleporterport=0',
    q('teleporteraddress', ''),
    q('teleporterpassword', ''),
    q('tracing-enabled', 'off'),
    q('tracing-allow-vm-access', 'off'),
    q('tracing-config', ''),
    q('autostart-enabled', 'off'),
    'autostart-delay=0',
    q('defaultfrontend', ''),
    q('vmprocpriority', 'default'),
  ]
  vm.controllers.forEach((c, i) => {
    lines.push(q(`storagecontrollername${i}`, c.name), q(`storagecontrollertype${i}`, c.controller), q(`storagecontrollerinstance${i}`, 0), q(`storagecontrollermaxportcount${i}`, c.portcount), q(`storagecontrollerportcount${i}`, c.portcount), q(`storagecontrollerbootable${i}`, c.bootable))
    // Every used port, then the first free one as "none" (as 7.0 lists a SATA controller).
    const used = Object.keys(vm.attachments).filter((k) => k.startsWith(`${c.name}-`)).map((k) => Number(k.split('-').at(-2)))
    const last = used.length ? Math.max(...used) + 1 : 0
    for (let port = 0; port <= Math.min(last, c.portcount - 1); port++) {
      const a = vm.attachments[`${c.name}-${port}-0`]
      if (!a) {
        lines.push(qq(`${c.name}-${port}-0`, 'none'))
        continue
      }
      lines.push(qq(`${c.name}-${port}-0`, a.medium))
      const m = mediumOf(s, a.medium)
      if (m) lines.push(qq(`${c.name}-ImageUUID-${port}-0`, m.uuid))
      if (a.type === 'dvddrive') lines.push(qq(`${c.name}-tempeject-${port}-0`, 'off'), qq(`${c.name}-IsEjected-${port}-0`, 'off'))
      lines.push(qq(`${c.name}-hot-pluggable-${port}-0`, 'off'), qq(`${c.name}-nonrotational-${port}-0`, 'off'), qq(`${c.name}-discard-${port}-0`, 'off'))
    }
  })
  for (let n = 1; n <= 8; n++) {
    const nic = vm.nics[String(n)]
    if (!nic || nic.type === 'none') {
      lines.push(q(`nic${n}`, 'none'))
      continue
    }
    if (nic.type === 'nat') lines.push(q(`natnet${n}`, 'nat'))
    if (nic.type === 'hostonly') lines.push(q(`hostonlyadapter${n}`, nic.hostonlyadapter ?? ''))
    lines.push(q(`macaddress${n}`, nic.mac), q(`cableconnected${n}`, nic.cable), q(`nic${n}`, nic.type), q(`nictype${n}`, nic.nictype), q(`nicspeed${n}`, 0))
    if (nic.type === 'nat') {
      lines.push(q('mtu', 0), q('sockSnd', 64), q('sockRcv', 64), q('tcpWndSnd', 64), q('tcpWndRcv', 64))
      // VirtualBox keeps NAT rules in a map by name: they come out sorted by name.
      ;[...nic.natpf].sort((x, y) => (x.name < y.name ? -1 : 1)).forEach((r, i) => lines.push(q(`Forwarding(${i})`, `${r.name},${r.proto},${r.hostIp},${r.hostPort},${r.guestIp},${r.guestPort}`)))
    }
  }
  lines.push(q('hidpointing', 'ps2mouse'), q('hidkeyboard', 'ps2kbd'))
  for (let n = 1; n <= 4; n++) {
    const uart = vm.settings[`uart${n}`]
    if (!uart || uart === 'off') {
      lines.push(q(`uart${n}`, 'off'))
      continue
    }
    const [base, irq] = uart.split(' ') as [string, string]
    lines.push(q(`uart${n}`, `0x${parseInt(base, 16).toString(16).padStart(4, '0')},${irq}`))
    const mode = vm.settings[`uartmode${n}`]
    if (mode) lines.push(q(`uartmode${n}`, mode.replace(' ', ',')))
    lines.push(q(`uarttype${n}`, '16550A'))
  }
  lines.push(q('lpt1', 'off'), q('lpt2', 'off'), q('audio', 'none'), q('audio_out', 'off'), q('audio_in', 'off'), q('clipboard', 'disabled'), q('draganddrop', 'disabled'))
  if (isLive(vm)) lines.push(q('SessionName', 'headless'), 'VideoMode="720,400,0"@0,0 1')
  lines.push(q('vrde', 'off'), q('usb', 'off'), q('ehci', 'off'), q('xhci', 'off'), q('recording_enabled', 'off'), 'recording_screens=1')
  vm.sharedFolders.forEach((f, i) => lines.push(q(`SharedFolderNameMachineMapping${i + 1}`, f.name), q(`SharedFolderPathMachineMapping${i + 1}`, f.hostPath)))
  // What a running guest reports (7.0 prints these only while a session is open).
  if (isLive(vm)) lines.push(q('VRDEActiveConnection', 'off'), 'VRDEClients==0', 'GuestMemoryBalloon=0', q('GuestOSType', 'Linux26_64'), 'GuestAdditionsRunLevel=0')
  return lines
}

const showvminfo: Handler = (s, args, out) => {
  const p = parse(args, { '--machinereadable': 'flag', '--details': 'flag', '--log': 'int' }, USAGE.showvminfo!, 1)
  const vm = findVm(s, p.positional[0], USAGE.showvminfo!)
  if (has(p, '--machinereadable')) {
    out.stdout.push(...machineReadable(s, vm))
    return
  }
  const human: Record<VmState, string> = { poweroff: 'powered off', running: 'running', paused: 'paused', saved: 'saved', aborted: 'aborted' }
  out.stdout.push(`Name:                        ${vm.name}`, `UUID:                        ${vm.uuid}`, `Config file:                 ${vm.settingsFile}`, `State:                       ${human[vm.state]} (since ${vm.stateChangedAt})`)
}

const list: Handler = (s, args, out) => {
  const p = parse(args, { '--long': 'flag', '-l': 'flag', '--sorted': 'flag', '-s': 'flag' }, USAGE.list!, 1)
  const what = p.positional[0]
  switch (what) {
    case 'vms':
      for (const v of s.vms) out.stdout.push(`"${v.name}" {${v.uuid}}`)
      return
    case 'runningvms':
      for (const v of s.vms.filter(isLive)) out.stdout.push(`"${v.name}" {${v.uuid}}`)
      return
    case 'hostonlyifs':
      for (const h of s.hostonlyifs) {
        out.stdout.push(
          `Name:            ${h.name}`,
          `GUID:            ${h.guid}`,
          `DHCP:            ${h.dhcp ? 'Enabled' : 'Disabled'}`,
          `IPAddress:       ${h.ip}`,
          `NetworkMask:     ${h.mask}`,
          `IPV6Address:     fe80::800:27ff:fe00:${h.mac.slice(-2)}`,
          'IPV6NetworkMaskPrefixLength: 64',
          `HardwareAddress: ${h.mac}`,
          'MediumType:      Ethernet',
          'Wireless:        No',
          'Status:          Up',
          `VBoxNetworkName: HostInterfaceNetworking-${h.name}`,
          '',
        )
      }
      return
    case 'dhcpservers':
      // The 6.1+ layout (the old one had "IP:" and "lowerIPAddress:" lines).
      for (const d of s.dhcpservers) {
        out.stdout.push(
          `NetworkName:    ${d.netname}`,
          `Dhcpd IP:       ${d.ip}`,
          `LowerIPAddress: ${d.lower}`,
          `UpperIPAddress: ${d.upper}`,
          `NetworkMask:    ${d.mask}`,
          `Enabled:        ${d.enabled ? 'Yes' : 'No'}`,
          'Global Configuration:',
          '    minLeaseTime:     default',
          '    defaultLeaseTime: default',
          '    maxLeaseTime:     default',
          '    Forced options:   None',
          '    Suppressed opts.: None',
          `        1/legacy: ${d.mask}`,
          'Groups:               None',
          'Individual Configs:   None',
          '',
        )
      }
      return
    case 'hdds':
      for (const m of s.media.filter((x) => x.kind === 'hdd')) {
        out.stdout.push(`UUID:           ${m.uuid}`, 'Parent UUID:    base', 'State:          created', 'Type:           normal (base)', `Location:       ${m.path}`, `Storage format: ${m.format}`, `Capacity:       ${m.sizeMb} MBytes`, 'Encryption:     disabled', '')
      }
      return
    default:
      throw new SyntaxError_(USAGE.list!, `Unknown subcommand: ${what ?? ''}`)
  }
}

const guestproperty: Handler = (s, args, out) => {
  const [action, ref, ...rest] = args
  if (!['get', 'set', 'enumerate', 'delete', 'unset'].includes(action ?? '')) throw new SyntaxError_(USAGE.guestproperty!, `Invalid parameter '${action ?? ''}'`)
  const vm = findVm(s, ref, USAGE.guestproperty!)
  if (action === 'enumerate') {
    for (const [k, v] of Object.entries(vm.guestProperties)) out.stdout.push(`${k.padEnd(40)} = '${v}'`)
    return
  }
  const [prop, value, ...more] = rest
  if (!prop) throw new SyntaxError_(USAGE.guestproperty!, 'Incorrect parameters')
  if (action === 'get') {
    parse([value, ...more].filter((x): x is string => x !== undefined), { '--verbose': 'flag' }, USAGE.guestproperty!, 0)
    const v = vm.guestProperties[prop]
    out.stdout.push(v === undefined ? 'No value set!' : `Value: ${v}`)
    return
  }
  if (more.length) parse(more, { '--flags': 'string' }, USAGE.guestproperty!, 0)
  if (value === undefined || action !== 'set') delete vm.guestProperties[prop]
  else vm.guestProperties[prop] = value
}

const setextradata: Handler = (s, args) => {
  const [ref, key, value, ...more] = args
  if (!key || more.length) throw new SyntaxError_(USAGE.setextradata!, 'Incorrect number of parameters')
  if (ref === 'global') return
  const vm = findVm(s, ref, USAGE.setextradata!)
  if (value === undefined) delete vm.extraData[key]
  else vm.extraData[key] = value
}

const getextradata: Handler = (s, args, out) => {
  const [ref, key, ...more] = args
  if (!key || more.length) throw new SyntaxError_(USAGE.getextradata!, 'Incorrect number of parameters')
  const vm = findVm(s, ref, USAGE.getextradata!)
  const v = vm.extraData[key]
  out.stdout.push(v === undefined ? 'No value set!' : `Value: ${v}`)
}

const version: Handler = (_s, args, out) => {
  if (args.length) throw new SyntaxError_('VBoxManage [-V|--version]', `Invalid parameter '${args[0]}'`)
  out.stdout.push(VERSION)
}

const HANDLERS: Record<string, Handler> = {
  '--version': version,
  '-v': version,
  '-V': version,
  list,
  showvminfo,
  createvm,
  modifyvm,
  storagectl,
  storageattach,
  createmedium,
  createhd: createmedium,
  clonemedium,
  clonehd: clonemedium,
  convertfromraw,
  modifymedium,
  modifyhd: modifymedium,
  closemedium,
  showmediuminfo,
  showhdinfo: showmediuminfo,
  sharedfolder,
  hostonlyif,
  dhcpserver,
  startvm,
  controlvm,
  discardstate,
  unregistervm,
  guestproperty,
  setextradata,
  getextradata,
}

// ---- time: guests that shut down ---------------------------------------------------------------

/** A guest whose ACPI power button was pressed powers off after a while (unless it ignores it). */
function advanceClock(s: FakeVBoxState): void {
  if (process.env.FAKE_VBOX_ACPI === 'ignore') return
  const ms = Number(process.env.FAKE_VBOX_ACPI_MS ?? 500)
  for (const vm of s.vms) if (vm.state === 'running' && vm.acpiAt !== undefined && Date.now() >= vm.acpiAt + ms) setVmState(vm, 'poweroff')
}

// ---- failure injection -----------------------------------------------------------------------

/** What the real tool says when this subcommand fails for a reason outside the caller's control. */
function injectedFailure(sub: string, args: string[]): VBoxError {
  const vm = args.find((a) => !a.startsWith('-')) ?? ''
  switch (sub) {
    case 'createvm':
      return new VBoxError([`Could not create the machine settings file (VERR_DISK_FULL)`, ...details('VBOX_E_FILE_ERROR', '0x80bb0004', 'MachineWrap', 'IMachine', 'SaveSettings()', 'VBoxManageMisc.cpp', 459)])
    case 'startvm':
      return new VBoxError([`Failed to open a session for the virtual machine ${vm}.`, 'The virtual machine has terminated unexpectedly during startup with exit code 1 (0x1).', ...details('NS_ERROR_FAILURE', '0x80004005', 'MachineWrap', 'IMachine', 'FinishLaunchVMProcess', 'VBoxManageMisc.cpp', 881)])
    case 'hostonlyif':
      return new VBoxError(['Failed to create the host-only adapter', 'VBoxNetAdpCtl: Error while adding new interface: failed to open /dev/vboxnetctl: No such file or directory', `Details: code NS_ERROR_FAILURE (0x80004005), component HostNetworkInterfaceWrap, interface IHostNetworkInterface`, `Context: "RTEXITCODE handleCreate(HandlerArg *)" at line 95 of file VBoxManageHostonly.cpp`])
    case 'createmedium':
    case 'clonemedium':
    case 'convertfromraw':
    case 'modifymedium':
      return new VBoxError(['Failed to create medium', 'VD: error VERR_DISK_FULL writing image file (VERR_DISK_FULL)'])
    case '--version':
    case 'list':
    case 'showvminfo':
    case 'showmediuminfo':
      // VBoxSVC (the COM server every query goes through) did not come up.
      return new VBoxError(['Failed to create the VirtualBox object!', 'Code NS_ERROR_ABORT (0x80004004) - Operation aborted (extended info not available)', 'Most likely, the VirtualBox COM server is not running or failed to start.'])
    default:
      // A change whose settings file cannot be written. (Not "The object is not ready": callers
      // rightly retry that one, as docker-machine did, so a single injected failure would pass.)
      return new VBoxError([`Could not save the settings file '${vm}.vbox' (VERR_DISK_FULL)`, ...details('NS_ERROR_FAILURE', '0x80004005', 'SessionMachine', 'IMachine', 'SaveSettings()', 'VBoxManageModifyVM.cpp', 3285)])
  }
}

/** FAKE_VBOX_FAIL="sub[:nth],…": whether this call (its keys, with their call numbers in `counts`) is to fail. */
function dueFailure(keys: string[], counts: Record<string, number>): boolean {
  const spec = process.env.FAKE_VBOX_FAIL
  if (!spec) return false
  return spec.split(',').some((item) => {
    const m = /^([a-z0-9:-]+?)(?::(\d+))?$/.exec(item.trim())
    if (!m || !keys.includes(m[1]!)) return false
    return m[2] === undefined || counts[m[1]!] === Number(m[2])
  })
}

// ---- main ------------------------------------------------------------------------------------

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** One VBoxManage invocation against the state in `home`. */
export function runVBoxManage(home: string, argv: string[]): RunResult {
  logCall(home, argv)
  const [sub, ...args] = argv
  const handler = sub ? HANDLERS[sub] : undefined
  if (!handler) {
    return { code: 2, stdout: '', stderr: `Oracle VirtualBox Command Line Management Interface Version ${VERSION.split('r')[0]}\nCopyright (C) 2005-2024 Oracle and/or its affiliates\n\nUsage:\n\nVBoxManage [<general option>] <command>\n\nSyntax error: Invalid command '${sub ?? ''}'\n` }
  }
  const out: Out = { stdout: [] }
  try {
    let waitFor: Vm | undefined
    let moved: Vm | undefined
    const failed = withState(home, (s): Error | undefined => {
      advanceClock(s)
      // Some subcommands are also counted (and can be failed) per action: "controlvm:poweroff".
      const keys = ['controlvm', 'hostonlyif', 'dhcpserver', 'sharedfolder', 'guestproperty'].includes(sub!) ? [sub!, `${sub}:${sub === 'controlvm' ? args[1] : args[0]}`] : [sub!]
      for (const k of keys) s.counts[k] = (s.counts[k] ?? 0) + 1
      // Failed calls are counted too: the state is saved, only the command's changes are not.
      if (dueFailure(keys, s.counts)) {
        // The real `hostonlyif create` has shown its progress when it fails.
        if (sub === 'hostonlyif' && args[0] === 'create') out.stdout.push('0%...')
        return injectedFailure(sub!, args)
      }
      // Changes are made on a copy: a refused command changes nothing.
      const copy = JSON.parse(JSON.stringify(s)) as FakeVBoxState
      try {
        handler(copy, args, out, home)
      } catch (e) {
        if (e instanceof VBoxError || e instanceof SyntaxError_) return e
        throw e
      }
      Object.assign(s, copy)
      if (sub === 'controlvm' && (args[1] === 'poweroff' || args[1] === 'savestate')) waitFor = s.vms.find((v) => v.name === args[0] || v.uuid === args[0])
      if (sub === 'controlvm' && /^natpf[1-8]$/.test(args[1] ?? '')) moved = s.vms.find((v) => v.name === args[0] || v.uuid === args[0])
      return undefined
    })
    if (failed) throw failed
    // The real poweroff returns once the VM process is gone: wait (bounded) for the hypervisor
    // harness, when one runs, to have stopped the guest.
    if (waitFor) waitGuestDown(home, waitFor.uuid)
    // A NAT rule changed on a running VM applies at once: wait (bounded) for the harness to serve it.
    if (moved) waitForwardServed(home, moved)
    return { code: 0, stdout: out.stdout.length ? `${out.stdout.join('\n')}\n` : '', stderr: '' }
  } catch (e) {
    const stdout = out.stdout.length ? `${out.stdout.join('\n')}\n` : ''
    if (e instanceof SyntaxError_) return { code: 2, stdout, stderr: `Usage:\n\n${e.usage}\n\nSyntax error: ${e.message}\n` }
    if (e instanceof VBoxError) return { code: 1, stdout, stderr: e.lines.map((l) => (l.startsWith('VBoxManage: ') ? `${l}\n` : `VBoxManage: error: ${l}\n`)).join('') }
    throw e
  }
}

function waitForwardServed(home: string, vm: Vm, timeoutMs = 15_000): void {
  const want = Object.values(vm.nics).flatMap((n) => (n.type === 'nat' ? n.natpf : [])).find((r) => r.guestPort === 22 && r.proto === 'tcp')?.hostPort ?? null
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const h = readState(home).hypervisor
    if (!h || !pidAlive(h.pid) || !h.sshPorts || h.sshPorts[vm.uuid] === want || Date.now() > deadline) return
    sleepSync(20)
  }
}

export function waitGuestDown(home: string, uuid: string, timeoutMs = 15_000): void {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const h = readState(home).hypervisor
    if (!h || !pidAlive(h.pid) || !h.up.includes(uuid) || Date.now() > deadline) return
    sleepSync(20)
  }
}

function main(): void {
  const home = process.env.FAKE_VBOX_HOME
  if (!home) {
    process.stderr.write('fake VBoxManage: FAKE_VBOX_HOME is not set (see test/helpers/fake-virtualbox.ts)\n')
    process.exit(70)
  }
  const r = runVBoxManage(home, process.argv.slice(2))
  process.stdout.write(r.stdout)
  process.stderr.write(r.stderr)
  process.exitCode = r.code
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()

export const FAKE_VBOXMANAGE = fileURLToPath(import.meta.url)
