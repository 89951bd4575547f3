/**
 * A stateful fake of VMware's `vmrun` and `vmware-vdiskmanager` for hosts without VMware: run as
 * a program (Node strips the types), through the wrappers test/helpers/fake-vmware.ts puts first
 * on PATH. It keeps the VMs it "runs" in $FAKE_VMWARE_HOME/state.json, logs every argv to
 * calls.log, and answers with the real tools' syntax, texts and exit codes (vmrun: "Error: …" on
 * stdout, exit 255; vdiskmanager: "Failed to …", exit 1), as recorded in
 * test/drivers/fixtures/vmware/. It checks what the real ones would refuse: a .vmx it cannot
 * open, a disk or CD the .vmx names that is missing, a flat descriptor whose raw extent is not
 * there or not its size, a growth that is not one. It imports no driver code: it reads the .vmx
 * with its own parser.
 *
 * The guests themselves (an SSH server, an engine) are run by the test's "hypervisor"
 * (fake-vmware.ts), which says which VMs' guests are up in hypervisor.json: getGuestIPAddress
 * -wait waits for that, as the real one waits for VMware Tools, and a hard stop returns once the
 * guest is down.
 *
 * Suspend (`vmrun suspend <vmx> hard|soft`) is VMware's: the state goes to `<name>.vmss` and
 * `<name>.vmem` beside the .vmx, which VMware rewrites with `checkpoint.vmState = "<name>.vmss"`;
 * the VM leaves `vmrun list`. `start` of such a VM resumes it (vmware.log says "resumed", not
 * "powered on"), deleting the state and clearing the entry, as VMware does once a state is used.
 *
 * FAKE_VMWARE_FAIL="<verb>:<n>": the n-th call of that verb (start, stop, suspend, getGuestIPAddress,
 * deleteVM, list, -r, -x) fails as the real tool fails there ("<verb>:<n>+": every call from it). FAKE_VMWARE_SOFT_STOP_MS: how long a
 * soft stop takes (default 200).
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, isAbsolute, join } from 'node:path'
import { logCall, readJsonState, sleepSync, withLock, writeJsonState } from './fake-cli-state.ts'

export const FAKE_VMRUN = import.meta.filename

export interface FakeVmwareState {
  /** .vmx paths of the running VMs, as given to start. */
  running: string[]
  /** Disks vmware-vdiskmanager made, by path: capacity in bytes. */
  disks: Record<string, number>
}

export const readState = (home: string): FakeVmwareState => readJsonState(home, () => ({ running: [], disks: {} }))

/** Which VMs' guests the hypervisor has up (written by fake-vmware.ts). */
export const guestsUp = (home: string): string[] => {
  try {
    return (JSON.parse(readFileSync(join(home, 'hypervisor.json'), 'utf8')) as { up: string[] }).up
  } catch {
    return []
  }
}

/** One .vmx read as VMware reads it: keys lower-cased, |XX unescaped. */
export function readVmx(path: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const r = /^\s*([^\s=#"]+)\s*=\s*"([^"]*)"\s*$/.exec(line)
    if (r) m.set(r[1]!.toLowerCase(), r[2]!.replace(/\|([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))))
  }
  return m
}

/** Set one key of a .vmx as VMware rewrites it (the line replaced, or added at the end). */
export function writeVmxKey(path: string, key: string, value: string): void {
  const lines = readFileSync(path, 'utf8').split('\n')
  const i = lines.findIndex((l) => l.trim().toLowerCase().startsWith(`${key.toLowerCase()} `) || l.trim().toLowerCase().startsWith(`${key.toLowerCase()}=`))
  const line = `${key} = "${value}"`
  if (i >= 0) lines[i] = line
  else lines.splice(lines.at(-1) === '' ? lines.length - 1 : lines.length, 0, line)
  writeFileSync(path, lines.join('\n'))
}

/** A file a .vmx names, relative to the .vmx's directory unless absolute. */
export const vmxFile = (vmx: string, name: string): string => (isAbsolute(name) ? name : join(dirname(vmx), name))

function main(argv: string[]): number {
  const home = process.env.FAKE_VMWARE_HOME
  if (!home) {
    process.stderr.write('fake vmrun: FAKE_VMWARE_HOME is not set\n')
    return 1
  }
  const tool = basename(process.env.FAKE_VMWARE_TOOL ?? 'vmrun')
  logCall(home, [tool, ...argv])
  // One call at a time changes the state (fake-cli-state.ts); getGuestIPAddress -wait waits after it.
  let waitIp: { vmx: string; until: number } | undefined
  const code = withLock(home, 'fake vmrun', () => run(home, tool, argv, (w) => (waitIp = w)))
  if (!waitIp) return code
  const { vmx, until } = waitIp
  while (!guestsUp(home).includes(vmx)) {
    if (Date.now() >= until) return vmrunError(`The VMware Tools are not running in the virtual machine: ${vmx}`)
    sleepSync(50)
    if (!readState(home).running.includes(vmx)) return vmrunError(`The virtual machine is not powered on: ${vmx}`)
  }
  process.stdout.write(`${process.env.FAKE_VMWARE_GUEST_IP ?? '127.0.0.1'}\n`)
  return 0
}

const vmrunError = (s: string): number => (process.stdout.write(`Error: ${s}\n`), 255)

/** One call under the lock; getGuestIPAddress -wait hands its wait to `wait` (run without the lock: other calls may come). */
function run(home: string, tool: string, argv: string[], wait: (w: { vmx: string; until: number }) => void): number {
  const st = readState(home)
  const save = () => writeJsonState(home, st)
  const out = (s: string) => process.stdout.write(s)
  const verb = tool === 'vmrun' ? (argv[0] === '-T' ? argv[2] : argv[0]) ?? '' : argv[0] ?? ''
  const counts = join(home, `count-${verb.replace(/[^\w-]/g, '')}`)
  const n = (existsSync(counts) ? Number(readFileSync(counts, 'utf8')) : 0) + 1
  writeFileSync(counts, String(n))
  // "verb:n" fails the n-th call of verb; "verb:n+" that one and every later one.
  const spec = /^([\w-]+):(\d+)(\+?)$/.exec(process.env.FAKE_VMWARE_FAIL ?? '')
  const fail = !!spec && spec[1] === verb && (spec[3] ? n >= Number(spec[2]) : n === Number(spec[2]))
  if (tool === 'vmware-vdiskmanager') return vdiskmanager(argv, st, save, fail)
  if (argv[0] === '-T' && !['ws', 'fusion', 'player'].includes(argv[1] ?? '')) return vmrunError(`Invalid host type: ${argv[1] ?? ''}`)
  const args = argv[0] === '-T' ? argv.slice(2) : argv
  const vmx = args[1] ?? ''
  const isRunning = st.running.includes(vmx)
  switch (verb) {
    case 'list':
      if (fail) return vmrunError('Unable to connect to host.\nError: The operation was canceled')
      out(`Total running VMs: ${st.running.length}\n${st.running.map((p) => `${p}\n`).join('')}`)
      return 0
    case 'start': {
      if (!existsSync(vmx)) return vmrunError(`Cannot open VM: ${vmx}, The virtual machine cannot be found`)
      if (fail) return vmrunError('The file is already in use')
      if (isRunning) return 0
      const c = readVmx(vmx)
      const saved = c.get('checkpoint.vmstate')
      if (saved && existsSync(vmxFile(vmx, saved))) {
        for (const f of [vmxFile(vmx, saved), vmxFile(vmx, saved.replace(/\.vmss$/, '.vmem'))]) rmSync(f, { force: true })
        writeVmxKey(vmx, 'checkpoint.vmState', '')
        st.running.push(vmx)
        writeFileSync(join(dirname(vmx), 'vmware.log'), `fake vmware: resumed ${vmx} from ${saved}\n`, { flag: 'a' })
        save()
        return 0
      }
      const disk = vmxFile(vmx, c.get('scsi0:0.filename') ?? '')
      if (!st.disks[disk] || !existsSync(disk)) return vmrunError(`Cannot open the disk '${disk}' or one of the snapshot disks it depends on.`)
      const cd = vmxFile(vmx, c.get('sata0:1.filename') ?? '')
      if (!existsSync(cd)) return vmrunError(`Cannot connect the virtual device sata0:1 because no corresponding device is available on the host.`)
      if (Number(c.get('memsize')) % 4 !== 0) return vmrunError('The memory size must be a multiple of 4 MB')
      if (!['nat', 'bridged', 'hostonly'].includes(c.get('ethernet0.connectiontype') ?? '')) return vmrunError('Invalid network connection type')
      if (c.get('ethernet0.addresstype') === 'static' && !/^00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/i.test(c.get('ethernet0.address') ?? '')) {
        return vmrunError('Invalid MAC address specified: a static address must be in the range 00:50:56:00:00:00 - 00:50:56:3F:FF:FF')
      }
      st.running.push(vmx)
      writeFileSync(join(dirname(vmx), 'vmware.log'), `fake vmware: powered on ${vmx}\n`, { flag: 'a' })
      save()
      return 0
    }
    case 'stop': {
      if (!existsSync(vmx)) return vmrunError(`Cannot open VM: ${vmx}, The virtual machine cannot be found`)
      if (!isRunning) return vmrunError(`The virtual machine is not powered on: ${vmx}`)
      const mode = args[2] ?? 'soft'
      if (fail) return vmrunError(mode === 'soft' ? `The VMware Tools are not running in the virtual machine: ${vmx}` : 'The operation was canceled')
      if (mode === 'soft') {
        if (!guestsUp(home).includes(vmx)) return vmrunError(`The VMware Tools are not running in the virtual machine: ${vmx}`)
        sleepSync(Number(process.env.FAKE_VMWARE_SOFT_STOP_MS ?? 200))
      }
      st.running = st.running.filter((p) => p !== vmx)
      save()
      // The real stop returns once the VM is off: wait (bounded) for the hypervisor to take the guest down.
      const until = Date.now() + 10_000
      while (guestsUp(home).includes(vmx) && Date.now() < until) sleepSync(20)
      return 0
    }
    case 'suspend': {
      if (!existsSync(vmx)) return vmrunError(`Cannot open VM: ${vmx}, The virtual machine cannot be found`)
      if (!isRunning) return vmrunError(`The virtual machine is not powered on: ${vmx}`)
      const mode = args[2] ?? 'soft'
      if (mode === 'soft' && !guestsUp(home).includes(vmx)) return vmrunError(`The VMware Tools are not running in the virtual machine: ${vmx}`)
      if (fail) return vmrunError('The operation was canceled')
      const stem = basename(vmx).replace(/\.vmx$/, '')
      writeFileSync(join(dirname(vmx), `${stem}.vmss`), 'fake VMware suspended state\n')
      writeFileSync(join(dirname(vmx), `${stem}.vmem`), Buffer.alloc(4096))
      writeVmxKey(vmx, 'checkpoint.vmState', `${stem}.vmss`)
      st.running = st.running.filter((p) => p !== vmx)
      save()
      const until = Date.now() + 10_000
      while (guestsUp(home).includes(vmx) && Date.now() < until) sleepSync(20)
      return 0
    }
    case 'getGuestIPAddress': {
      if (!isRunning) return vmrunError(`The virtual machine is not powered on: ${vmx}`)
      if (fail) return vmrunError('Unable to get the IP address')
      wait({ vmx, until: args.includes('-wait') ? Date.now() + 60_000 : Date.now() })
      return 0
    }
    case 'deleteVM': {
      if (!existsSync(vmx)) return vmrunError(`Cannot open VM: ${vmx}, The virtual machine cannot be found`)
      if (isRunning) return vmrunError('The virtual machine should not be powered on. It is already running.')
      if (fail) return vmrunError('Insufficient permissions in host operating system')
      const c = readVmx(vmx)
      const disk = c.get('scsi0:0.filename')
      if (disk) {
        rmSync(vmxFile(vmx, disk), { force: true })
        delete st.disks[vmxFile(vmx, disk)]
      }
      const stem = vmx.replace(/\.vmx$/, '')
      for (const f of [vmx, `${stem}.nvram`, `${stem}.vmsd`, `${stem}.vmxf`, `${stem}.vmss`, `${stem}.vmem`, join(dirname(vmx), 'vmware.log')]) rmSync(f, { force: true })
      save()
      return 0
    }
    default:
      out(`vmrun version 1.17.0 build-00000000 (fake)\n\nUsage: vmrun [AUTHENTICATION-FLAGS] COMMAND [PARAMETERS]\n`)
      return 255
  }
}

function vdiskmanager(argv: string[], st: FakeVmwareState, save: () => void, fail: boolean): number {
  const failed = (s: string) => (process.stdout.write(`${s}\n`), 1)
  if (argv[0] === '-r' && argv[2] === '-t' && argv[3] === '0' && argv[4]) {
    const [src, dest] = [argv[1]!, argv[4]]
    if (!existsSync(src)) return failed('Failed to convert disk: The system cannot find the file specified (0x3e800000002).')
    if (existsSync(dest)) return failed('Failed to convert disk: The file already exists (0x3e80000000c).')
    if (fail) return failed('Failed to convert disk: The file specified is not a virtual disk (0x3ee8).')
    let capacity: number
    const head = readFileSync(src).subarray(0, 21).toString('latin1')
    if (head === '# Disk DescriptorFile') {
      const text = readFileSync(src, 'utf8')
      const ext = /^(RW|RDONLY) (\d+) FLAT "([^"]+)" 0$/m.exec(text)
      if (!/createType="monolithicFlat"/.test(text) || !ext) return failed('Failed to convert disk: The file specified is not a virtual disk (0x3ee8).')
      const raw = isAbsolute(ext[3]!) ? ext[3]! : join(dirname(src), ext[3]!)
      if (!existsSync(raw)) return failed(`Failed to convert disk: Cannot open the disk '${src}' or one of the snapshot disks it depends on.`)
      capacity = Number(ext[2]) * 512
      if (statSync(raw).size !== capacity) return failed('Failed to convert disk: The size of the flat extent does not match its descriptor (0x3ee8).')
    } else if (head.startsWith('KDMV')) {
      capacity = st.disks[src] ?? 2 ** 30
    } else return failed('Failed to convert disk: The file specified is not a virtual disk (0x3ee8).')
    // A growable sparse disk: its header says KDMV; the capacity is kept in the fake's state.
    writeFileSync(dest, Buffer.concat([Buffer.from('KDMV'), Buffer.alloc(508)]))
    st.disks[dest] = capacity
    save()
    process.stdout.write(`Creating disk '${dest}'\n  Convert: 100% done.\nVirtual disk conversion successful.\n`)
    return 0
  }
  if (argv[0] === '-x' && argv[2]) {
    const m = /^(\d+)(MB|GB)$/.exec(argv[1] ?? '')
    const dest = argv[2]
    if (!m) return failed('Invalid disk size specified.')
    if (!existsSync(dest) || st.disks[dest] === undefined) return failed(`Failed to expand the disk '${dest}': The system cannot find the file specified (0x3e800000002).`)
    if (fail) return failed('Failed to expand the disk: Insufficient permission to access the file (0x3e80).')
    const want = Number(m[1]) * 2 ** (m[2] === 'GB' ? 30 : 20)
    if (want <= st.disks[dest]!) return failed('Failed to expand the disk: The new capacity is not larger than the current one.')
    st.disks[dest] = want
    save()
    process.stdout.write('  Grow: 100% done.\nDisk expansion completed successfully.\n')
    return 0
  }
  process.stdout.write('VMware Virtual Disk Manager - build 00000000 (fake).\nUsage: vmware-vdiskmanager OPTIONS <disk-name> | <mount-point>\n')
  return 1
}

if (process.argv[1] === import.meta.filename) process.exitCode = main(process.argv.slice(2))
