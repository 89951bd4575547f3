/**
 * The qemu driver's lifecycle. Each machine is a daemonized QEMU process with:
 *   <machineDir>/disk.qcow2   copy-on-write overlay over the (cached, shared) base image
 *   <machineDir>/seed.iso     cloud-init NoCloud seed: our user + key, the pinned host key
 *   <machineDir>/qemu.pid     written by QEMU, removed by it on a clean exit
 *   <machineDir>/qmp.sock     QMP control socket (state, power-off, quit)
 *   <machineDir>/console.log  the guest's serial console (kernel + boot messages)
 * User-mode networking forwards two free ports on 127.0.0.1 to the guest's SSH and engine.
 */
import { randomUUID, createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MachineError } from '../../src/driver-kit/errors.js'
import { localGuestConfig, renderCloudConfig } from '../../src/driver-kit/cloud-init.js'
import type { BootWatchOptions, ClusterNetworkPlan, ClusterPeer, Driver, DriverContext, Journal, MachineState, SshInfo, StopOptions } from '../../src/driver-kit/contract.js'
import { ensureMachineSshKey, generateHostKey } from '../../src/driver-kit/keys.js'
import { accelProblem, chooseAccel } from './accel.js'
import { accelCacheKey, accelCachePath, readVerdict, writeVerdict, type AccelVerdict } from './accel-cache.js'
import { watchBoot } from './boot-watch.js'
import type { BootView } from './boot-console.js'
import {
  createOverlay,
  findAarch64Firmware,
  firmwareNotFound,
  hvfSupported,
  imageInfo,
  isOurQemu,
  killHard,
  launchQemu,
  LaunchError,
  makeVarsFile,
  hostKernelImage,
  kvmDeviceProblem,
  probeKvm,
  type ProbeDisk,
  processState,
  qemuImgBinary,
  qemuSystemBinary,
  qemuVersion,
  readPid,
} from './client.js'
import { qemuArgs, type LaunchSpec, type QmpEndpoint } from './cmdline.js'
import { FILES } from './files.js'
import { STATE_FILE } from './switch.js'
import { clusterNicCommand, clusterNicSetup, freeUdpPort, PREFIX, QemuNetwork } from './network.js'
import { resolveImage } from './image.js'
import { savedSshInfo } from '../../src/driver-kit/ssh-info.js'
import { freePorts, isPortFree, reusePorts } from '../../src/driver-kit/ports.js'
import { qmpExecute, qmpStatus } from './qmp.js'
import { discardState, hardwareFingerprint, hasSavedState, loadState, readRecord, saveState, unusableBecause, type StateFiles } from './vm-state.js'
import { resyncClockAfterResume } from '../../src/driver-kit/guest-clock.js'
import { flushGuestDisks, withGuestSession } from '../../src/driver-kit/guest-session.js'
import { poweroffDropInBootcmd } from './guest-poweroff.js'
import { cloudConfigDropInBootcmd, containerdDropInBootcmd, containerdFirstBootBootcmd, sshPasswordOffBootcmd, START_CONTAINERD_BOOTCMD } from './guest-engine-start.js'
import { buildNoCloudSeed } from '../../src/driver-kit/seed-image.js'
import { archOfNode, formatSize, parseDiskSize, parsePortForward, type Accel, type GuestArch, type PortForward } from './settings.js'
import { defaultImageUrl, hostGuestArch, type options } from './options.js'
import { envMs, pollIntervalMs, sleep } from '../../src/driver-kit/wait.js'

export const ENGINE_GUEST_PORT = 2376

export { FILES }


/**
 * The image to boot: --qemu-image's default is the image for the host's architecture, so a guest
 * of the other architecture gets its own default instead.
 */
export const imageFor = (image: string, arch: GuestArch, hostArch: GuestArch = hostGuestArch()): string =>
  image === defaultImageUrl(hostArch) ? defaultImageUrl(arch) : image

export function createDriver(ctx: DriverContext<typeof options>): Driver {
  return new QemuDriver(ctx)
}

export class QemuDriver implements Driver {
  private readonly ctx: DriverContext<typeof options>
  constructor(ctx: DriverContext<typeof options>) {
    this.ctx = ctx
  }

  // ---- settings ------------------------------------------------------------------------------

  // Option values come resolved by the kit (flag, saved config, env, default) in ctx.options;
  // ctx.config is only what this driver records (ports, paths, the accelerator used).
  private get o() {
    return this.ctx.options
  }
  private get arch(): GuestArch {
    return this.o.arch
  }
  private get forwards(): PortForward[] {
    return this.o.port.map(parsePortForward)
  }
  private envMs(name: string, dflt: number): number {
    // A test-tunable duration (timeouts, stall limits): at least 1 ms, else the default.
    return envMs(this.ctx.env, name, dflt, { min: 1 })
  }
  /** Poll interval for waits (short in tests). */
  private get pollMs(): number {
    return pollIntervalMs(this.ctx.env, 1000)
  }
  private path(f: keyof typeof FILES): string {
    return join(this.ctx.machineDir, FILES[f])
  }
  private get stateFiles(): StateFiles {
    return { state: this.path('savedState'), record: this.path('savedStateRecord') }
  }
  /** Absolute path for a user-given file (QEMU -daemonize changes to / before opening some). */
  private abs(p: string): string {
    return isAbsolute(p) ? p : resolve(p)
  }
  /** The machine's qemu network (--qemu-network, saved as Network), or undefined. */
  private get network(): QemuNetwork | undefined {
    const name = this.o.network
    return name ? new QemuNetwork(this.ctx.storePath, name, this.ctx.log) : undefined
  }

  /**
   * Join the machine's network (idempotent: the address and MAC it has are kept for good) and
   * record them in its config as ClusterIP/ClusterMAC. Asked by certSans() too, which runs before
   * create() so that the engine's certificate covers the cluster address.
   */
  private async joinNetwork(): Promise<{ ip: string; mac: string } | undefined> {
    const net = this.network
    if (!net) return undefined
    const had = typeof this.ctx.config.ClusterIP === 'string' ? this.ctx.config.ClusterIP : undefined
    const m = await net.join(this.ctx.machineName, this.ctx.machineDir, had)
    if (had && m.ip !== had) {
      // Its record was lost and the address taken since: the guest (configured at create) keeps the old one.
      this.ctx.log.info(`"${this.ctx.machineName}" had ${had} on network "${net.name}", now taken: it was given ${m.ip}; recreate it to use that address`)
    }
    this.ctx.config.ClusterIP = m.ip
    this.ctx.config.ClusterMAC = m.mac
    return m
  }

  /** After this VM stopped: the network's switch stops with the last running VM (a failure there does not fail the stop). */
  private async networkIdle(): Promise<void> {
    await this.network?.idle().catch((e: unknown) => this.ctx.log.debug(`network "${this.o.network}": ${(e as Error).message}`))
  }

  private get binary(): string {
    return qemuSystemBinary(this.arch, this.o.binary || undefined, this.ctx.env)
  }

  /**
   * QMP endpoint: a unix socket in the machine directory, or (paths too long for a socket
   * address, ~104 bytes on macOS) one in the temp directory named after the machine directory.
   * Windows QEMU gets a TCP port on 127.0.0.1.
   */
  private qmp(): QmpEndpoint {
    if (process.platform === 'win32') return { host: '127.0.0.1', port: Number(this.ctx.config.QmpPort ?? 0) }
    const p = this.path('qmp')
    if (Buffer.byteLength(p) < 100) return { path: p }
    const h = createHash('sha256').update(this.ctx.machineDir).digest('hex').slice(0, 16)
    return { path: join(tmpdir(), `machine-qmp-${h}.sock`) }
  }

  // ---- Driver --------------------------------------------------------------------------------

  async preCreateCheck(): Promise<void> {
    // A flag problem first: no binary, firmware or image is needed to see it.
    const accelBad = accelProblem(this.o.accel, { platform: process.platform, hostArch: archOfNode(process.arch), guestArch: this.arch })
    if (accelBad) throw new MachineError('invalid-option', accelBad, { hint: 'use --qemu-accel auto (or tcg)' })
    const bin = this.binary
    const version = await qemuVersion(bin)
    qemuImgBinary(bin, this.ctx.env)
    this.ctx.log.debug(`${bin} (QEMU ${version})`)
    if (process.platform !== 'linux' && process.platform !== 'darwin' && process.platform !== 'win32') {
      throw new MachineError('unsupported-platform', `the qemu driver does not support ${process.platform}`)
    }
    const { kernel, initrd } = this.o
    if (!kernel && (initrd || this.o.append)) {
      throw new MachineError('invalid-option', '--qemu-initrd and --qemu-append need --qemu-kernel (direct kernel boot)')
    }
    for (const [flag, p] of [['--qemu-kernel', kernel], ['--qemu-initrd', initrd]] as const) {
      if (p && !existsSync(this.abs(p))) throw new MachineError('invalid-option', `${flag} ${p} does not exist`)
    }
    const image = this.o.image
    if (image && !/^https?:\/\//i.test(image)) {
      const p = image.startsWith('file:') ? fileURLToPath(image) : this.abs(image)
      if (!existsSync(p)) throw new MachineError('image-not-found', `--qemu-image ${image} does not exist`)
    }
    if (this.arch === 'aarch64' && !kernel && !findAarch64Firmware(bin)) throw firmwareNotFound()
    parseDiskSize(this.o.diskSize)
    const seen = new Set<string>()
    for (const f of this.forwards) {
      const k = `${f.proto}:${f.host}`
      if (seen.has(k)) throw new MachineError('invalid-option', `--qemu-port forwards host port ${f.host}/${f.proto} twice`)
      seen.add(k)
      if (f.proto === 'tcp' && !(await isPortFree(f.host))) {
        throw new MachineError('port-in-use', `--qemu-port ${f.host}:${f.guest}: port ${f.host} on 127.0.0.1 is already in use`)
      }
    }
  }

  async create(journal: Journal): Promise<void> {
    const { ctx } = this
    const signal = ctx.signal
    const bin = this.binary
    const qemuImg = qemuImgBinary(bin, ctx.env)
    const arch = this.arch
    const user = this.o.sshUser
    // The network membership may already exist (certSans() joined it for the first-boot
    // certificate): journaled first, so a create that fails at any step below leaves it again.
    const net = this.network
    if (net) await journal.record({ kind: 'network', id: net.name, data: { dir: net.dir } })

    const key = await ensureMachineSshKey(ctx.machineDir, `machine-${ctx.machineName}`)
    ctx.config.SSHKeyPath = key.path
    ctx.config.SSHUser = user
    ctx.config.Arch = arch
    signal.throwIfAborted()

    // 1. base image (downloaded + verified once, shared by machines)
    const image = await resolveImage({
      image: imageFor(this.o.image, arch),
      checksum: this.o.imageChecksum ?? '',
      cacheDir: join(ctx.storePath, 'cache'),
      log: ctx.log,
      signal,
    })
    const info = await imageInfo(qemuImg, image.path)
    if (info.format !== 'qcow2' && info.format !== 'raw') {
      throw new MachineError('bad-image', `${image.path} is a ${info.format} image; qcow2 or raw is needed`)
    }
    ctx.config.BaseImage = image.path
    signal.throwIfAborted()

    // 2. the machine's overlay, grown to --qemu-disk-size
    let size = parseDiskSize(this.o.diskSize)
    if (size < info.virtualSize) {
      ctx.log.info(`The image is ${formatSize(info.virtualSize)}, larger than --qemu-disk-size ${formatSize(size)}: using ${formatSize(info.virtualSize)}`)
      size = info.virtualSize
    }
    const overlay = this.path('overlay')
    await journal.record({ kind: 'file', id: overlay })
    await createOverlay(qemuImg, image.path, info.format, overlay, size)
    ctx.config.DiskPath = overlay
    signal.throwIfAborted()

    // 3. the cluster network's address (before the seed, which configures the NIC)
    const member = await this.joinNetwork()

    // 4. cloud-init seed: our user and key, and an SSH host key pinned before the first connection
    const hostKey = await generateHostKey(`${ctx.machineName}-host-key`)
    const cfg = localGuestConfig({ user, authorizedKey: key.publicKey, hostname: ctx.machineName, hostKey })
    // The cluster NIC's address, set at every boot.
    if (member) cfg.bootcmd = [...((cfg.bootcmd as unknown[] | undefined) ?? []), clusterNicCommand(member.mac, member.ip, PREFIX)]
    // A shorter power-off (guest-poweroff.ts); before the engine bootstrap, whose daemon-reload makes it count at once.
    // containerd started beside cloud-init (guest-engine-start.ts), the engine's TLS config
    // installed before its first start (see DriverContext.engineBootstrap), then containerd started;
    // on the first boot "started" as soon as it runs, so dockerd need not wait for it to be ready;
    // cloud-init's config stage held until the engine has started, with SSH's password setting
    // written before sshd starts, so that the stage does not restart sshd after create returned.
    cfg.bootcmd = [...((cfg.bootcmd as unknown[] | undefined) ?? []), poweroffDropInBootcmd(), containerdDropInBootcmd(), containerdFirstBootBootcmd(), cloudConfigDropInBootcmd(), sshPasswordOffBootcmd()]
    if (ctx.engineBootstrap) cfg.bootcmd = [...(cfg.bootcmd as unknown[]), ctx.engineBootstrap, START_CONTAINERD_BOOTCMD]
    const instanceId = `machine-${randomUUID()}`
    const seed = this.path('seed')
    await journal.record({ kind: 'file', id: seed })
    // The seed holds the host's private key: owner-only, like id_rsa.
    await writeFile(seed, buildNoCloudSeed({ userData: renderCloudConfig(cfg), instanceId, hostname: ctx.machineName }), { mode: 0o600 })
    ctx.config.SeedPath = seed
    ctx.config.InstanceId = instanceId
    ctx.config.SSHHostKeys = [hostKey.publicKey]

    // 5. aarch64 UEFI variable store
    if (arch === 'aarch64' && !this.o.kernel) {
      const fw = findAarch64Firmware(bin)
      if (!fw) throw firmwareNotFound()
      const vars = this.path('vars')
      await journal.record({ kind: 'file', id: vars })
      await makeVarsFile(fw, vars)
      ctx.config.Firmware = fw.code
    }
    for (const k of ['kernel', 'initrd'] as const) {
      const p = this.o[k]
      if (p) ctx.config[k === 'kernel' ? 'Kernel' : 'Initrd'] = this.abs(p)
    }

    // 6. accelerator
    const accel = await this.pickAccel(bin, arch)
    ctx.config.AccelUsed = accel

    // 7. boot
    await journal.record({ kind: 'process', id: this.path('pid'), data: { qmp: this.path('qmp') } })
    const [sshPort, enginePort] = await freePorts(2, this.forwards.map((f) => f.host))
    await this.boot(sshPort!, enginePort!)
    ctx.config.IPAddress = '127.0.0.1'
  }

  private get cacheDir(): string {
    return join(this.ctx.storePath, 'cache')
  }

  private async pickAccel(bin: string, arch: GuestArch): Promise<Accel> {
    const requested = this.o.accel
    const hostArch = archOfNode(process.arch)
    const facts = { platform: process.platform, hostArch, guestArch: arch } as Parameters<typeof chooseAccel>[1]
    this.accelProven = undefined
    if (requested === 'auto' && hostArch === arch) {
      if (process.platform === 'linux') facts.kvm = await this.kvmVerdict(bin, arch)
      if (process.platform === 'darwin') facts.hvf = await this.hvfVerdict(bin, arch)
    }
    const choice = chooseAccel(requested, facts)
    // An auto-chosen accelerator is watched on every boot (see watchBoot): unless it is proven on
    // this host, a guest kernel that does not start under it sends the VM to TCG.
    this.ctx.config.AccelAuto = requested === 'auto'
    this.ctx.log.info(
      choice.accel === 'tcg'
        ? `QEMU acceleration: tcg (software emulation, slow) because ${choice.reason}`
        : `QEMU acceleration: ${choice.accel} (${choice.reason})`,
    )
    return choice.accel
  }

  /** A verdict remembered for this host, in the words shown to the user. */
  private async remembered(key: string): Promise<{ usable: boolean; reason: string } | undefined> {
    const v = await readVerdict(this.cacheDir, key)
    if (!v) return undefined
    this.accelProven = v.usable
    return { usable: v.usable, reason: `${v.reason.replace(/\.$/, '')}; checked ${v.checkedAt.slice(0, 10)}, remembered in ${accelCachePath(this.cacheDir)} (delete it to check again)` }
  }

  private async remember(key: string, v: Omit<AccelVerdict, 'checkedAt'>): Promise<void> {
    await writeVerdict(this.cacheDir, key, v).catch((e: unknown) => this.ctx.log.debug(`could not remember the accelerator verdict: ${(e as Error).message}`))
  }

  /** KVM's verdict on this host: the device, then the remembered verdict, then a probe boot. */
  private async kvmVerdict(bin: string, arch: GuestArch): Promise<{ usable: boolean; reason: string }> {
    const device = this.ctx.env.MACHINE_QEMU_KVM_DEVICE || '/dev/kvm'
    const problem = await kvmDeviceProblem(device)
    if (problem) return { usable: false, reason: problem }
    const key = await this.accelKey('kvm', bin, arch)
    const known = await this.remembered(key)
    if (known) return known
    // The kernel the machine will boot, else the host's, else the machine's own disk (see
    // probeKvm). MACHINE_QEMU_PROBE_KERNEL names another kernel; "disk": the disk even with a
    // kernel at hand; "none": the firmware only.
    const forced = this.ctx.env.MACHINE_QEMU_PROBE_KERNEL
    const kernel = forced ? (forced === 'none' || forced === 'disk' ? undefined : this.abs(forced)) : this.o.kernel ? this.abs(this.o.kernel) : await hostKernelImage()
    const disk = kernel || forced === 'none' ? undefined : this.probeDisk(arch)
    this.ctx.log.debug(`probing KVM with ${kernel ? `the kernel ${kernel}` : disk ? `the machine's disk ${disk.path} (-snapshot)` : 'the firmware only (no kernel or disk to boot)'}`)
    const p = await probeKvm(bin, arch, { kernel, ...(disk ? { disk } : {}), timeoutMs: this.envMs('MACHINE_QEMU_KVM_PROBE_MS', 10_000), device })
    // "The firmware ran" proves nothing about the kernel: not remembered, the first boot decides.
    const { proof } = p
    if (p.usable && (proof === 'probe-kernel' || proof === 'probe-disk')) this.accelProven = true
    if (proof === 'probe-kernel' || proof === 'probe-disk' || (proof === 'probe-firmware' && !p.usable)) await this.remember(key, { usable: p.usable, reason: p.reason, proof })
    return p
  }

  /** The machine's disk (with its UEFI firmware on aarch64) for the KVM probe, once it exists. */
  private probeDisk(arch: GuestArch): ProbeDisk | undefined {
    const overlay = this.path('overlay')
    if (!existsSync(overlay)) return undefined
    if (arch !== 'aarch64') return { path: overlay }
    const code = this.ctx.config.Firmware
    if (typeof code !== 'string' || !code || !existsSync(this.path('vars'))) return undefined
    return { path: overlay, firmware: { code, vars: this.path('vars') } }
  }

  /** HVF: the kernel's word (kern.hv_support), unless a first boot found that it hangs the guest. */
  private async hvfVerdict(bin: string, arch: GuestArch): Promise<{ usable: boolean; reason: string }> {
    if (!(await hvfSupported())) return { usable: false, reason: 'the macOS Hypervisor framework is not available (kern.hv_support is 0)' }
    return (await this.remembered(await this.accelKey('hvf', bin, arch))) ?? { usable: true, reason: 'the macOS Hypervisor framework is available' }
  }

  /** The verdict cache's key; `qemu --version` is asked once per binary for the life of this driver. */
  private async accelKey(accel: string, bin: string, arch: GuestArch): Promise<string> {
    return accelCacheKey({ accel, binary: bin, qemuVersion: await this.versionOf(bin), arch })
  }
  private versionOf(bin: string): Promise<string> {
    let v = this.versions.get(bin)
    if (!v) this.versions.set(bin, (v = qemuVersion(bin)))
    return v
  }
  private readonly versions = new Map<string, Promise<string>>()

  /** True when the chosen accelerator is proven on this host (a guest kernel booted under it). */
  private accelProven: boolean | undefined
  /** When this process last launched the VM (the boot watchdog only watches boots it made). */
  private launchedAt: number | undefined

  /**
   * Launch QEMU on these host ports; on a port race, retry with fresh ones. With `resume`, the
   * saved state is loaded instead of booting, if it still fits this QEMU and these settings;
   * else (or when QEMU cannot load it) one line says so and the VM boots afresh. Returns true
   * when it resumed.
   */
  private async boot(sshPort: number, enginePort: number, o: { resume?: boolean } = {}): Promise<boolean> {
    const { ctx } = this
    const bin = this.binary
    await this.cleanRuntimeFiles()
    let ports = [sshPort, enginePort]
    const net = this.network
    let resume = o.resume === true
    // A boot changes the disk under any saved state, which would then resume onto the wrong disk.
    if (!resume) await discardState(this.stateFiles)
    for (let attempt = 1; ; attempt++) {
      const spec = await this.launchSpec(ports[0]!, ports[1]!)
      if (net) {
        // Joined at create; asked again so a network whose files were lost is rebuilt.
        const { mac } = (await this.joinNetwork())!
        const localPort = await freeUdpPort()
        spec.cluster = { localPort, switchPort: await net.attach(ctx.machineName, localPort), mac }
      }
      if (process.platform === 'win32') {
        const [qmpPort] = await freePorts(1, [...ports, ...this.forwards.map((f) => f.host)])
        ctx.config.QmpPort = qmpPort
        spec.qmp = this.qmp()
      }
      if (resume) {
        const why = unusableBecause(await readRecord(this.stateFiles.record), { qemuVersion: await this.versionOf(bin), hardware: hardwareFingerprint(spec) })
        if (why) {
          await this.savedStateUnusable(why)
          resume = false
        } else spec.incoming = true
      }
      const args = qemuArgs(spec)
      ctx.log.debug(`${bin} ${args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}`)
      try {
        const r = await launchQemu(bin, args, { daemonize: spec.daemonize, pidFile: spec.pidFile, logFile: this.path('launchLog') })
        if (r.warnings) ctx.log.debug(`qemu: ${r.warnings}`)
      } catch (e) {
        if (e instanceof LaunchError && (e.portTaken || (net && /Address already in use/i.test(e.message))) && attempt < 3) {
          ctx.log.debug(`a forwarded port was taken (${e.message}); trying other ports`)
          ports = await freePorts(2, this.forwards.map((f) => f.host))
          continue
        }
        throw new MachineError('qemu-failed', `QEMU did not start: ${e instanceof Error ? e.message : String(e)}`, {
          hint: `see ${this.path('console')} and ${this.path('launchLog')}`,
        })
      }
      if (!resume) {
        // Only a boot is watched (watchBoot): a resumed guest prints nothing new on its console.
        this.launchedAt = Date.now()
        break
      }
      try {
        await loadState(this.qmp(), this.stateFiles, {
          timeoutMs: this.envMs('MACHINE_QEMU_RESUME_TIMEOUT_MS', 120_000),
          pollMs: Math.min(this.pollMs, 100),
          alive: async () => (await this.livePid()) !== undefined,
          signal: ctx.signal,
        })
        // Resumed: the state is spent (the disk moves on from here).
        await discardState(this.stateFiles)
        break
      } catch (e) {
        ctx.signal.throwIfAborted()
        await this.kill()
        await this.savedStateUnusable(`QEMU could not resume it: ${(e as Error).message}`)
        resume = false
      }
    }
    ctx.config.SSHPort = ports[0]
    // The engine's host-side port: engineUrl() and docker-machine's "tcp://IP:EnginePort" rule
    // both give 127.0.0.1:<this>, forwarded to 2376 in the guest.
    ctx.config.EnginePort = ports[1]
    ctx.config.IPAddress = '127.0.0.1'
    return resume
  }

  /** The one line a start says when it cannot resume; the state goes (a boot is next). */
  private async savedStateUnusable(why: string): Promise<void> {
    this.ctx.log.info(`The saved state of "${this.ctx.machineName}" cannot be resumed (${why}): deleting it and booting afresh`)
    await discardState(this.stateFiles)
  }

  /** The VM's command line as data; the same for a boot and for the hardware fingerprint of a saved state. */
  private async launchSpec(sshPort: number, engineHostPort: number): Promise<LaunchSpec> {
    const c = this.ctx.config
    const kernel = typeof c.Kernel === 'string' && c.Kernel ? c.Kernel : this.o.kernel ? this.abs(this.o.kernel) : undefined
    const initrd = typeof c.Initrd === 'string' && c.Initrd ? c.Initrd : this.o.initrd ? this.abs(this.o.initrd) : undefined
    const append = this.o.append || undefined
    const fwCode = typeof c.Firmware === 'string' ? c.Firmware : undefined
    const accel = (['kvm', 'hvf', 'whpx', 'tcg'] as const).find((a) => a === c.AccelUsed) ?? 'tcg'
    return {
      name: this.ctx.machineName,
      arch: this.arch,
      accel,
      cpus: this.o.cpus,
      memoryMb: this.o.memory,
      disk: this.path('overlay'),
      ...(existsSync(this.path('seed')) ? { seed: this.path('seed') } : {}),
      ...(kernel ? { kernel } : {}),
      ...(initrd ? { initrd } : {}),
      ...(append ? { append } : {}),
      ...(fwCode && !kernel ? { firmware: { code: fwCode, vars: this.path('vars') } } : {}),
      sshPort,
      engineHostPort,
      engineGuestPort: ENGINE_GUEST_PORT,
      forwards: this.forwards,
      consoleLog: this.path('console'),
      firmwareLog: this.path('firmwareLog'),
      pidFile: this.path('pid'),
      qmp: this.qmp(),
      daemonize: process.platform !== 'win32',
      // HVF's aarch64 memory map depends on the QEMU version (see machineArgs).
      ...(this.arch === 'aarch64' && accel === 'hvf' ? { qemuVersion: await this.versionOf(this.binary) } : {}),
    }
  }

  /** The pid of this machine's live QEMU, or undefined (no pid file, exited, zombie, reused pid). */
  private async livePid(): Promise<number | undefined> {
    const pidFile = this.path('pid')
    const pid = await readPid(pidFile)
    if (!pid) return undefined
    if ((await processState(pid)) !== 'alive') return undefined
    if (!(await isOurQemu(pid, pidFile))) return undefined
    return pid
  }

  private async waitGone(pid: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      if ((await processState(pid)) !== 'alive') return true
      await sleep(Math.min(this.pollMs, 250))
    }
    return (await processState(pid)) !== 'alive'
  }

  /** Leftovers of a previous run that would confuse the next one (stale pid file, socket). */
  private async cleanRuntimeFiles(): Promise<void> {
    const q = this.qmp()
    await Promise.all([rm(this.path('pid'), { force: true }), 'path' in q ? rm(q.path, { force: true }) : Promise.resolve()])
  }

  /**
   * The boot watchdog (see Driver.watchBoot and boot-watch.ts) over the serial console, for a
   * boot this instance launched. Under an accelerator `auto` chose and this host has not proven,
   * a guest kernel that does not start within MACHINE_QEMU_ACCEL_BOOT_MS (30 s) means the
   * accelerator hangs it: the VM is restarted under TCG on the same ports and the verdict kept.
   */
  async watchBoot(o: BootWatchOptions): Promise<void> {
    const { ctx } = this
    if (this.launchedAt === undefined) {
      // Not booted by this command (e.g. `provision` of a running VM): nothing to watch.
      await new Promise<void>((resolve) => (o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true })))
      return
    }
    const used = ctx.config.AccelUsed
    const hw = used === 'kvm' || used === 'hvf' ? used : undefined
    const tcg = used !== 'kvm' && used !== 'hvf' && used !== 'whpx'
    const bin = this.binary
    const arch = this.arch
    await watchBoot({
      machineName: ctx.machineName,
      consolePath: this.path('console'),
      firmwarePath: this.path('firmwareLog'),
      signal: o.signal,
      alive: async () => (await this.livePid()) !== undefined,
      onStage: (stage) => o.onStage(stage),
      stallMs: this.envMs('MACHINE_QEMU_STALL_MS', tcg ? 120_000 : 60_000),
      // SSH's handshake alone takes seconds under TCG.
      cloudInitGraceMs: tcg ? 30_000 : 15_000,
      pollMs: Math.min(this.pollMs, 500),
      launchedAt: () => this.launchedAt ?? Date.now(),
      ...(hw && ctx.config.AccelAuto === true && this.accelProven !== true
        ? {
            unproven: {
              name: hw.toUpperCase(),
              withinMs: this.envMs('MACHINE_QEMU_ACCEL_BOOT_MS', 30_000),
              proven: async () => {
                this.accelProven = true
                await this.remember(await this.accelKey(hw, bin, arch), { usable: true, reason: `a guest kernel booted under ${hw.toUpperCase()}`, proof: 'boot' })
              },
              fallBack: (view: BootView, withinMs: number) => this.fallBackToTcg(hw, view, withinMs),
            },
          }
        : {}),
    })
  }

  /** The auto-chosen accelerator hangs the guest kernel: say so, remember it, boot again under TCG. */
  private async fallBackToTcg(hw: 'kvm' | 'hvf', view: BootView, withinMs: number): Promise<void> {
    const { ctx } = this
    const name = hw.toUpperCase()
    const within = Math.round(withinMs / 1000)
    const shown = view.lastLine ? `the console stopped at "${view.lastLine}"` : 'nothing was printed'
    const why = `a guest kernel did not start under ${name} within ${within} s (${shown})`
    ctx.log.info(`The guest kernel of "${ctx.machineName}" did not start under ${name} within ${within} s (${shown}): restarting it under TCG (software emulation); ${name} is remembered as unusable on this host (--qemu-accel ${hw} forces it)`)
    await this.remember(await this.accelKey(hw, this.binary, this.arch), { usable: false, reason: why, proof: 'boot' })
    const ports = [Number(ctx.config.SSHPort ?? 0), Number(ctx.config.EnginePort ?? 0)]
    await this.kill()
    ctx.config.AccelUsed = 'tcg'
    this.accelProven = undefined
    await this.boot(ports[0]!, ports[1]!)
    if (Number(ctx.config.SSHPort) !== ports[0] || Number(ctx.config.EnginePort) !== ports[1]) {
      throw new MachineError('ports-changed', `"${ctx.machineName}" was restarted under TCG, but its ports were taken meanwhile`, {
        hint: `run "machine start ${ctx.machineName}" (or create it again) to pick up the new ports`,
      })
    }
  }

  async state(): Promise<MachineState> {
    const pid = await this.livePid()
    if (!pid) return hasSavedState(this.stateFiles) ? 'Saved' : 'Stopped'
    let status: string
    try {
      status = await qmpStatus(this.qmp(), 10_000)
    } catch (e) {
      // QMP gone while the process lives: the process may be exiting right now.
      if ((await processState(pid)) !== 'alive') return 'Stopped'
      this.ctx.log.debug(`QMP query-status failed: ${(e as Error).message}`)
      return 'Error'
    }
    switch (status) {
      case 'running':
        return 'Running'
      case 'paused':
      case 'suspended':
        return 'Paused'
      case 'prelaunch':
      case 'inmigrate':
      case 'finish-migrate':
      case 'restore-vm':
        return 'Starting'
      case 'shutdown':
        return 'Stopping'
      case 'save-vm':
      case 'postmigrate':
        return 'Saved'
      default:
        // internal-error, io-error, guest-panicked, watchdog, colo, debug
        return 'Error'
    }
  }

  async start(): Promise<void> {
    const { ctx } = this
    if (!existsSync(this.path('overlay'))) {
      throw new MachineError('disk-missing', `The disk of "${ctx.machineName}" (${this.path('overlay')}) is missing`, {
        hint: `remove the machine with "machine rm ${ctx.machineName}" and create it again`,
      })
    }
    const pid = await this.livePid()
    if (pid) {
      const st = await this.state()
      if (st === 'Running') {
        // Its network's switch may have died meanwhile: started again on its port, the VM reconnects.
        await this.network?.ensure(ctx.machineName)
        return
      }
      if (st === 'Paused') {
        await qmpExecute(this.qmp(), [{ execute: 'cont' }])
        return
      }
      // A QEMU whose guest shut down or crashed: replace it.
      await this.kill()
    }
    for (const f of this.forwards) {
      if (f.proto === 'tcp' && !(await isPortFree(f.host))) {
        throw new MachineError('port-in-use', `Port ${f.host} on 127.0.0.1 (forwarded to the guest's ${f.guest}) is in use`)
      }
    }
    // An auto accelerator is chosen again at each start: the host (its kernel, QEMU, what a
    // watchdog found) may have changed since the machine was made.
    if (this.o.accel === 'auto') ctx.config.AccelUsed = await this.pickAccel(this.binary, this.arch)
    const wanted = [Number(ctx.config.SSHPort ?? 0), Number(ctx.config.EnginePort ?? 0)]
    const { ports, changed } = await reusePorts(wanted)
    if (changed) ctx.log.info(`Port(s) of "${ctx.machineName}" were taken: SSH now on 127.0.0.1:${ports[0]}, engine on 127.0.0.1:${ports[1]}`)
    const resumed = await this.boot(ports[0]!, ports[1]!, { resume: hasSavedState(this.stateFiles) })
    if (resumed) await this.resyncClock()
  }

  /** After a resume: the guest's clock is behind by the time it was saved (driver-kit/guest-clock.ts). */
  private async resyncClock(): Promise<void> {
    await resyncClockAfterResume(this.ctx, await this.sshInfo(), this.envMs('MACHINE_QEMU_CLOCK_SYNC_MS', 30_000))
  }

  async stop(o: StopOptions = {}): Promise<void> {
    const { ctx } = this
    const pid = await this.livePid()
    if (!pid) {
      if (!o.save && hasSavedState(this.stateFiles)) {
        // As VirtualBox's discardstate: stopping a saved VM drops its state; it boots afresh.
        ctx.log.info(`Discarding the saved state of "${ctx.machineName}": its next start boots it afresh`)
        await discardState(this.stateFiles)
      }
      return
    }
    if (o.save) return this.saveAndQuit(pid)
    const timeout = this.envMs('MACHINE_QEMU_STOP_TIMEOUT_MS', 120_000)
    const deadline = Date.now() + timeout
    const sshAfter = Date.now() + this.envMs('MACHINE_QEMU_SSH_POWEROFF_AFTER_MS', 30_000)
    let triedSsh = false
    ctx.log.info(`Powering off "${ctx.machineName}" (ACPI power button)`)
    // The guest ignores the button until systemd-logind runs (early boot), and a guest without
    // dbus/acpid never acts on it: press it again now and then, and once ask over SSH.
    while (Date.now() < deadline) {
      await qmpExecute(this.qmp(), [{ execute: 'system_powerdown' }]).catch((e: unknown) => ctx.log.debug(`system_powerdown: ${(e as Error).message}`))
      if (await this.waitGone(pid, Math.min(10_000, Math.max(0, deadline - Date.now())))) {
        await this.cleanRuntimeFiles()
        await this.networkIdle()
        return
      }
      ctx.signal.throwIfAborted()
      if (!triedSsh && Date.now() >= sshAfter) {
        triedSsh = true
        await this.poweroffOverSsh(Math.max(2000, Math.min(10_000, deadline - Date.now())))
      }
    }
    ctx.log.info(`"${ctx.machineName}" did not power off within ${Math.round(timeout / 1000)} s: stopping QEMU`)
    await this.kill()
  }

  /** `sudo poweroff` over SSH (one pinned session, guest-session.ts); failures only logged. */
  private async poweroffOverSsh(timeoutMs: number): Promise<void> {
    const { ctx } = this
    const info = await this.sshInfo()
    if (!info.port || !existsSync(info.keyPath)) return
    ctx.log.info(`"${ctx.machineName}" ignores the power button: asking it to power off over SSH`)
    try {
      // --no-block: return before the connection is torn down by the shutdown.
      await withGuestSession(ctx, info, timeoutMs, (session) => session.exec('sudo -n systemctl poweroff --no-block || sudo -n poweroff', { timeoutMs }))
    } catch (e) {
      ctx.log.debug(`poweroff over SSH failed: ${(e as Error).message}`)
    }
  }

  /**
   * `stop --save`: the guest's filesystems flushed first (so that a state later found unusable,
   * and discarded, loses nothing the guest had written), then its memory and devices written to
   * the machine directory (vm-state.ts), then QEMU quits.
   */
  private async saveAndQuit(pid: number): Promise<void> {
    const { ctx } = this
    if (process.platform === 'win32') {
      throw new MachineError('not-supported', 'stop --save is not available for qemu VMs on Windows (QEMU cannot write its state through a command there)', {
        hint: `run "machine stop ${ctx.machineName}" to power it off`,
      })
    }
    const st = await this.state()
    if (st !== 'Running' && st !== 'Paused') {
      throw new MachineError('not-running', `"${ctx.machineName}" is ${st || 'in an unknown state'}: only a running VM's state can be saved`, { hint: `run "machine stop ${ctx.machineName}" to power it off` })
    }
    await flushGuestDisks(ctx, await this.sshInfo(), this.envMs('MACHINE_QEMU_SYNC_TIMEOUT_MS', 15_000))
    ctx.log.info(`Saving the state of "${ctx.machineName}" to ${this.stateFiles.state}`)
    const spec = await this.launchSpec(Number(ctx.config.SSHPort ?? 0), Number(ctx.config.EnginePort ?? 0))
    if (this.o.network) spec.cluster = { localPort: 0, switchPort: 0, mac: String(ctx.config.ClusterMAC) }
    try {
      await saveState(this.qmp(), this.stateFiles, { qemuVersion: await this.versionOf(this.binary), hardware: hardwareFingerprint(spec) }, {
        timeoutMs: this.envMs('MACHINE_QEMU_SAVE_TIMEOUT_MS', 300_000),
        pollMs: Math.min(this.pollMs, 100),
        signal: ctx.signal,
      })
    } catch (e) {
      throw new MachineError('save-failed', `The state of "${ctx.machineName}" could not be saved: ${(e as Error).message}; it is still running`, {
        hint: `run "machine stop ${ctx.machineName}" to power it off instead`,
      })
    }
    await qmpExecute(this.qmp(), [{ execute: 'quit' }], 5000).catch((e: unknown) => ctx.log.debug(`quit: ${(e as Error).message}`))
    if (!(await this.waitGone(pid, 10_000))) killHard(pid)
    await this.cleanRuntimeFiles()
    await this.networkIdle()
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  async kill(): Promise<void> {
    // A saved state is a running VM's too: killed, it goes (the next start boots afresh).
    await discardState(this.stateFiles)
    const pid = await this.livePid()
    if (!pid) {
      await this.cleanRuntimeFiles()
      await this.networkIdle()
      return
    }
    await qmpExecute(this.qmp(), [{ execute: 'quit' }], 5000).catch((e: unknown) => this.ctx.log.debug(`quit: ${(e as Error).message}`))
    if (!(await this.waitGone(pid, 10_000))) {
      killHard(pid)
      if (!(await this.waitGone(pid, 10_000))) throw new MachineError('kill-failed', `QEMU (pid ${pid}) did not exit`)
    }
    await this.cleanRuntimeFiles()
    await this.networkIdle()
  }

  async remove(journal: Journal): Promise<void> {
    await this.kill()
    // The network is left whether the journal lists it or not (a journal is cleared after create).
    // A network whose state cannot be read must not keep the machine from going: said, not thrown.
    await this.network?.leave(this.ctx.machineName).catch((e: unknown) => this.ctx.log.info(`"${this.ctx.machineName}" could not leave network "${this.o.network}": ${(e as Error).message}`))
    for (const e of [...journal.entries()].reverse()) {
      if (e.kind === 'file') await rm(e.id, { force: true })
      // 'network': left above.
      // 'process': killed above (the pid file named in the entry is this machine's).
      await journal.forget(e.kind, e.id)
    }
    // Also whatever the journal no longer lists (a journal cleared after create, older stores).
    const q = this.qmp()
    await Promise.all([
      ...Object.keys(FILES).map((f) => rm(this.path(f as keyof typeof FILES), { force: true })),
      'path' in q ? rm(q.path, { force: true }) : Promise.resolve(),
    ])
  }

  async ip(): Promise<string> {
    return '127.0.0.1'
  }

  async sshInfo(): Promise<SshInfo> {
    const c = this.ctx.config
    return savedSshInfo(this.ctx, { host: '127.0.0.1', port: Number(c.SSHPort ?? 0), user: String(c.SSHUser || this.o.sshUser) })
  }

  async engineUrl(): Promise<string> {
    return `tcp://127.0.0.1:${Number(this.ctx.config.EnginePort ?? 0)}`
  }

  enginePort(): number {
    return ENGINE_GUEST_PORT
  }

  async certSans(): Promise<string[]> {
    const m = await this.joinNetwork()
    return ['127.0.0.1', 'localhost', ...(m ? [m.ip] : [])]
  }

  /**
   * The machine's address on its qemu network (what swarm nodes advertise), or undefined without
   * one, or while a machine put on it later has not been told its address yet (ClusterNicPending).
   */
  async clusterAddress(): Promise<string | undefined> {
    const ip = this.ctx.config.ClusterIP
    return this.o.network && typeof ip === 'string' && ip && this.ctx.config.ClusterNicPending !== true ? ip : undefined
  }

  /**
   * A machine made without a qemu network joins a cluster: it goes on the network of `peer` (a
   * qemu machine of the cluster), or on "default" for a new cluster. Its VM gets the NIC at its
   * next start, and the guest its address from clusterNicSetup() over SSH: the seed that sets it
   * on the machines made on a network cannot be rewritten (it holds the host key, kept nowhere
   * else). A machine on another network than the peer's could never reach it: refused.
   */
  async clusterNetworkFor(peer?: ClusterPeer): Promise<ClusterNetworkPlan | undefined> {
    const { ctx } = this
    const name = ctx.machineName
    const mine = this.o.network || undefined
    const wanted = peer ? this.networkOf(peer) : (mine ?? 'default')
    if (mine && mine !== wanted) {
      throw new MachineError('network-mismatch', `"${name}" is on qemu network "${mine}" and "${peer?.name}" on "${wanted}": machines on different networks cannot reach each other`, {
        hint: `create "${name}" again with --qemu-network ${wanted}`,
      })
    }
    if (mine && ctx.config.ClusterNicPending !== true) return undefined
    const net = new QemuNetwork(ctx.storePath, wanted, ctx.log)
    // A network not made yet gets its subnet with its first member (attach).
    const subnet = existsSync(join(net.dir, STATE_FILE)) ? ` (${(await net.read()).subnet})` : ''
    return {
      network: `qemu network "${wanted}"${subnet}`,
      // A VM that runs without a network was started without its NIC.
      needsStop: !mine,
      attach: async () => {
        ctx.config.Network = wanted
        ;(this.o as { network?: string }).network = wanted
        ctx.config.ClusterNicPending = true
        const m = await this.joinNetwork()
        return m!.ip
      },
      guestSetup: () => clusterNicSetup(wanted, String(ctx.config.ClusterMAC), String(ctx.config.ClusterIP)),
      done: () => {
        delete ctx.config.ClusterNicPending
      },
    }
  }

  /** The qemu network a cluster's machine is on, else why this VM cannot share one with it. */
  private networkOf(peer: ClusterPeer): string {
    const net = peer.driverName === 'qemu' ? peer.config.Network : undefined
    if (typeof net === 'string' && net) return net
    const why = peer.driverName === 'qemu' ? 'it was made without --qemu-network' : `it is a ${peer.driverName} machine`
    throw new MachineError('no-shared-network', `"${this.ctx.machineName}" (a qemu VM) shares no network with "${peer.name}": ${why}`, {
      hint: `give it an address "${peer.name}" reaches with --advertise-addr ADDR`,
    })
  }
}

