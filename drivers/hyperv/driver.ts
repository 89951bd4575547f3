/**
 * The hyperv driver's lifecycle. A machine is a generation 2 Hyper-V VM named like the machine:
 *   <machineDir>/hyperv/<name>/Virtual Machines/…   Hyper-V's own files (New-VM -Path <machineDir>/hyperv)
 *   <machineDir>/disk.vhdx    the cloud image made into a dynamic VHDX and grown (vhd.ts)
 *   <machineDir>/disk.vhd     the fixed VHD made from a raw image on the way (deleted after)
 *   <machineDir>/seed.iso     the cloud-init NoCloud seed, on a DVD drive
 * Its one network adapter is on a virtual switch (the first External one unless told); the guest
 * gets its address by DHCP there, and the driver reads it from the adapter (integration
 * services), IPv4 first, with a bound. SSH on 22 with a host key generated here and pinned
 * before the first connection; the engine on 2376.
 * Every PowerShell call goes through one injected runner (powershell.ts), with one of the fixed
 * scripts of scripts.ts.
 * `stop --save` is Hyper-V's own Save-VM (the state file in Hyper-V's folder of the VM, under
 * <machineDir>/hyperv/); Start-VM resumes it; Remove-VMSavedState drops it.
 */
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { isAbsolute, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { localGuestConfig, renderCloudConfig } from '../../src/driver-kit/cloud-init.js'
import type { Driver, DriverContext, Journal, MachineState, SshInfo, StopOptions } from '../../src/driver-kit/contract.js'
import { LocalVmDriver } from '../../src/driver-kit/local-driver.js'
import { formatEngineUrl } from '../../src/driver-kit/engine-url.js'
import { resyncClockAfterResume } from '../../src/driver-kit/guest-clock.js'
import { flushGuestDisks } from '../../src/driver-kit/guest-session.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { resolveImage } from '../../src/driver-kit/image-cache.js'
import { ensureMachineSshKey, generateHostKey } from '../../src/driver-kit/keys.js'
import { guestPort } from '../../src/driver-kit/ports.js'
import { buildNoCloudSeed } from '../../src/driver-kit/seed-image.js'
import { savedSshInfo } from '../../src/driver-kit/ssh-info.js'
import { envMs, pollIntervalMs, sleep } from '../../src/driver-kit/wait.js'
import { normalizeMac, type options } from './options.js'
import { machineState, parseAddresses, parseProbe, parseSwitches, parseVm, pickAddress, type VmInfo } from './parse.js'
import { ADMIN_FIX, MODULE_FIX, PowerShellError, powershellAt, powershellPath, type PowerShell } from './powershell.js'
import { MB, scripts } from './scripts.js'
import { imageKind, rawToFixedVhd } from './vhd.js'

export const ENGINE_PORT = 2376
export const SSH_PORT = 22
export const SSH_USER = 'docker'
export const FILES = { vhd: 'disk.vhd', disk: 'disk.vhdx', seed: 'seed.iso' } as const
/** The folder New-VM -Path is given: Hyper-V puts <name>/Virtual Machines/… in it. A fixed name, so rm deletes nothing else. */
export const VM_DIR = 'hyperv'
export const IMAGE_FLAGS = { image: '--hyperv-image', checksum: '--hyperv-image-checksum' }

/** Converting a 2 GB image takes a while on a slow disk: a bound, but a generous one. */
const DISK_TIMEOUT_MS = 30 * 60_000

export const NO_EXTERNAL_SWITCH_HINT =
  'make one as administrator: New-VMSwitch -Name "External" -NetAdapterName (Get-NetAdapter -Physical | Where-Object Status -eq Up | Select-Object -First 1).Name -AllowManagementOS $true; ' +
  'or pass --hyperv-virtual-switch "Default Switch" (NAT: the machine is reachable from this computer only, and its address changes when Windows restarts: the certificates are then remade on start)'

export interface HyperVDeps {
  ps?: PowerShell
  platform?: NodeJS.Platform
}

export function createDriver(ctx: DriverContext<typeof options>): Driver {
  return new HyperVDriver(ctx)
}

export class HyperVDriver extends LocalVmDriver<typeof options, HyperVDeps> implements Driver {
  private runner: PowerShell | undefined

  constructor(ctx: DriverContext<typeof options>, deps: HyperVDeps = {}) {
    super(ctx, deps)
    this.runner = deps.ps
  }

  // ---- settings (ctx, deps, o, name: LocalVmDriver) -------------------------------------------

  private path(f: keyof typeof FILES): string {
    return join(this.ctx.machineDir, FILES[f])
  }
  private get pollMs(): number {
    return pollIntervalMs(this.ctx.env, 2000)
  }
  /** powershell.exe, found on first use (so `ls` of a stopped machine fails only when it must ask Hyper-V). */
  private get ps(): PowerShell {
    this.runner ??= powershellAt(powershellPath(this.ctx.env), (l) => this.ctx.log.debug(l), this.ctx.env)
    return this.runner
  }

  /** Get-VM's answer, or undefined when Hyper-V says it has no VM of this name. */
  private async vm(): Promise<VmInfo | undefined> {
    try {
      return parseVm((await this.ps(scripts.vm(this.name))).stdout)
    } catch (e) {
      if (e instanceof PowerShellError && e.notFound) return undefined
      throw e
    }
  }

  /** Hyper-V keeps the VM's files under this machine's directory: it is ours to delete. */
  private isOurs(vm: VmInfo): boolean {
    if (!vm.path) return true
    // Hyper-V answers with Windows paths; compare case-insensitively there.
    const norm = (p: string) => (this.platform === 'win32' ? resolve(p).toLowerCase() : resolve(p))
    return (norm(vm.path) + sep).startsWith(norm(this.ctx.machineDir) + sep)
  }

  // ---- Driver --------------------------------------------------------------------------------

  async preCreateCheck(): Promise<void> {
    const probe = parseProbe((await this.ps(scripts.probe())).stdout)
    if (!probe.module) throw new MachineError('hyperv-missing', 'The Hyper-V PowerShell module is not installed', { hint: MODULE_FIX })
    if (!probe.administrator && !probe.hyperVAdministrator) {
      throw new MachineError('hyperv-not-admin', 'Hyper-V commands need a member of "Hyper-V Administrators" or an administrator', { hint: ADMIN_FIX })
    }
    this.ctx.config.VSwitch = await this.chooseSwitch()
    if (await this.vm()) {
      throw new MachineError('vm-exists', `Hyper-V already has a VM named "${this.name}"`, { hint: 'choose another machine name, or remove that VM in Hyper-V Manager' })
    }
    const image = this.o.image
    if (image && !/^https?:\/\//i.test(image)) {
      const p = image.startsWith('file:') ? fileURLToPath(image) : isAbsolute(image) ? image : resolve(image)
      if (!existsSync(p)) throw new MachineError('image-not-found', `--hyperv-image ${image} does not exist`)
    }
  }

  /** The switch asked for (it must exist), else the first External one (docker-machine's default). */
  private async chooseSwitch(): Promise<string> {
    const switches = parseSwitches((await this.ps(scripts.switches())).stdout)
    const wanted = this.o.virtualSwitch ?? ''
    const listed = switches.length ? `; the switches here: ${switches.map((s) => `"${s.name}" (${s.type})`).join(', ')}` : ''
    if (wanted) {
      const found = switches.find((s) => s.name === wanted) ?? switches.find((s) => s.name.toLowerCase() === wanted.toLowerCase())
      if (!found) throw new MachineError('switch-not-found', `Hyper-V has no virtual switch named "${wanted}"${listed}`, { hint: `give one of them with --hyperv-virtual-switch, or ${NO_EXTERNAL_SWITCH_HINT.replace(/^make one/, 'make an External one')}` })
      return found.name
    }
    const external = switches.find((s) => s.type === 'External')
    if (!external) throw new MachineError('no-external-switch', `Hyper-V has no External virtual switch${listed}`, { hint: NO_EXTERNAL_SWITCH_HINT })
    return external.name
  }

  async create(journal: Journal): Promise<void> {
    const { ctx } = this
    const { signal } = ctx
    const switchName = String(ctx.config.VSwitch || (await this.chooseSwitch()))
    const key = await ensureMachineSshKey(ctx.machineDir, `machine-${this.name}`)
    ctx.config.SSHKeyPath = key.path
    ctx.config.SSHUser = SSH_USER
    // docker-machine's SSHPort; both may be moved for a guest reached through a forward (and for the test doubles).
    ctx.config.SSHPort = guestPort(ctx.env, 'MACHINE_HYPERV_SSH_PORT', SSH_PORT)
    ctx.config.EnginePort = guestPort(ctx.env, 'MACHINE_HYPERV_ENGINE_PORT', ENGINE_PORT)
    signal.throwIfAborted()

    // 1. the disk: the verified image → (a fixed VHD) → a dynamic VHDX, grown
    const image = await resolveImage({ image: this.o.image, checksum: this.o.imageChecksum ?? '', cacheDir: join(ctx.storePath, 'cache'), log: ctx.log, signal, flags: IMAGE_FLAGS })
    const disk = this.path('disk')
    const kind = await imageKind(image.path)
    if (kind === 'qcow2') {
      throw new MachineError('bad-image', `Hyper-V cannot read the qcow2 image ${image.path}`, {
        hint: 'give a raw, VHD or VHDX image with --hyperv-image (Debian and Ubuntu publish .raw/.img images next to their qcow2; or convert it once with "qemu-img convert -O vhdx IN OUT.vhdx")',
      })
    }
    let source = image.path
    let imageBytes: number | undefined
    if (kind === 'raw') {
      source = this.path('vhd')
      await journal.record({ kind: 'file', id: source })
      ctx.log.info('Making a VHD of the image')
      imageBytes = await rawToFixedVhd(image.path, source, signal)
    }
    await journal.record({ kind: 'file', id: disk })
    ctx.log.info('Converting it to a dynamic VHDX')
    await this.ps(scripts.convertVhd(source, disk), { timeoutMs: DISK_TIMEOUT_MS, signal })
    if (source !== image.path) {
      await rm(source, { force: true })
      await journal.forget('file', source)
    }
    // Resize-VHD only grows (shrinking is another operation): an image already as large is kept as it is.
    if (imageBytes !== undefined && imageBytes >= this.o.diskSize * MB) ctx.log.info(`The image is ${Math.round(imageBytes / MB)} MB, not smaller than --hyperv-disk-size ${this.o.diskSize}: using ${Math.round(imageBytes / MB)} MB`)
    else await this.ps(scripts.resizeVhd(disk, this.o.diskSize), { timeoutMs: DISK_TIMEOUT_MS, signal })
    ctx.config.DiskPath = disk

    // 2. the seed: our user and key, a pinned host key
    const hostKey = await generateHostKey(`${this.name}-host-key`)
    const seed = this.path('seed')
    const instanceId = `machine-${randomUUID()}`
    await journal.record({ kind: 'file', id: seed })
    const cfg = localGuestConfig({ user: SSH_USER, authorizedKey: key.publicKey, hostname: this.name, hostKey })
    // Hyper-V learns the guest's address only from the KVP daemon (hv_kvp_daemon), which cloud
    // images leave out: installed on first boot (Debian and Ubuntu call the package this).
    cfg.packages = ['hyperv-daemons']
    // The seed holds the host's private key: owner-only, like id_rsa.
    await writeFile(seed, buildNoCloudSeed({ userData: renderCloudConfig(cfg), instanceId, hostname: this.name }), { mode: 0o600 })
    ctx.config.SSHHostKeys = [hostKey.publicKey]
    ctx.config.InstanceId = instanceId
    signal.throwIfAborted()

    // 3. the VM, in docker-machine's order
    await journal.record({ kind: 'vm', id: this.name })
    await this.ps(scripts.newVm(this.name, join(ctx.machineDir, VM_DIR), this.o.memory, disk, switchName), { signal })
    await this.ps(scripts.setVm(this.name, this.o.cpuCount), { signal })
    await this.ps(scripts.setMemory(this.name, !this.o.disableDynamicMemory), { signal })
    await this.ps(scripts.setFirmware(this.name), { signal })
    const mac = this.o.staticMacaddress ? normalizeMac(this.o.staticMacaddress) : undefined
    if (mac) await this.ps(scripts.setMac(this.name, mac), { signal })
    if (this.o.vlanId > 0) await this.ps(scripts.setVlan(this.name, this.o.vlanId), { signal })
    await this.ps(scripts.addDvd(this.name, seed), { signal })

    // 4. boot, and the address the guest gets
    await this.ps(scripts.start(this.name), { signal })
    await this.waitForAddress()
  }

  /** The guest's address from its adapter, bounded (docker-machine waited forever: its issues 3832, 4328); saved as IPAddress. */
  private async waitForAddress(): Promise<string> {
    const timeoutMs = envMs(this.ctx.env, 'MACHINE_HYPERV_IP_TIMEOUT_MS', 300_000, { min: 1 })
    const deadline = Date.now() + timeoutMs
    this.ctx.log.info(`Waiting for "${this.name}" to get an address on "${String(this.ctx.config.VSwitch ?? '')}"`)
    for (;;) {
      const ip = pickAddress(parseAddresses((await this.ps(scripts.addresses(this.name), { signal: this.ctx.signal })).stdout))
      if (ip) {
        this.ctx.config.IPAddress = ip
        return ip
      }
      const vm = await this.vm()
      const st = vm ? machineState(vm.state) : ''
      if (st !== 'Running' && st !== 'Starting') {
        throw new MachineError('vm-stopped', `The Hyper-V VM "${this.name}" is ${vm?.state ?? 'gone'} instead of running`, { hint: 'look at its console in Hyper-V Manager (a firmware or secure boot failure shows there)' })
      }
      if (Date.now() >= deadline) {
        throw new MachineError('no-address', `"${this.name}" got no IP address on the switch "${String(this.ctx.config.VSwitch ?? '')}" within ${Math.round(timeoutMs / 1000)} s`, {
          hint: 'an External switch needs a DHCP server on its network (with --hyperv-vlan-id, on that VLAN; "Default Switch" always has one), and the guest reports its address only once cloud-init has installed hyperv-daemons from its package mirror: see the VM\'s console in Hyper-V Manager',
        })
      }
      await sleep(Math.min(this.pollMs, Math.max(1, deadline - Date.now())), this.ctx.signal)
    }
  }

  async state(): Promise<MachineState> {
    const vm = await this.vm()
    if (!vm) {
      throw new MachineError('vm-not-found', `Hyper-V has no VM named "${this.name}"`, { hint: `it was removed outside machine: run "machine rm ${this.name}" to forget it` })
    }
    return machineState(vm.state)
  }

  /**
   * Start-VM boots a stopped VM and resumes a saved one. Nothing else of create is redone: the
   * settings it made (CPUs, memory, firmware, MAC, VLAN) are the VM's own and a saved VM could
   * not take changes to them anyway. The address is read again either way (a resumed guest keeps
   * its lease, but the switch's network may have changed while it was saved), and a resumed
   * guest's clock is set from the host's: it is behind by as long as the VM was saved.
   */
  async start(): Promise<void> {
    const st = await this.state()
    const resuming = st === 'Saved'
    if (resuming) this.ctx.log.info(`Resuming "${this.name}" from its saved state`)
    if (st !== 'Running' && st !== 'Starting') await this.ps(scripts.start(this.name), { signal: this.ctx.signal })
    await this.waitForAddress()
    if (resuming) await resyncClockAfterResume(this.ctx, await this.sshInfo(), envMs(this.ctx.env, 'MACHINE_HYPERV_CLOCK_SYNC_MS', 30_000, { min: 1 }))
  }

  async stop(o: StopOptions = {}): Promise<void> {
    const st = await this.state()
    if (st === 'Stopped') return
    if (o.save) return this.save(st)
    // A saved VM is not running: stopping it means dropping the saved state (it then boots afresh).
    if (st === 'Saved') return this.discardSavedState()
    const timeoutMs = envMs(this.ctx.env, 'MACHINE_HYPERV_STOP_TIMEOUT_MS', 120_000, { min: 1 })
    this.ctx.log.info(`Shutting "${this.name}" down`)
    try {
      await this.ps(scripts.stop(this.name), { timeoutMs })
    } catch (e) {
      if (!(e instanceof PowerShellError) || e.notFound) throw e
      this.ctx.log.info(`"${this.name}" did not shut down (${e.message}): turning it off`)
      await this.ps(scripts.kill(this.name))
    }
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  /**
   * `stop --save`: Save-VM, which returns once Hyper-V has written the state (State: Saved). A
   * Paused VM is saved as it is: Hyper-V saves a paused VM directly, and resuming it first would
   * only let the guest run for a moment before being frozen again.
   */
  private async save(st: MachineState): Promise<void> {
    if (st === 'Saved') return
    if (st !== 'Running' && st !== 'Paused') {
      throw new MachineError('not-running', `"${this.name}" is ${st || 'in an unknown state'}: only a running or paused VM's state can be saved`, { hint: `wait for it to settle, or run "machine stop ${this.name}" to power it off` })
    }
    // A paused guest cannot run anything: it is saved as it is.
    if (st === 'Running') await flushGuestDisks(this.ctx, await this.sshInfo(), envMs(this.ctx.env, 'MACHINE_HYPERV_SYNC_TIMEOUT_MS', 15_000, { min: 1 }))
    this.ctx.log.info(`Saving the state of "${this.name}" (Hyper-V Save-VM)`)
    try {
      await this.ps(scripts.save(this.name), { timeoutMs: envMs(this.ctx.env, 'MACHINE_HYPERV_SAVE_TIMEOUT_MS', 300_000, { min: 1 }) })
    } catch (e) {
      if (!(e instanceof PowerShellError) || e.notFound) throw e
      const now = await this.state().catch(() => '' as MachineState)
      throw new MachineError('save-failed', `The state of "${this.name}" could not be saved (${e.message}); it is ${now || 'in an unknown state'}`, {
        hint: `run "machine stop ${this.name}" to power it off instead`,
      })
    }
  }

  /** Drop a saved VM's state explicitly: the VM is then Off and its next start boots it afresh. */
  private async discardSavedState(): Promise<void> {
    this.ctx.log.info(`Discarding the saved state of "${this.name}": its next start boots it afresh`)
    await this.ps(scripts.discardSavedState(this.name))
  }

  async kill(): Promise<void> {
    const st = await this.state()
    if (st === 'Stopped') return
    if (st === 'Saved') return this.discardSavedState()
    await this.ps(scripts.kill(this.name))
  }

  async remove(journal: Journal): Promise<void> {
    const vm = await this.vm()
    if (vm) {
      if (!this.isOurs(vm)) {
        throw new MachineError('vm-not-ours', `The Hyper-V VM "${this.name}" is not this machine's (its files are in ${vm.path}): it was left alone`, {
          hint: `remove it in Hyper-V Manager if it should go, then run "machine rm ${this.name}" again`,
        })
      }
      const st = machineState(vm.state)
      // Remove-VM takes a VM that is off: a saved one's state is dropped first, a running one turned off.
      if (st === 'Saved') await this.ps(scripts.discardSavedState(this.name))
      else if (st !== 'Stopped') await this.ps(scripts.kill(this.name))
      try {
        await this.ps(scripts.remove(this.name))
      } catch (e) {
        if (!(e instanceof PowerShellError && e.notFound)) throw e
      }
    }
    for (const e of [...journal.entries()].reverse()) {
      if (e.kind === 'file') await removeFile(e.id)
      await journal.forget(e.kind, e.id)
    }
    // Whatever the journal no longer lists (it is cleared after a create), and Hyper-V's folder.
    for (const f of Object.values(FILES)) await removeFile(join(this.ctx.machineDir, f))
    await rm(join(this.ctx.machineDir, VM_DIR), { recursive: true, force: true })
  }

  /** The address Hyper-V reports now (saved), else the one saved last. */
  async ip(): Promise<string> {
    const now = pickAddress(parseAddresses((await this.ps(scripts.addresses(this.name))).stdout))
    if (now) this.ctx.config.IPAddress = now
    const ip = now ?? (typeof this.ctx.config.IPAddress === 'string' ? this.ctx.config.IPAddress : '')
    if (!ip) throw new MachineError('no-address', `Hyper-V reports no address for "${this.name}"`, { hint: `start it with "machine start ${this.name}"` })
    return ip
  }

  async sshInfo(): Promise<SshInfo> {
    const c = this.ctx.config
    return savedSshInfo(this.ctx, { host: await this.ip(), port: Number(c.SSHPort ?? SSH_PORT) || SSH_PORT, user: String(c.SSHUser || SSH_USER) })
  }

  async engineUrl(): Promise<string> {
    return formatEngineUrl(await this.ip(), this.enginePort())
  }

  enginePort(): number {
    return Number(this.ctx.config.EnginePort ?? ENGINE_PORT) || ENGINE_PORT
  }
}

/** Delete a file Hyper-V may still hold for a moment after Remove-VM (bounded retries). */
async function removeFile(path: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rm(path, { force: true })
      return
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (attempt >= 10 || (code !== 'EBUSY' && code !== 'EPERM')) throw e
      await sleep(200 * attempt)
    }
  }
}
