/**
 * The QEMU command line, built from a plain description of the VM (pure: unit-tested per
 * accelerator and architecture).
 */
import type { Accel, GuestArch, PortForward } from './settings.js'

export type QmpEndpoint = { path: string } | { host: string; port: number }

export interface LaunchSpec {
  name: string
  arch: GuestArch
  accel: Accel
  cpus: number
  memoryMb: number
  /** The machine's qcow2 overlay: first virtio disk (/dev/vda). */
  disk: string
  /** NoCloud seed image: second virtio disk, read-only. */
  seed?: string
  kernel?: string
  initrd?: string
  append?: string
  /** aarch64 UEFI firmware as two pflash drives (code read-only, per-machine vars). */
  firmware?: { code: string; vars: string }
  /** Host ports on 127.0.0.1 forwarded to the guest's SSH (22) and engine (2376). */
  sshPort: number
  engineHostPort: number
  engineGuestPort: number
  forwards: readonly PortForward[]
  /**
   * The second NIC, on a qemu network (network.ts): frames as UDP datagrams between the VM's own
   * port and the network's switch, both on 127.0.0.1.
   */
  cluster?: { localPort: number; switchPort: number; mac: string }
  consoleLog: string
  /**
   * x86: where SeaBIOS's debug port (0x402) output goes. SeaBIOS prints nothing on the serial
   * console, so this is the only record of the firmware's progress ("Booting from Hard Disk...",
   * "Boot failed: not a bootable disk") for the boot watchdog.
   */
  firmwareLog?: string
  pidFile: string
  qmp: QmpEndpoint
  /** -daemonize (not available on Windows, where the process is detached by the caller). */
  daemonize: boolean
  /** `qemu --version`'s number, where the command line depends on it (HVF on aarch64). */
  qemuVersion?: string
  /**
   * Resume a saved state (vm-state.ts): `-incoming defer` starts QEMU waiting for a migration
   * stream, handed to it over QMP, instead of booting the guest.
   */
  incoming?: boolean
}

/**
 * The CPU model TCG emulates for aarch64: every feature QEMU has (`max`), with pointer
 * authentication computed by QEMU's own cheap function instead of the architected QARMA cipher,
 * which dominates an emulated Linux guest's run time (QEMU's cpu-features documentation; QEMU
 * >= 6.0). The guest cannot tell: the keys are its own either way.
 */
export const TCG_AARCH64_CPU = 'max,pauth-impdef=on'

/** -accel/-cpu for an accelerator and guest architecture. */
export function accelArgs(accel: Accel, arch: GuestArch): string[] {
  switch (accel) {
    case 'kvm':
      return ['-accel', 'kvm', '-cpu', 'host']
    case 'hvf':
      return ['-accel', 'hvf', '-cpu', 'host']
    case 'whpx':
      // x86_64 guests only (chooseAccel never picks it for aarch64, accelProblem refuses it).
      // WHPX cannot emulate the interrupt controller in the kernel on many Windows builds, and
      // when WHPX fails to initialise QEMU falls back to the next -accel (TCG) instead of exiting.
      return ['-accel', 'whpx,kernel-irqchip=off', '-accel', 'tcg,thread=multi', '-cpu', 'max']
    case 'tcg':
      return ['-accel', 'tcg,thread=multi', '-cpu', arch === 'aarch64' ? TCG_AARCH64_CPU : 'max']
  }
}

/** "7.2.22" (from `qemu --version`) is at least major.minor; an unknown version counts as new. */
export function versionAtLeast(version: string | undefined, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '')
  if (!m) return true
  const [a, b] = [Number(m[1]), Number(m[2])]
  return a > major || (a === major && b >= minor)
}

/**
 * -machine. aarch64 is QEMU's `virt` board: under KVM and TCG with the newest interrupt
 * controller the accelerator offers (gic-version=max: the host's GIC under KVM, GICv3 under TCG).
 * Under HVF QEMU's own default GIC, as Homebrew's and lima's command lines use it. Before QEMU
 * 7.0, HVF on Apple's M1 could not map virt's memory above 4 GB (a 36-bit IPA against the 40
 * bits virt asks for: "VCPU supports less PA bits (36) than requested by the memory map (40)"),
 * so older QEMUs get highmem=off, which limits the guest to about 3 GB of memory; 7.0 sizes the
 * map to the host, and highmem=off then refuses more than 3 GB ("Addressing limited to 32 bits").
 */
export function machineArgs(arch: GuestArch, accel: Accel, qemuVersion?: string): string[] {
  if (arch === 'x86_64') return ['-machine', 'q35']
  if (accel === 'hvf') return ['-machine', versionAtLeast(qemuVersion, 7, 0) ? 'virt' : 'virt,highmem=off']
  return ['-machine', 'virt,gic-version=max']
}

/** slirp's hostfwd list: SSH, the engine, then the user's extra forwards; all on 127.0.0.1 only. */
export function netdevArg(s: Pick<LaunchSpec, 'sshPort' | 'engineHostPort' | 'engineGuestPort' | 'forwards'>): string {
  const fwd = [
    `hostfwd=tcp:127.0.0.1:${s.sshPort}-:22`,
    `hostfwd=tcp:127.0.0.1:${s.engineHostPort}-:${s.engineGuestPort}`,
    ...s.forwards.map((f) => `hostfwd=${f.proto}:127.0.0.1:${f.host}-:${f.guest}`),
  ]
  return ['user', 'id=net0', ...fwd].join(',')
}

/**
 * The cluster NIC's backend: a unicast UDP tunnel with both ends on 127.0.0.1 (never `mcast=`,
 * whose frames could leave the host). `socket,udp=` rather than 7.2's `dgram`, which carries
 * frames the same way: QEMU has had it for years (Ubuntu 22.04 ships 6.2, Debian 11 5.2).
 */
export const clusterNetdevArg = (c: NonNullable<LaunchSpec['cluster']>): string =>
  `socket,id=net1,udp=127.0.0.1:${c.switchPort},localaddr=127.0.0.1:${c.localPort}`

export const qmpArg = (q: QmpEndpoint): string =>
  'path' in q ? `unix:${q.path},server=on,wait=off` : `tcp:${q.host}:${q.port},server=on,wait=off`

/** QEMU's option parser splits on commas: a literal comma in a value is written twice. */
export const esc = (v: string): string => v.replace(/,/g, ',,')

export function qemuArgs(s: LaunchSpec): string[] {
  const a: string[] = ['-name', `${esc(s.name)},process=qemu-machine-${esc(s.name)}`]
  a.push(...machineArgs(s.arch, s.accel, s.qemuVersion), ...accelArgs(s.accel, s.arch))
  a.push('-smp', String(s.cpus), '-m', String(s.memoryMb))
  a.push('-nodefaults', '-no-user-config', '-display', 'none')
  a.push('-serial', `file:${s.consoleLog}`)
  if (s.firmwareLog && s.arch === 'x86_64') a.push('-chardev', `file,id=fwlog,path=${esc(s.firmwareLog)}`, '-device', 'isa-debugcon,iobase=0x402,chardev=fwlog')
  a.push('-qmp', qmpArg(s.qmp))
  a.push('-pidfile', s.pidFile)
  if (s.daemonize) a.push('-daemonize')
  if (s.firmware && !s.kernel) {
    a.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${esc(s.firmware.code)}`)
    a.push('-drive', `if=pflash,format=raw,unit=1,file=${esc(s.firmware.vars)}`)
  }
  if (s.kernel) {
    a.push('-kernel', s.kernel)
    if (s.initrd) a.push('-initrd', s.initrd)
    if (s.append) a.push('-append', s.append)
  }
  // Root disk first so it is /dev/vda (direct kernel boot passes root=/dev/vda); the seed is vdb.
  a.push('-drive', `file=${esc(s.disk)},if=virtio,format=qcow2,discard=unmap`)
  if (s.seed) a.push('-drive', `file=${esc(s.seed)},if=virtio,format=raw,readonly=on`)
  a.push('-netdev', netdevArg(s), '-device', 'virtio-net-pci,netdev=net0')
  // After the user-mode NIC, so that one stays the guest's first (eth0, DHCP, the forwards).
  if (s.cluster) a.push('-netdev', clusterNetdevArg(s.cluster), '-device', `virtio-net-pci,netdev=net1,mac=${s.cluster.mac}`)
  // Entropy for sshd and cloud-init early in boot.
  a.push('-device', 'virtio-rng-pci')
  if (s.incoming) a.push('-incoming', 'defer')
  return a
}
