/**
 * The virtualbox driver's lifecycle. A machine is a VirtualBox VM registered under the machine's
 * directory, named like the machine:
 *   <machineDir>/<name>/<name>.vbox, Logs/VBox.log   VirtualBox's own files (createvm --basefolder)
 *   <machineDir>/disk.vdi      the cloud image converted and grown (disk.ts)
 *   <machineDir>/seed.iso      cloud-init NoCloud seed (seed.ts), attached as a DVD
 *   <machineDir>/console.log   the guest's serial console
 * NIC 1 is NAT with two forwards on 127.0.0.1 (SSH → 22, engine → 2376): the machine's address
 * is 127.0.0.1, as for qemu, so it never changes. NIC 2 is on the host-only network (hostonly.ts)
 * with a fixed address: the cluster address swarm nodes advertise.
 * Every VBoxManage call goes through one injected runner (client.ts).
 */
import { randomUUID, createHash } from 'node:crypto'
import { existsSync, realpathSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { networkInterfaces, cpus as hostCpus } from 'node:os'
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Driver, DriverContext, Journal, MachineState, SshInfo, StopOptions } from '../../src/driver-kit/contract.js'
import { LocalVmDriver } from '../../src/driver-kit/local-driver.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { resyncClockAfterResume } from '../../src/driver-kit/guest-clock.js'
import { flushGuestDisks } from '../../src/driver-kit/guest-session.js'
import { resolveImage } from '../../src/driver-kit/image-cache.js'
import { ensureMachineSshKey, generateHostKey } from '../../src/driver-kit/keys.js'
import { freePorts, reusePorts } from '../../src/driver-kit/ports.js'
import { buildNoCloudSeed } from '../../src/driver-kit/seed-image.js'
import { savedSshInfo } from '../../src/driver-kit/ssh-info.js'
import { envMs, pollIntervalMs, sleep } from '../../src/driver-kit/wait.js'
import { INSTALL_HINT, VBoxManageError, vboxManageAt, vboxManagePath, type VBoxManage } from './client.js'
import { makeDisk, removeDisk } from './disk.js'
import { HostOnlyNetwork, macForAddress } from './hostonly.js'
import { parseShareFolder, type options } from './options.js'
import { createdUuid, machineState, parseMachineReadable, parseVersion } from './parse.js'
import { networkConfig, userData } from './seed.js'
import { checkVirtualization, realHostProbe, vtxProblemInLog, type HostProbe } from './vtx.js'

export const ENGINE_GUEST_PORT = 2376
export const SSH_USER = 'docker'
export const FILES = { disk: 'disk.vdi', seed: 'seed.iso', console: 'console.log' } as const
export const IMAGE_FLAGS = { image: '--virtualbox-image', checksum: '--virtualbox-image-checksum' }

/** The SSH and engine host ports as saved (`wanted`) and as they are to be (`ports`: new ones for those taken). */
interface TakenForwards {
  wanted: number[]
  ports: number[]
}

/** What a driver instance is built with besides its context: tests inject a recorded VBoxManage and host. */
export interface VirtualBoxDeps {
  vbm?: VBoxManage
  host?: HostProbe
  /** os.networkInterfaces() */
  interfaces?: () => NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>
  platform?: NodeJS.Platform
}

export function createDriver(ctx: DriverContext<typeof options>): Driver {
  return new VirtualBoxDriver(ctx)
}

/** The folder shared by default, as docker-machine did: the users' homes, mounted at /<name>. */
export function defaultShare(platform: NodeJS.Platform): { dir: string; name: string } {
  if (platform === 'darwin') return { dir: '/Users', name: 'Users' }
  if (platform === 'win32') return { dir: 'C:\\Users', name: 'c/Users' }
  return { dir: '/home', name: 'hosthome' }
}

/** A MAC for the NAT NIC (VirtualBox's 08:00:27 range), fixed per machine so the seed can name it. */
export const natMacFor = (machineName: string): string => `080027${createHash('sha256').update(`nat:${machineName}`).digest('hex').slice(0, 6).toUpperCase()}`

export class VirtualBoxDriver extends LocalVmDriver<typeof options, VirtualBoxDeps> implements Driver {
  private runner: VBoxManage | undefined

  constructor(ctx: DriverContext<typeof options>, deps: VirtualBoxDeps = {}) {
    super(ctx, deps)
    this.runner = deps.vbm
  }

  // ---- settings (ctx, deps, o, name, platform: LocalVmDriver) ---------------------------------

  private path(f: keyof typeof FILES): string {
    return join(this.ctx.machineDir, FILES[f])
  }
  private get pollMs(): number {
    return pollIntervalMs(this.ctx.env, 1000)
  }
  /** VBoxManage, found on first use (so `ls` of a stopped machine fails only when it must ask VirtualBox). */
  private get vbm(): VBoxManage {
    this.runner ??= vboxManageAt(vboxManagePath(this.ctx.env, this.platform), (l) => this.ctx.log.debug(l))
    return this.runner
  }
  private get network(): HostOnlyNetwork {
    return new HostOnlyNetwork({ storePath: this.ctx.storePath, cidr: this.o.hostonlyCidr, vbm: this.vbm, log: this.ctx.log, pollMs: this.pollMs })
  }
  private get share(): { dir: string; name: string } | undefined {
    if (this.o.noShare) return undefined
    return this.o.shareFolder ? parseShareFolder(this.o.shareFolder) : defaultShare(this.platform)
  }

  /** `showvminfo --machinereadable`, or undefined when VirtualBox has no VM of this name. */
  private async info(): Promise<Map<string, string> | undefined> {
    try {
      return parseMachineReadable((await this.vbm(['showvminfo', this.name, '--machinereadable'])).stdout)
    } catch (e) {
      if (e instanceof VBoxManageError && e.notFound) return undefined
      throw e
    }
  }

  /**
   * The VM's settings file lies in this machine's directory: it is ours to delete. VirtualBox may
   * report the directory by its real path (macOS: /private/var for /var) and, on macOS and
   * Windows, in another letter case.
   */
  private isOurs(info: Map<string, string>): boolean {
    const cfg = info.get('CfgFile')
    if (!cfg) return true
    const fold = (p: string) => (this.platform === 'win32' || this.platform === 'darwin' ? p.toLowerCase() : p)
    const real = (p: string) => {
      try {
        return realpathSync(p)
      } catch {
        return resolve(p)
      }
    }
    const dirs = [resolve(this.ctx.machineDir), real(this.ctx.machineDir)].map((d) => fold(d + sep))
    const files = [resolve(cfg), join(real(dirname(cfg)), basename(cfg))].map(fold)
    return files.some((f) => dirs.some((d) => f.startsWith(d)))
  }

  // ---- Driver --------------------------------------------------------------------------------

  async preCreateCheck(): Promise<void> {
    const { stdout } = await this.vbm(['--version'])
    const v = parseVersion(stdout)
    if (!v || v.major < 5) {
      throw new MachineError('vbox-too-old', `VirtualBox ${v?.raw ?? `"${stdout.trim()}"`} is not supported: version 5 or later is needed`, { hint: INSTALL_HINT })
    }
    this.ctx.log.debug(`VirtualBox ${v.raw}`)
    if (this.o.hostonlyNoDhcp) this.ctx.log.info('--virtualbox-hostonly-no-dhcp: nothing to disable: machines get fixed host-only addresses and no DHCP server is added')
    if (await this.info()) {
      throw new MachineError('vm-exists', `VirtualBox already has a VM named "${this.name}"`, { hint: 'choose another machine name, or remove that VM in VirtualBox' })
    }
    if (!this.o.noVtxCheck) await checkVirtualization(this.deps.host ?? realHostProbe(this.platform), (l) => this.ctx.log.debug(l))
    await this.network.check((this.deps.interfaces ?? networkInterfaces)())
    const image = this.o.image
    if (image && !/^https?:\/\//i.test(image)) {
      const p = image.startsWith('file:') ? fileURLToPath(image) : isAbsolute(image) ? image : resolve(image)
      if (!existsSync(p)) throw new MachineError('image-not-found', `--virtualbox-image ${image} does not exist`)
    }
    if (this.o.shareFolder && !this.o.noShare) {
      const s = parseShareFolder(this.o.shareFolder)
      if (s && !existsSync(s.dir)) throw new MachineError('invalid-option', `--virtualbox-share-folder: ${s.dir} does not exist`)
    }
  }

  /** The machine's fixed host-only address (allocated once; asked before create for the certificate). */
  private async hostOnlyIp(): Promise<string> {
    const had = this.ctx.config.HostOnlyIP
    if (typeof had === 'string' && had) return had
    const ip = await this.network.join(this.name, this.ctx.machineDir)
    this.ctx.config.HostOnlyIP = ip
    return ip
  }

  async create(journal: Journal): Promise<void> {
    const { ctx } = this
    const { signal } = ctx
    const net = this.network
    // The address may be taken already (certSans() runs first): journaled before anything else.
    await journal.record({ kind: 'hostonly-member', id: net.name, data: { cidr: this.o.hostonlyCidr } })
    const ip = await this.hostOnlyIp()

    const key = await ensureMachineSshKey(ctx.machineDir, `machine-${this.name}`)
    ctx.config.SSHKeyPath = key.path
    ctx.config.SSHUser = SSH_USER
    signal.throwIfAborted()

    // 1. the disk, from the verified image cache
    const image = await resolveImage({ image: this.o.image, checksum: this.o.imageChecksum ?? '', cacheDir: join(ctx.storePath, 'cache'), log: ctx.log, signal, flags: IMAGE_FLAGS })
    const disk = this.path('disk')
    await journal.record({ kind: 'disk', id: disk })
    await makeDisk(this.vbm, { image: image.path, dest: disk, sizeMb: this.o.diskSize, log: ctx.log, signal })
    ctx.config.DiskPath = disk
    signal.throwIfAborted()

    // 2. the seed: our user and key, a pinned host key, the fixed host-only address
    const natMac = natMacFor(this.name)
    const hostOnlyMac = macForAddress(ip)
    const share = this.share && existsSync(this.share.dir) ? this.share : undefined
    const hostKey = await generateHostKey(`${this.name}-host-key`)
    const seed = this.path('seed')
    const instanceId = `machine-${randomUUID()}`
    await journal.record({ kind: 'file', id: seed })
    const seedSpec = {
      machineName: this.name,
      user: SSH_USER,
      authorizedKey: key.publicKey,
      hostKey,
      natMac,
      hostOnlyMac,
      hostOnlyAddress: `${ip}/${net.cidr.bits}`,
      ...(share ? { share: { name: share.name, guestPath: `/${share.name}` } } : {}),
      ...(ctx.engineBootstrap ? { engineBootstrap: ctx.engineBootstrap } : {}),
    }
    // The seed holds the host's private key: owner-only, like id_rsa.
    await writeFile(seed, buildNoCloudSeed({ userData: userData(seedSpec), networkConfig: networkConfig(seedSpec), instanceId, hostname: this.name }), { mode: 0o600 })
    ctx.config.SSHHostKeys = [hostKey.publicKey]
    ctx.config.InstanceId = instanceId

    // 3. the VM, in docker-machine's order
    await journal.record({ kind: 'vm', id: this.name })
    const created = await this.vbm(['createvm', '--basefolder', ctx.machineDir, '--name', this.name, '--register'], { signal })
    const uuid = createdUuid(created.stdout)
    if (uuid) {
      ctx.config.UUID = uuid
      await journal.update('vm', this.name, { uuid })
    }
    await this.vbm(this.modifyArgs(), { signal })
    await this.vbm(['modifyvm', this.name, '--nic1', 'nat', '--nictype1', this.o.natNictype, '--cableconnected1', 'on', '--macaddress1', natMac], { signal })
    const [sshPort, enginePort] = await freePorts(2)
    await this.forward('ssh', sshPort!, 22)
    await this.forward('docker', enginePort!, ENGINE_GUEST_PORT)
    const adapter = await net.ensureAdapter(journal, signal)
    ctx.config.HostOnlyAdapter = adapter
    await this.attachHostOnly(adapter, hostOnlyMac)
    await this.vbm(['storagectl', this.name, '--name', 'SATA', '--add', 'sata', '--hostiocache', 'on'], { signal })
    await this.vbm(['storageattach', this.name, '--storagectl', 'SATA', '--port', '0', '--device', '0', '--type', 'dvddrive', '--medium', seed], { signal })
    await this.vbm(['storageattach', this.name, '--storagectl', 'SATA', '--port', '1', '--device', '0', '--type', 'hdd', '--medium', disk], { signal })
    if (share) {
      await this.vbm(['sharedfolder', 'add', this.name, '--name', share.name, '--hostpath', share.dir, '--automount'], { signal })
      await this.vbm(['setextradata', this.name, `VBoxInternal2/SharedFoldersEnableSymlinksCreate/${share.name}`, '1'], { signal })
    } else if (this.share && !this.o.noShare) {
      ctx.log.debug(`${this.share.dir} does not exist: nothing shared`)
    }
    ctx.config.IPAddress = '127.0.0.1'

    // 4. boot
    await this.startVm()
  }

  /** docker-machine's modifyvm settings (firmware, CPUs, memory, ACPI/IOAPIC, UTC clock, VT-x, nested paging…), plus a serial console log. */
  private modifyArgs(): string[] {
    const cpus = this.o.cpuCount < 1 ? Math.min(hostCpus().length || 1, 32) : this.o.cpuCount
    return [
      'modifyvm', this.name,
      '--firmware', 'bios',
      '--bioslogofadein', 'off',
      '--bioslogofadeout', 'off',
      '--bioslogodisplaytime', '0',
      '--biosbootmenu', 'disabled',
      '--ostype', 'Debian_64',
      '--cpus', String(cpus),
      '--memory', String(this.o.memory),
      '--acpi', 'on',
      '--ioapic', 'on',
      '--rtcuseutc', 'on',
      '--natdnshostresolver1', this.o.hostDnsResolver ? 'on' : 'off',
      '--natdnsproxy1', this.o.noDnsProxy ? 'off' : 'on',
      '--cpuhotplug', 'off',
      '--pae', 'on',
      '--hpet', 'on',
      '--hwvirtex', 'on',
      '--nestedpaging', 'on',
      '--largepages', 'on',
      '--vtxvpid', 'on',
      '--accelerate3d', 'off',
      '--boot1', 'disk',
      '--boot2', 'dvd',
      '--uart1', '0x3F8', '4',
      '--uartmode1', 'file', this.path('console'),
    ]
  }

  /**
   * A NAT forward from 127.0.0.1:<host> to the guest's port (replacing the rule of that name when
   * asked): `modifyvm --natpf1` while powered off, `controlvm natpf1` on a running VM (`live`).
   */
  private async forward(rule: 'ssh' | 'docker', host: number, guest: number, o: { replace?: boolean; live?: boolean } = {}): Promise<void> {
    const nat = o.live ? ['controlvm', this.name, 'natpf1'] : ['modifyvm', this.name, '--natpf1']
    if (o.replace) await this.vbm([...nat, 'delete', rule]).catch(() => undefined)
    await this.vbm([...nat, `${rule},tcp,127.0.0.1,${host},,${guest}`])
    this.ctx.config[rule === 'ssh' ? 'SSHPort' : 'EnginePort'] = host
  }

  private async attachHostOnly(adapter: string, mac: string): Promise<void> {
    await this.vbm([
      'modifyvm', this.name,
      '--nic2', 'hostonly',
      '--nictype2', this.o.hostonlyNictype,
      '--nicpromisc2', this.o.hostonlyNicpromisc,
      '--hostonlyadapter2', adapter,
      '--cableconnected2', 'on',
      '--macaddress2', mac,
    ])
  }

  /** startvm, then (unless --virtualbox-no-vtx-check) the VM's log read for a VT-x/AMD-V failure. */
  private async startVm(): Promise<void> {
    try {
      await this.vbm(['startvm', this.name, '--type', this.o.uiType], { signal: this.ctx.signal })
    } catch (e) {
      throw (await this.logProblem()) ?? e
    }
    const problem = await this.logProblem()
    if (problem) {
      await this.vbm(['controlvm', this.name, 'poweroff']).catch(() => undefined)
      throw problem
    }
  }

  private async logProblem(): Promise<MachineError | undefined> {
    if (this.o.noVtxCheck) return undefined
    const info = await this.info().catch(() => undefined)
    const dir = info?.get('LogFldr') || join(this.ctx.machineDir, this.name, 'Logs')
    const log = await readFile(join(dir, 'VBox.log'), 'utf8').catch(() => '')
    return vtxProblemInLog(log)
  }

  async state(): Promise<MachineState> {
    const info = await this.info()
    if (!info) {
      throw new MachineError('vm-not-found', `VirtualBox has no VM named "${this.name}"`, {
        hint: `it was removed outside machine: run "machine rm ${this.name}" to forget it`,
      })
    }
    return machineState(info.get('VMState'))
  }

  async start(): Promise<void> {
    const st = await this.state()
    if (st === 'Running' || st === 'Starting') return
    if (st === 'Paused') {
      await this.vbm(['controlvm', this.name, 'resume'])
      return
    }
    if (st === 'Saved') {
      const r = await this.resumeSaved()
      if (r.resumed) return
      // Its saved state discarded: powered off, its settings can change.
      await this.refreshSettings(r.taken)
    } else if (st === 'Stopped') await this.refreshSettings()
    await this.startVm()
  }

  /**
   * Before a boot: the host-only adapter may have been removed since (re-made then, NIC 2 moved
   * to it if it has another name), and a forwarded port taken (moved then). Only while powered
   * off: VirtualBox refuses `modifyvm` of a running or saved VM.
   */
  private async refreshSettings(taken?: TakenForwards): Promise<void> {
    const adapter = await this.network.ensureAdapter(undefined, this.ctx.signal)
    if (adapter !== this.ctx.config.HostOnlyAdapter) {
      this.ctx.log.info(`The host-only adapter of "${this.name}" is now ${adapter}`)
      await this.attachHostOnly(adapter, macForAddress(await this.hostOnlyIp()))
      this.ctx.config.HostOnlyAdapter = adapter
    }
    await this.moveForwards(taken ?? (await this.takenForwards()), { live: false })
  }

  /**
   * The SSH and engine forwards keep their host ports while free; for one taken meanwhile, a new
   * port (said). Asked before the VM starts: once it runs, its own forwards hold them.
   */
  private async takenForwards(): Promise<TakenForwards> {
    const wanted = [Number(this.ctx.config.SSHPort ?? 0), Number(this.ctx.config.EnginePort ?? 0)]
    const { ports, changed } = await reusePorts(wanted)
    if (changed) this.ctx.log.info(`Port(s) of "${this.name}" were taken: SSH now on 127.0.0.1:${ports[0]}, engine on 127.0.0.1:${ports[1]}`)
    return { wanted, ports }
  }

  /** Forwards moved to their new ports: with `modifyvm` while powered off, `controlvm` on a running VM (`live`). */
  private async moveForwards({ wanted, ports }: TakenForwards, o: { live: boolean }): Promise<void> {
    if (ports[0] !== wanted[0]) await this.forward('ssh', ports[0]!, 22, { replace: true, live: o.live })
    if (ports[1] !== wanted[1]) await this.forward('docker', ports[1]!, ENGINE_GUEST_PORT, { replace: true, live: o.live })
  }

  /**
   * `start` of a Saved VM: `startvm` restores it (memory, devices, and its NAT forwards and
   * host-only card as they were saved). A saved VM's settings cannot change (`modifyvm`: "The
   * machine is not mutable (state is Saved)"), so what a boot refreshes is handled here:
   * - the host-only adapter, re-made if it was removed: under the same name the saved card finds
   *   it again; under another one the card cannot be moved to it, so the state is discarded (one
   *   line) and the VM boots, as qemu does with a state it cannot resume (savedStateUnusable);
   * - a forwarded port taken meanwhile: the state is kept (it holds the user's running
   *   containers) and the forward is moved once the VM runs, with `controlvm natpf1`, which
   *   changes a running VM's NAT (and only a running one's). VirtualBox's older NAT engine
   *   (before its libslirp-based one) refuses to restore a VM one of whose forwards cannot bind
   *   ("NAT#0: configuration error: failed to set up redirection"): that startvm failure, like
   *   any other that is not the host's (VT-x, Hyper-V, the kernel module: those keep the state
   *   for after the fix), discards the state and boots.
   * Then the guest's clock, behind by the time it was saved, is set from the host's.
   * Not `resumed` when the state was discarded: the caller boots the VM (with the ports found taken).
   */
  private async resumeSaved(): Promise<{ resumed: boolean; taken?: TakenForwards }> {
    const had = this.ctx.config.HostOnlyAdapter
    const adapter = await this.network.ensureAdapter(undefined, this.ctx.signal)
    if (typeof had === 'string' && had && adapter !== had) {
      await this.savedStateUnusable(`its host-only adapter ${had} is gone, and a saved VM's network cards cannot be changed`)
      return { resumed: false }
    }
    const taken = await this.takenForwards()
    try {
      await this.startVm()
    } catch (e) {
      if (!(e instanceof VBoxManageError) || e.hint) throw e
      await this.savedStateUnusable(`VirtualBox could not restore it: ${e.message}`)
      return { resumed: false, taken }
    }
    // A VM saved while paused may come back paused: it is to run.
    if ((await this.restored()) === 'Paused') await this.vbm(['controlvm', this.name, 'resume'])
    await this.moveForwards(taken, { live: true })
    await resyncClockAfterResume(this.ctx, await this.sshInfo(), envMs(this.ctx.env, 'MACHINE_VBOX_CLOCK_SYNC_MS', 30_000, { min: 1 }))
    return { resumed: true }
  }

  /**
   * The VM's state once VirtualBox has restored it: startvm may return while it still reads the
   * state file ("restoring", i.e. Starting), when neither its NAT (`controlvm natpf1`) nor its
   * guest (the clock) can be reached yet. Bounded: after MACHINE_VBOX_RESUME_TIMEOUT_MS the state
   * is returned as it is.
   */
  private async restored(): Promise<MachineState> {
    const deadline = Date.now() + envMs(this.ctx.env, 'MACHINE_VBOX_RESUME_TIMEOUT_MS', 120_000, { min: 1 })
    for (;;) {
      const st = await this.state()
      if (st !== 'Starting' || Date.now() >= deadline) return st
      await sleep(Math.min(this.pollMs, Math.max(1, deadline - Date.now())), this.ctx.signal)
    }
  }

  /** The one line a start says when it cannot resume; the state goes (a boot is next). */
  private async savedStateUnusable(why: string): Promise<void> {
    this.ctx.log.info(`The saved state of "${this.name}" cannot be resumed (${why}): discarding it and booting afresh`)
    await this.vbm(['discardstate', this.name])
  }

  async stop(o: StopOptions = {}): Promise<void> {
    let st = await this.state()
    if (st === 'Stopped') return
    if (st === 'Saved') {
      if (o.save) return
      // A saved VM is not running: stopping it means dropping the saved state (it then boots afresh).
      this.ctx.log.info(`Discarding the saved state of "${this.name}": its next start boots it afresh`)
      await this.vbm(['discardstate', this.name])
      return
    }
    if (o.save) return this.saveState(st)
    if (st === 'Paused') await this.vbm(['controlvm', this.name, 'resume'])
    const timeout = envMs(this.ctx.env, 'MACHINE_VBOX_STOP_TIMEOUT_MS', 120_000, { min: 1 })
    const deadline = Date.now() + timeout
    this.ctx.log.info(`Powering off "${this.name}" (ACPI power button)`)
    await this.vbm(['controlvm', this.name, 'acpipowerbutton'])
    while (Date.now() < deadline) {
      await sleep(Math.min(this.pollMs, Math.max(1, deadline - Date.now())), this.ctx.signal)
      st = await this.state()
      if (st === 'Stopped') return
    }
    this.ctx.log.info(`"${this.name}" did not power off within ${Math.round(timeout / 1000)} s: powering it off`)
    await this.kill()
  }

  /**
   * `stop --save`: the guest flushes its disks (so that a state discarded later loses nothing it
   * wrote), then `controlvm savestate`, which returns once VirtualBox has written the VM's memory
   * and devices to <machineDir>/<name>/Snapshots/<time>.sav and the VM is "saved". A paused VM is
   * saved as it is: VirtualBox saves a paused VM directly (a running one it pauses first), and
   * resuming it first would only let it run for as long as the save takes.
   */
  private async saveState(st: MachineState): Promise<void> {
    const { ctx } = this
    if (st !== 'Running' && st !== 'Paused') {
      throw new MachineError('not-running', `"${this.name}" is ${st || 'in an unknown state'}: only a running VM's state can be saved`, { hint: `run "machine stop ${this.name}" to power it off` })
    }
    if (st === 'Running') await flushGuestDisks(ctx, await this.sshInfo(), envMs(ctx.env, 'MACHINE_VBOX_SYNC_TIMEOUT_MS', 15_000, { min: 1 }))
    ctx.log.info(`Saving the state of "${this.name}" (VirtualBox keeps it in ${join(ctx.machineDir, this.name, 'Snapshots')})`)
    try {
      await this.vbm(['controlvm', this.name, 'savestate'], { timeoutMs: envMs(ctx.env, 'MACHINE_VBOX_SAVE_TIMEOUT_MS', 300_000, { min: 1 }), signal: ctx.signal })
    } catch (e) {
      const now = await this.state().catch(() => '' as const)
      throw new MachineError('save-failed', `The state of "${this.name}" could not be saved: ${(e as Error).message}${now === 'Running' || now === 'Paused' ? '; it is still running' : ''}`, {
        hint: `run "machine stop ${this.name}" to power it off instead`,
      })
    }
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  async kill(): Promise<void> {
    const st = await this.state()
    if (st === 'Stopped') return
    if (st === 'Saved') {
      await this.vbm(['discardstate', this.name])
      return
    }
    await this.vbm(['controlvm', this.name, 'poweroff'])
  }

  async remove(journal: Journal): Promise<void> {
    const info = await this.info()
    if (info) {
      if (!this.isOurs(info)) {
        throw new MachineError('vm-not-ours', `The VirtualBox VM "${this.name}" is not this machine's (its settings are in ${info.get('CfgFile')}): it was left alone`, {
          hint: `remove it in VirtualBox if it should go, then run "machine rm ${this.name}" again`,
        })
      }
      const st = machineState(info.get('VMState'))
      if (st === 'Saved') await this.vbm(['discardstate', this.name])
      else if (st !== 'Stopped' && st !== '') await this.vbm(['controlvm', this.name, 'poweroff'])
      // The session lock of a VM that just powered off is released a moment later.
      await this.unregister()
    }
    let pending: { name?: string; before?: string[] } | undefined
    for (const e of [...journal.entries()].reverse()) {
      if (e.kind === 'disk') await removeDisk(this.vbm, e.id)
      else if (e.kind === 'file') await rm(e.id, { force: true })
      else if (e.kind === 'hostonlyif') pending = { ...(typeof e.data?.name === 'string' ? { name: e.data.name } : {}), ...(Array.isArray(e.data?.before) ? { before: e.data.before.map(String) } : {}) }
      // 'vm': unregistered above; 'hostonly-member': left below.
    }
    await this.network.leave(this.name, pending)
    for (const e of [...journal.entries()].reverse()) await journal.forget(e.kind, e.id)
    // Whatever the journal no longer lists (it is cleared after a create).
    await Promise.all(Object.values(FILES).map((f) => rm(join(this.ctx.machineDir, f), { force: true })))
  }

  /** `unregistervm --delete`, retried while VirtualBox still holds the session of a VM that just stopped (bounded). */
  private async unregister(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.vbm(['unregistervm', this.name, '--delete'])
        return
      } catch (e) {
        if (!(e instanceof VBoxManageError)) throw e
        if (e.notFound) return
        if (attempt >= 10 || !/is locked|session|VBOX_E_INVALID_OBJECT_STATE/i.test(e.stderr)) throw e
        await sleep(Math.min(this.pollMs, 1000))
      }
    }
  }

  async ip(): Promise<string> {
    return '127.0.0.1'
  }

  async sshInfo(): Promise<SshInfo> {
    const c = this.ctx.config
    return savedSshInfo(this.ctx, { host: '127.0.0.1', port: Number(c.SSHPort ?? 0), user: String(c.SSHUser || SSH_USER) })
  }

  async engineUrl(): Promise<string> {
    return `tcp://127.0.0.1:${Number(this.ctx.config.EnginePort ?? 0)}`
  }

  enginePort(): number {
    return ENGINE_GUEST_PORT
  }

  async certSans(): Promise<string[]> {
    return ['127.0.0.1', 'localhost', await this.hostOnlyIp()]
  }

  /** The machine's fixed address on the host-only network: what swarm nodes advertise. */
  async clusterAddress(): Promise<string | undefined> {
    const ip = this.ctx.config.HostOnlyIP
    return typeof ip === 'string' && ip ? ip : undefined
  }
}
