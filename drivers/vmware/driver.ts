/**
 * The vmware driver's lifecycle. A machine is a VMware VM whose files are all in the machine's
 * directory, named like the machine (as docker-machine's):
 *   <machineDir>/<name>.vmx     the configuration (vmx.ts, from templates/vmware.vmx)
 *   <machineDir>/<name>.vmdk    the cloud image converted and grown (disk.ts)
 *   <machineDir>/seed.iso       cloud-init NoCloud seed (seed.ts), attached as a CD
 *   <machineDir>/console.log    the guest's serial console
 * The guest's one NIC is on the --vmware-network-type network (NAT by default) with a MAC fixed
 * before the first boot; its address comes from `vmrun getGuestIPAddress`, else from the vmnet
 * DHCP files (leases.ts), and SSH and the engine go to it directly, as docker-machine's did.
 * Every vmrun / vmware-vdiskmanager call goes through one injected runner (client.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, realpathSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { cpus as hostCpus } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hostGuestArch } from '../../src/driver-kit/cloud-images.js'
import type { Driver, DriverContext, Journal, MachineState, SshInfo, StopOptions } from '../../src/driver-kit/contract.js'
import { LocalVmDriver } from '../../src/driver-kit/local-driver.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { resolveImage } from '../../src/driver-kit/image-cache.js'
import { resyncClockAfterResume } from '../../src/driver-kit/guest-clock.js'
import { flushGuestDisks } from '../../src/driver-kit/guest-session.js'
import { ensureMachineSshKey, generateHostKey } from '../../src/driver-kit/keys.js'
import { guestPort } from '../../src/driver-kit/ports.js'
import { buildNoCloudSeed } from '../../src/driver-kit/seed-image.js'
import { savedSshInfo } from '../../src/driver-kit/ssh-info.js'
import { envMs, pollIntervalMs, sleep } from '../../src/driver-kit/wait.js'
import { hostType, VmwareToolError, vmwareTools, type ToolRunner } from './client.js'
import { makeDisk } from './disk.js'
import { addressFromDhcpFiles, dhcpFiles } from './leases.js'
import { discardSavedState, hasSavedState } from './saved-state.js'
import type { options } from './options.js'
import { networkConfig, userData } from './seed.js'
import { macFor, renderVmx } from './vmx.js'

export const ENGINE_PORT = 2376
export const SSH_PORT = 22
export const IMAGE_FLAGS = { image: '--vmware-image', checksum: '--vmware-image-checksum' }
/** Where the shared folder is mounted in the guest (docker-machine's). */
export const SHARE_GUEST_PATH = '/hosthome'

/** What a driver instance is built with besides its context: tests inject recorded tools and DHCP files. */
export interface VmwareDeps {
  tools?: ToolRunner
  platform?: NodeJS.Platform
  /** The vmnet DHCP configuration and leases files (leases.ts dhcpFiles). */
  dhcpFiles?: () => { conf: string[]; leases: string[] }
  arch?: 'x86_64' | 'aarch64'
  /** The host folder to share instead of the platform's default (tests: one that exists here). */
  share?: { dir: string; name: string }
}

export function createDriver(ctx: DriverContext<typeof options>): Driver {
  return new VmwareDriver(ctx)
}

/** The host folder shared by default and its share name, as docker-machine's vmware driver did. */
export function defaultShare(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): { dir: string; name: string } | undefined {
  if (platform === 'darwin') return { dir: '/Users', name: 'Users' }
  if (platform === 'win32') return env.PUBLIC ? { dir: env.PUBLIC, name: 'Users' } : undefined
  return { dir: '/home', name: 'hosthome' }
}

/** The machine's files, by role. */
export function machineFiles(machineDir: string, name: string) {
  return {
    vmx: join(machineDir, `${name}.vmx`),
    disk: join(machineDir, `${name}.vmdk`),
    descriptor: join(machineDir, 'image-flat.vmdk'),
    seed: join(machineDir, 'seed.iso'),
    console: join(machineDir, 'console.log'),
  }
}

/** The VMX paths `vmrun list` prints after its "Total running VMs: N" line. */
export function parseVmrunList(stdout: string): string[] {
  return stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^Total running VMs:/i.test(l))
}

/** The first IPv4 address in getGuestIPAddress's answer ("192.168.101.128"); "unknown" and errors give none. */
export const parseGuestIp = (stdout: string): string | undefined => /\b(\d{1,3}(?:\.\d{1,3}){3})\b/.exec(stdout)?.[1]

export class VmwareDriver extends LocalVmDriver<typeof options, VmwareDeps> implements Driver {
  private runner: ToolRunner | undefined

  constructor(ctx: DriverContext<typeof options>, deps: VmwareDeps = {}) {
    super(ctx, deps)
    this.runner = deps.tools
  }

  // ---- settings (ctx, deps, o, name, platform: LocalVmDriver) ---------------------------------

  private get files() {
    return machineFiles(this.ctx.machineDir, this.name)
  }
  private get pollMs(): number {
    return pollIntervalMs(this.ctx.env, 2000)
  }
  /** The tools, found on first use (so `ls` of a machine asks VMware only when it must). */
  private get tools(): ToolRunner {
    this.runner ??= vmwareTools(this.ctx.env, this.platform, (l) => this.ctx.log.debug(l))
    return this.runner
  }
  /** `vmrun -T fusion|ws <args>` */
  private vmrun(args: readonly string[], o: { timeoutMs?: number; signal?: AbortSignal } = {}) {
    return this.tools('vmrun', ['-T', hostType(this.platform), ...args], o)
  }
  private get share(): { dir: string; name: string } | undefined {
    return this.o.noShare ? undefined : (this.deps.share ?? defaultShare(this.platform, this.ctx.env))
  }
  private get mac(): string {
    return String(this.ctx.config.MACAddress ?? '')
  }

  /** Is this .vmx among `vmrun list`'s running VMs? (VMware prints the path it was started with: compared resolved, and case-blind where the file system is.) */
  private async running(): Promise<boolean> {
    const { stdout } = await this.vmrun(['list'])
    const fold = this.platform === 'darwin' || this.platform === 'win32' ? (s: string) => s.toLowerCase() : (s: string) => s
    const real = (p: string) => {
      try {
        return realpathSync(p)
      } catch {
        return resolve(p)
      }
    }
    const mine = new Set([fold(resolve(this.files.vmx)), fold(real(this.files.vmx))])
    return parseVmrunList(stdout).some((p) => mine.has(fold(p)) || mine.has(fold(real(p))))
  }

  // ---- Driver --------------------------------------------------------------------------------

  async preCreateCheck(): Promise<void> {
    // VMware answers (installed, set up, licensed): the same call state() makes later.
    await this.vmrun(['list'])
    if (existsSync(this.files.vmx)) {
      throw new MachineError('vm-exists', `${this.files.vmx} already exists`, { hint: 'choose another machine name, or remove that VM in VMware' })
    }
    const image = this.o.image
    if (image && !/^https?:\/\//i.test(image)) {
      const p = image.startsWith('file:') ? fileURLToPath(image) : isAbsolute(image) ? image : resolve(image)
      if (!existsSync(p)) throw new MachineError('image-not-found', `--vmware-image ${image} does not exist`)
    }
  }

  async create(journal: Journal): Promise<void> {
    const { ctx } = this
    const { signal } = ctx
    const f = this.files
    const arch = this.deps.arch ?? hostGuestArch()

    const key = await ensureMachineSshKey(ctx.machineDir, `machine-${this.name}`)
    ctx.config.SSHKeyPath = key.path
    ctx.config.SSHUser = this.o.sshUser
    // docker-machine's SSHPort; both may be moved for a guest reached through a forward (and for test doubles).
    ctx.config.SSHPort = guestPort(ctx.env, 'MACHINE_VMWARE_SSH_PORT', SSH_PORT)
    ctx.config.EnginePort = guestPort(ctx.env, 'MACHINE_VMWARE_ENGINE_PORT', ENGINE_PORT)
    ctx.config.MACAddress = macFor(randomBytes(3))
    signal.throwIfAborted()

    // The image first: a failed download leaves nothing made.
    const image = await resolveImage({ image: this.o.image, checksum: this.o.imageChecksum ?? '', cacheDir: join(ctx.storePath, 'cache'), log: ctx.log, signal, flags: IMAGE_FLAGS })

    // 1. the seed: our user and key, a pinned host key, DHCP on our MAC
    const share = this.share && existsSync(this.share.dir) ? this.share : undefined
    if (this.share && !share) ctx.log.debug(`${this.share.dir} does not exist: nothing shared`)
    const hostKey = await generateHostKey(`${this.name}-host-key`)
    const instanceId = `machine-${randomUUID()}`
    await journal.record({ kind: 'file', id: f.seed })
    const seedSpec = {
      machineName: this.name,
      user: this.o.sshUser,
      authorizedKey: key.publicKey,
      hostKey,
      mac: this.mac,
      ...(share ? { share: { name: share.name, guestPath: SHARE_GUEST_PATH } } : {}),
    }
    // The seed holds the host's private key: owner-only, like id_rsa.
    await writeFile(f.seed, buildNoCloudSeed({ userData: userData(seedSpec), networkConfig: networkConfig(seedSpec), instanceId, hostname: this.name }), { mode: 0o600 })
    ctx.config.SSHHostKeys = [hostKey.publicKey]
    ctx.config.InstanceId = instanceId
    signal.throwIfAborted()

    // 2. the .vmx, in docker-machine's order (then the disk it names)
    const cpus = this.o.cpuCount < 1 ? Math.min(hostCpus().length || 1, 16) : this.o.cpuCount
    const vmx = renderVmx({
      arch,
      displayName: this.name,
      cpus,
      memoryMb: this.o.memorySize,
      networkType: this.o.networkType,
      macAddress: this.mac,
      diskFile: `${this.name}.vmdk`,
      seedFile: 'seed.iso',
      consoleFile: 'console.log',
      ...(share ? { share: { hostPath: share.dir, guestName: share.name } } : {}),
    })
    await journal.record({ kind: 'vm', id: f.vmx })
    await writeFile(f.vmx, vmx, { mode: 0o600, flag: 'wx' })

    // 3. the disk
    await journal.record({ kind: 'file', id: f.descriptor })
    await journal.record({ kind: 'disk', id: f.disk })
    await makeDisk(this.tools, { image: image.path, dest: f.disk, descriptor: f.descriptor, sizeMb: this.o.diskSize, arch, log: ctx.log, signal })
    signal.throwIfAborted()

    // 4. boot, and the address
    await this.vmrun(['start', f.vmx, 'nogui'], { signal })
    ctx.config.IPAddress = await this.waitForAddress()
  }

  async state(): Promise<MachineState> {
    if (!existsSync(this.files.vmx)) {
      throw new MachineError('vm-not-found', `The VMware VM of "${this.name}" is gone (${this.files.vmx} does not exist)`, {
        hint: `it was removed outside machine: run "machine rm ${this.name}" to forget it`,
      })
    }
    // vmrun list names only the VMs that run (a paused one too); a suspended VM is known by its
    // state file, which the .vmx names (saved-state.ts).
    if (await this.running()) return 'Running'
    return hasSavedState(this.files.vmx) ? 'Saved' : 'Stopped'
  }

  /**
   * `vmrun start` boots a stopped VM and resumes a suspended one (VMware then deletes the state).
   * Either way the address is asked again (a resumed guest keeps its DHCP lease, but VMware may
   * have handed the address to another VM meanwhile); after a resume, the guest's clock is set.
   * Nothing else of a boot applies: the driver changes no setting at start.
   */
  async start(): Promise<void> {
    const st = await this.state()
    if (st === 'Running') return
    const resuming = st === 'Saved'
    if (resuming) this.ctx.log.info(`Resuming "${this.name}" from its saved state`)
    try {
      await this.vmrun(['start', this.files.vmx, 'nogui'], { signal: this.ctx.signal })
    } catch (e) {
      // VMware may refuse a state (saved by another version, on another processor): the way out is to boot.
      if (!(resuming && e instanceof VmwareToolError)) throw e
      throw new MachineError('resume-failed', `"${this.name}" could not be resumed: ${e.message}`, {
        hint: e.hint ?? `run "machine stop ${this.name}" to discard its saved state, then "machine start ${this.name}" boots it`,
      })
    }
    this.ctx.config.IPAddress = await this.waitForAddress({ quiet: resuming })
    if (resuming) await resyncClockAfterResume(this.ctx, await this.sshInfo(), envMs(this.ctx.env, 'MACHINE_VMWARE_CLOCK_SYNC_MS', 30_000, { min: 1 }))
  }

  /**
   * Soft (the guest shuts down: VMware Tools or ACPI), bounded; then hard. With `save`, the VM is
   * suspended instead (suspend). A Saved VM's state is discarded: its next start boots.
   */
  async stop(o: StopOptions = {}): Promise<void> {
    const st = await this.state()
    if (st === 'Saved' && !o.save) return this.discardState()
    if (st !== 'Running') return
    if (o.save) return this.suspend()
    const timeoutMs = envMs(this.ctx.env, 'MACHINE_VMWARE_STOP_TIMEOUT_MS', 120_000, { min: 1 })
    this.ctx.log.info(`Shutting down "${this.name}"`)
    try {
      await this.vmrun(['stop', this.files.vmx, 'soft'], { timeoutMs, signal: this.ctx.signal })
      return
    } catch (e) {
      if (!(e instanceof VmwareToolError)) throw e
      if (e.notPoweredOn) return
      this.ctx.log.info(e.timedOut ? `"${this.name}" did not shut down within ${Math.round(timeoutMs / 1000)} s: powering it off` : `A soft stop failed (${e.message}): powering "${this.name}" off`)
    }
    await this.hardStop()
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  async kill(): Promise<void> {
    const st = await this.state()
    // A saved state is a running VM's too: killed, it goes (the next start boots afresh).
    if (st === 'Saved') return this.discardState()
    if (st === 'Running') await this.hardStop()
  }

  /**
   * `stop --save`: `vmrun suspend <vmx> hard`, which returns once VMware has written the state.
   * Hard, not soft: a soft suspend needs VMware Tools running in the guest (cloud-init installs
   * them last, and a host-only guest may never get them) and then runs the guest's suspend
   * scripts, whose default takes the guest's network down before the save and brings it up
   * after the resume. A hard suspend saves the guest as it is, network and lease included; the
   * start after it asks the address again and sets the clock. A VM paused in VMware's window
   * (vmrun list names it as running) is suspended as it is, not resumed first.
   */
  private async suspend(): Promise<void> {
    const timeoutMs = envMs(this.ctx.env, 'MACHINE_VMWARE_SAVE_TIMEOUT_MS', 300_000, { min: 1 })
    await flushGuestDisks(this.ctx, await this.sshInfo(), envMs(this.ctx.env, 'MACHINE_VMWARE_SYNC_TIMEOUT_MS', 15_000, { min: 1 }))
    this.ctx.log.info(`Saving the state of "${this.name}" beside ${this.files.vmx}`)
    try {
      await this.vmrun(['suspend', this.files.vmx, 'hard'], { timeoutMs, signal: this.ctx.signal })
    } catch (e) {
      if (!(e instanceof VmwareToolError)) throw e
      throw new MachineError('save-failed', `The state of "${this.name}" could not be saved: ${e.message}`, {
        hint: e.hint ?? `run "machine stop ${this.name}" to power it off instead`,
      })
    }
  }

  /** Drop a Saved VM's state (stop without --save, kill, rm): its next start boots afresh. */
  private async discardState(): Promise<void> {
    this.ctx.log.info(`Discarding the saved state of "${this.name}": its next start boots it afresh`)
    await discardSavedState(this.files.vmx)
  }

  private async hardStop(): Promise<void> {
    try {
      await this.vmrun(['stop', this.files.vmx, 'hard'])
    } catch (e) {
      if (!(e instanceof VmwareToolError && e.notPoweredOn)) throw e
    }
  }

  async remove(journal: Journal): Promise<void> {
    const f = this.files
    if (existsSync(f.vmx)) {
      try {
        if (await this.running()) await this.hardStop()
        // A suspended VM's state goes first: deleteVM is for a VM that is powered off.
        else await discardSavedState(f.vmx)
        // deleteVM removes the VM's own files (.vmx, its disks, .nvram, .vmsd, logs) and forgets it in VMware's library.
        await this.vmrun(['deleteVM', f.vmx])
      } catch (e) {
        // A .vmx VMware cannot open (a create cut short before its disk existed), or VMware
        // uninstalled since (then no VM of it can run): our files go below all the same.
        const gone = e instanceof VmwareToolError ? e.notFound : e instanceof MachineError && e.code === 'vmware-not-found'
        if (!gone) throw e
        this.ctx.log.debug(`VMware: ${(e as Error).message}`)
      }
    }
    for (const e of [...journal.entries()].reverse()) {
      if (e.kind === 'file' || e.kind === 'disk' || e.kind === 'vm') await rm(e.id, { force: true })
      await journal.forget(e.kind, e.id)
    }
    // Whatever the journal no longer lists (it is cleared after a create), and VMware's leftovers beside the .vmx.
    const leftovers = ['vmsd', 'vmxf', 'nvram', 'vmss', 'vmem', 'vmx.lck', 'vmdk.lck'].map((x) => join(this.ctx.machineDir, `${this.name}.${x}`))
    await Promise.all([...Object.values(f), ...leftovers, join(this.ctx.machineDir, 'vmware.log')].map((p) => rm(p, { force: true, recursive: true })))
  }

  /**
   * The guest's address: vmrun getGuestIPAddress -wait (bounded by --vmware-wait-ip), else the
   * vmnet DHCP files; asked again until MACHINE_VMWARE_IP_TIMEOUT_MS (120 s, docker-machine's
   * 60 tries of 2 s). docker-machine's own vmrun wait had no bound (its issue 4328).
   */
  private async waitForAddress(o: { quiet?: boolean } = {}): Promise<string> {
    const timeoutMs = envMs(this.ctx.env, 'MACHINE_VMWARE_IP_TIMEOUT_MS', 120_000, { min: 1 })
    const deadline = Date.now() + timeoutMs
    // After a boot, a progress line; `machine ip` prints only the address.
    if (!o.quiet) this.ctx.log.info(`Waiting for "${this.name}" to get an address`)
    for (;;) {
      const ip = await this.currentAddress(Math.max(1, Math.min(this.o.waitIp, deadline - Date.now())))
      if (ip) return ip
      if (Date.now() >= deadline) {
        throw new MachineError('no-address', `"${this.name}" got no IP address within ${Math.round(timeoutMs / 1000)} s`, {
          hint:
            this.o.networkType === 'bridged'
              ? 'a bridged guest gets its address from your network\'s DHCP server, which only VMware Tools in the guest can report: check the network, or use --vmware-network-type nat'
              : `check the VM's console (${this.files.console}) and that VMware's ${this.o.networkType} network (vmnet) has DHCP on`,
        })
      }
      await sleep(Math.min(this.pollMs, Math.max(1, deadline - Date.now())), this.ctx.signal)
    }
  }

  /** One try: vmrun (bounded by waitMs), then the DHCP files by our MAC. */
  private async currentAddress(waitMs: number): Promise<string | undefined> {
    try {
      const ip = parseGuestIp((await this.vmrun(['getGuestIPAddress', this.files.vmx, '-wait'], { timeoutMs: waitMs, signal: this.ctx.signal })).stdout)
      if (ip) return ip
    } catch (e) {
      if (!(e instanceof VmwareToolError)) throw e
      this.ctx.log.debug(`vmrun getGuestIPAddress: ${e.message}`)
    }
    if (!this.mac) return undefined
    return addressFromDhcpFiles((this.deps.dhcpFiles ?? (() => dhcpFiles(this.platform, this.ctx.env)))(), this.mac)
  }

  async ip(): Promise<string> {
    if ((await this.state()) !== 'Running') {
      throw new MachineError('not-running', `"${this.name}" is not running: it has no address`, { hint: `start it with "machine start ${this.name}"` })
    }
    const ip = await this.waitForAddress({ quiet: true })
    this.ctx.config.IPAddress = ip
    return ip
  }

  async sshInfo(): Promise<SshInfo> {
    const c = this.ctx.config
    const host = typeof c.IPAddress === 'string' && c.IPAddress ? c.IPAddress : await this.ip()
    return savedSshInfo(this.ctx, { host, port: Number(c.SSHPort ?? SSH_PORT), user: String(c.SSHUser || this.o.sshUser) })
  }

  async engineUrl(): Promise<string> {
    return `tcp://${await this.ip()}:${this.enginePort()}`
  }

  enginePort(): number {
    return Number(this.ctx.config.EnginePort ?? ENGINE_PORT)
  }
}
