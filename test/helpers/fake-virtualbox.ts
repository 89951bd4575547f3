/**
 * VirtualBox for tests on a host without it: the fake `VBoxManage` (fake-vboxmanage.ts) on PATH,
 * and a fake "hypervisor" that runs the guests of the VMs it marks running.
 *
 * Why the guests run here and not in processes the fake VBoxManage spawns: the real VBoxManage is
 * only a client too; VBoxSVC/VBoxHeadless run the VMs. Playing that part inside the test process
 * lets the guest reuse the project's own test doubles unchanged (the chroot "host" behind a real
 * OpenSSH sshd, the TLS engine stand-in), and whatever happens to a test, vitest's clean-up stops
 * them: no detached process can outlive a run. The fake's `controlvm poweroff` still returns
 * only once the guest is down, as the real one does, by waiting for this hypervisor's word.
 *
 * A guest, when its VM starts: reads the cloud-init NoCloud seed the driver attached as a DVD
 * (user, authorized key, SSH host key, bootcmd), runs the seed's bootcmd as root inside a chroot
 * host (test/helpers/chroot-host.ts; a `cloud-init-per` stand-in included, so the engine
 * bootstrap installs its TLS files at first boot as on a real guest), starts the engine when it
 * is enabled, then serves the chroot with a real sshd on the host port of the VM's NAT rule to
 * guest port 22, with exactly that host key and user. Whenever the engine in it runs
 * (`systemctl`'s state, as the stubs keep it) with TLS files in /etc/docker, the engine stand-in
 * listens on the host port forwarded to guest port 2376 with those files, as dockerd would. Power off: engine and sshd stop, the chroot (the
 * VM's disk) stays; the next start serves it again. Save (`controlvm savestate`): sshd and the
 * engine stand-in stop but the guest's engine stays active, and the next start resumes it (event
 * "resume NAME": no bootcmd, no "boot"); `discardstate` powers it off instead. NAT forwards moved
 * on a running VM (`controlvm natpf1`) are served on their new ports. Unregister: the chroot goes.
 */
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Client } from 'ssh2'
import { fakeCliDir } from './fake-cli.js'
import { boot, firstSeed, hypervisorLoop, powerOff, syncEngine, type Guest, type SeedInfo } from './fake-guest.js'
import { FAKE_VBOXMANAGE, readState, setVmState, withState, type FakeVBoxState, type Vm } from './fake-vboxmanage.js'
import { portOpen, rawImage as vmImage } from './local-vm.js'
import { type TempScope } from './tmp.js'

export { portOpen }

export type { Guest, SeedInfo }

export interface FakeVirtualBox {
  /** The fake's state directory (state.json, calls.log, networks.conf). */
  home: string
  /** Directory holding the `VBoxManage` wrapper: first on PATH. */
  binDir: string
  /** Environment for the CLI or a driver: PATH with the fake first. */
  env: NodeJS.ProcessEnv
  state(): FakeVBoxState
  /** Every VBoxManage argv so far, oldest first. */
  calls(): string[][]
  /** Run the fake VBoxManage as the CLI does (a process through the wrapper). */
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>
}

export interface FakeVirtualBoxOptions {
  /** Text of the fake's /etc/vbox/networks.conf (the host-only ranges allowed). */
  networksConf?: string
  scope?: TempScope
}

export async function fakeVirtualBox(o: FakeVirtualBoxOptions = {}): Promise<FakeVirtualBox> {
  // Linux packages install both spellings.
  const cli = await fakeCliDir({ prefix: 'machine-vbox-', scope: o.scope, script: FAKE_VBOXMANAGE, homeVar: 'FAKE_VBOX_HOME', tools: { VBoxManage: {}, vboxmanage: {} } })
  if (o.networksConf !== undefined) await writeFile(join(cli.home, 'networks.conf'), o.networksConf)
  return {
    home: cli.home,
    binDir: cli.binDir,
    env: { PATH: cli.path },
    state: () => readState(cli.home),
    calls: () => cli.calls<string[]>(),
    run: (args, env) => cli.run('VBoxManage', args, env),
  }
}

/** The cloud-init NoCloud seed among a VM's DVDs, read as cloud-init would (volume "cidata"). */
export const readSeed = (vm: Vm): SeedInfo | undefined =>
  firstSeed(
    Object.values(vm.attachments)
      .filter((a) => a.type === 'dvddrive' && a.medium !== 'emptydrive')
      .map((a) => a.medium),
  )

/** The host port of a VM's NAT rule to `guestPort` (NIC 1..8). */
export function forwardedPort(vm: Vm, guestPort: number): number | undefined {
  for (const nic of Object.values(vm.nics)) {
    if (nic.type !== 'nat') continue
    const r = nic.natpf.find((x) => x.guestPort === guestPort && x.proto === 'tcp')
    if (r) return r.hostPort
  }
  return undefined
}

export interface FakeHypervisor {
  /** The guests by VM uuid (running or only a disk). */
  guests: Map<string, Guest>
  /** What happened, oldest first ("boot NAME", "engine NAME", "poweroff NAME", "save NAME", "resume NAME", "discard NAME", "no seed NAME"...). */
  events: string[]
  /** Resolve once every running VM's guest is up and every other one down (bounded). */
  settled(timeoutMs?: number): Promise<void>
  /** The VM process of `name` dies (VirtualBox then shows VMState "aborted"); its guest goes down. */
  crash(name: string): Promise<void>
  stop(): Promise<void>
}

/** Run the guests of the fake's VMs until stop() (or the end of the test file). */
export function startHypervisor(vbox: FakeVirtualBox): FakeHypervisor {
  const live = (vm: Vm): boolean => vm.state === 'running' || vm.state === 'paused'

  // The guests the fake's `controlvm poweroff` waits for, in the fake's state.
  const publish = (): void => {
    if (!existsSync(vbox.home)) return
    const running = [...loop.guests].filter(([, g]) => g.up)
    const up = running.map(([uuid]) => uuid)
    const sshPorts = Object.fromEntries(running.map(([uuid, g]) => [uuid, g.sshPort ?? null]))
    withState(vbox.home, (s) => {
      if (loop.stopped) delete s.hypervisor
      else s.hypervisor = { pid: process.pid, up, sshPorts }
    })
  }

  const halt = async (g: Guest, name: string, events: string[]): Promise<void> => {
    await powerOff(g)
    events.push(`poweroff ${name}`)
  }

  // Guests whose VM is saved (by uuid): their memory is in the saved state, so a start resumes
  // them where they were (no boot: no bootcmd, the engine still running) until it is discarded.
  const saved = new Set<string>()

  const loop = hypervisorLoop(async (guests, events) => {
    const s = readState(vbox.home)
    let changed = false
    for (const vm of s.vms) {
      const g = guests.get(vm.uuid)
      if (live(vm) && g && !g.up && saved.has(vm.uuid)) {
        // startvm of a saved VM: the guest carries on, served again on the VM's forwards as they are now.
        saved.delete(vm.uuid)
        g.sshPort = forwardedPort(vm, 22)
        g.enginePort = forwardedPort(vm, 2376)
        // A forward whose host port was taken meanwhile does not bind (VirtualBox's libslirp-based
        // NAT logs it and runs on): the guest runs, unreachable there until the forward is moved.
        await g.disk.up(g.sshPort).catch(() => events.push(`ssh port taken ${vm.name}`))
        g.up = true
        events.push(`resume ${vm.name}`)
        changed = true
      } else if (live(vm) && !g?.up) {
        // The seed is read at every boot (cloud-init's bootcmd runs at every boot).
        const seed = readSeed(vm)
        if (!seed) {
          if (!events.includes(`no seed ${vm.name}`)) events.push(`no seed ${vm.name}`)
        } else {
          guests.set(vm.uuid, await boot(g, seed, { hostname: vm.name, sshPort: forwardedPort(vm, 22), enginePort: forwardedPort(vm, 2376), bootcmd: { events } }))
          events.push(`boot ${vm.name}`)
        }
        changed = true
      } else if (vm.state === 'saved' && g?.up) {
        // savestate: the guest stops where it is; its engine is only frozen (its service stays active).
        await g.engine?.stop()
        g.engine = undefined
        await g.disk.down()
        g.up = false
        saved.add(vm.uuid)
        events.push(`save ${vm.name}`)
        changed = true
      } else if (!live(vm) && vm.state !== 'saved' && saved.delete(vm.uuid) && g) {
        // discardstate: what the saved state held is gone, as after pulling the plug.
        await powerOff(g)
        events.push(`discard ${vm.name}`)
        changed = true
      } else if (!live(vm) && g?.up) {
        await halt(g, vm.name, events)
        changed = true
      }
      // The NAT forwards of a running VM moved (controlvm natpf1): served on the new ports.
      if (live(vm) && g?.up && !saved.has(vm.uuid) && (g.sshPort !== forwardedPort(vm, 22) || g.enginePort !== forwardedPort(vm, 2376))) {
        g.sshPort = forwardedPort(vm, 22)
        g.enginePort = forwardedPort(vm, 2376)
        await g.engine?.stop()
        g.engine = undefined
        await g.disk.down()
        // No SSH forward (deleted before its new one is added): nothing reaches sshd meanwhile.
        if (g.sshPort !== undefined) await g.disk.up(g.sshPort)
        events.push(`forwards ${vm.name}`)
        changed = true
      }
      const now = guests.get(vm.uuid)
      if (now && (await syncEngine(now))) events.push(`engine ${vm.name}`)
    }
    for (const [uuid, g] of guests) {
      if (s.vms.some((v) => v.uuid === uuid)) continue
      // Unregistered: its disk goes with it.
      if (g.up) await halt(g, uuid, events)
      await g.disk.stop()
      guests.delete(uuid)
      saved.delete(uuid)
      events.push(`unregister ${uuid}`)
      changed = true
    }
    if (changed || s.hypervisor?.pid !== process.pid) publish()
  }, publish)

  const hv: FakeHypervisor = {
    guests: loop.guests,
    events: loop.events,
    settled: (timeoutMs = 20_000) =>
      loop.until(() => {
        const s = readState(vbox.home)
        return (
          s.vms.every((vm) => {
            const g = loop.guests.get(vm.uuid)
            // A VM no longer saved (discardstate) has settled once its saved guest was dropped.
            if (!live(vm)) return !g?.up && (vm.state === 'saved' || !saved.has(vm.uuid))
            return g?.up ?? !readSeed(vm)
          }) && [...loop.guests.keys()].every((u) => s.vms.some((v) => v.uuid === u))
        )
      }, timeoutMs),
    async crash(name) {
      withState(vbox.home, (s) => {
        const vm = s.vms.find((v) => v.name === name)
        if (!vm || !live(vm)) throw new Error(`crash: ${name} is not running`)
        setVmState(vm, 'aborted')
      })
      await hv.settled()
    },
    stop: () => loop.stop(),
  }
  return hv
}

/** A small raw "cloud image" (the guest is the fake's chroot; only its bytes are converted). */
export const rawImage = (): Promise<string> => vmImage('machine-vbox-image-')

/** Short polls and bounded waits for the CLI on the fake (it answers at once). */
export const FAST = { MACHINE_POLL_INTERVAL_MS: '100', MACHINE_VBOX_STOP_TIMEOUT_MS: '20000', FAKE_VBOX_ACPI_MS: '300' }

/** Run `cmd` over SSH on 127.0.0.1:`port` as `user`, accepting only the host key `hostKeyPub`; its stdout. */
export function sshExec(port: number, user: string, keyPath: string, hostKeyPub: string, cmd: string): Promise<string> {
  const pinned = Buffer.from(hostKeyPub.split(/\s+/)[1]!, 'base64')
  return new Promise((resolve, reject) => {
    const c = new Client()
    c.on('ready', () =>
      c.exec(cmd, (err, stream) => {
        if (err) return reject(err)
        let out = ''
        stream.on('data', (d: Buffer) => (out += d.toString()))
        stream.on('close', () => {
          c.end()
          resolve(out)
        })
      }),
    )
    c.on('error', reject)
    c.connect({ host: '127.0.0.1', port, username: user, privateKey: readFileSync(keyPath), hostVerifier: (key: Buffer) => key.equals(pinned), readyTimeout: 10_000 })
  })
}
