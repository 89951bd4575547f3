/**
 * Hyper-V for tests on a host without Windows: the fake `powershell.exe` (fake-powershell.ts)
 * first on PATH, and a fake "hypervisor" in the test process that runs the guests of the VMs the
 * fake marks Running (fake-guest.ts, as for the VirtualBox and VMware fakes).
 *
 * A guest: once its VM runs and has the cloud-init seed on a DVD, a chroot host behind a real
 * sshd with the seed's user, authorized key and SSH host key; when provisioning has started the
 * engine with TLS files, the engine stand-in with those files. A Hyper-V guest sits on a switch at
 * its own address with SSH on 22 and the engine on 2376: the fake reports 127.0.0.1 as that
 * address (tests talk to nothing else), so the guest listens on two free ports of 127.0.0.1
 * instead, and the CLI is told them with MACHINE_HYPERV_SSH_PORT / MACHINE_HYPERV_ENGINE_PORT
 * (in `env`): test files can run in parallel, next to an sshd on port 22.
 * Power off: sshd and engine stop, the chroot (the VM's disk) stays. Remove-VM: the chroot goes.
 * Save-VM freezes the guest (sshd and engine stop, nothing in it changes: its engine stays
 * active) and a Start-VM that resumes it thaws it ("resume NAME", not "boot NAME").
 */
import { fakeCliDir } from './fake-cli.js'
import { boot, destroy, firstSeed, hypervisorLoop, powerOff, syncEngine, type Guest, type SeedInfo } from './fake-guest.js'
import { FAKE_POWERSHELL, guestAddresses, readState, type FakeHyperVState, type FakeVm } from './fake-powershell.js'
import { freePort } from './sshd.js'

export interface FakeHyperV {
  home: string
  binDir: string
  /** The guest's SSH and engine ports (on 127.0.0.1). */
  sshPort: number
  enginePort: number
  /** PATH with the fake first, the guest's ports, plus the knobs given. */
  env: NodeJS.ProcessEnv
  state(): FakeHyperVState
  /** Every call so far: the cmdlet recognised and the script body. */
  calls(): Array<{ cmdlet: string; body: string }>
  /** Run the fake as the driver does (argv, no shell). */
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>
}

export async function fakeHyperV(knobs: NodeJS.ProcessEnv = {}): Promise<FakeHyperV> {
  const cli = await fakeCliDir({ prefix: 'machine-hyperv-', script: FAKE_POWERSHELL, homeVar: 'FAKE_HYPERV_HOME', tools: { 'powershell.exe': {} } })
  const [sshPort, enginePort] = [await freePort(), await freePort()]
  const env = { PATH: cli.path, MACHINE_HYPERV_SSH_PORT: String(sshPort), MACHINE_HYPERV_ENGINE_PORT: String(enginePort), ...knobs }
  return {
    home: cli.home,
    binDir: cli.binDir,
    sshPort,
    enginePort,
    env,
    state: () => readState(cli.home),
    calls: () => cli.calls<{ cmdlet: string; body: string }>(),
    run: (args, extra = {}) => cli.run('powershell.exe', args, { ...env, ...extra }),
  }
}

/** The cloud-init NoCloud seed among a VM's DVDs, read as cloud-init would (volume "cidata"). */
export const readSeed = (vm: FakeVm): SeedInfo | undefined => firstSeed(vm.dvds)

export interface FakeHypervisor {
  events: string[]
  /** The guests by VM id (running or only a disk). */
  guests: Map<string, Guest>
  stop(): Promise<void>
}

/** Serve the guests of the fake's running VMs until stop() (or the end of the test). */
export function startHypervisor(hv: FakeHyperV): FakeHypervisor {
  const loop = hypervisorLoop(async (guests, events) => {
    const s = readState(hv.home)
    for (const vm of s.vms) {
      let g = guests.get(vm.id)
      // The guest is up once the fake reports its address (the firmware accepted it, it booted).
      const booted = guestAddresses(vm, hv.env).length > 0
      if (booted && g && !g.up && vm.lastStart === 'resume') {
        await thaw(g)
        events.push(`resume ${vm.name}`)
      } else if (booted && !g?.up) {
        const seed = g?.seed ?? readSeed(vm)
        if (!seed) {
          if (!events.includes(`no seed ${vm.name}`)) events.push(`no seed ${vm.name}`)
          continue
        }
        g = await boot(g, seed, { hostname: vm.name, sshPort: hv.sshPort, enginePort: hv.enginePort })
        guests.set(vm.id, g)
        events.push(`boot ${vm.name}`)
      } else if (vm.state === 'Saved' && g?.up) {
        await freeze(g)
        events.push(`save ${vm.name}`)
      } else if (vm.state !== 'Running' && g?.up) {
        await powerOff(g)
        events.push(`poweroff ${vm.name}`)
      }
      if (g && (await syncEngine(g))) events.push(`engine ${vm.name}`)
    }
    for (const [id, g] of guests) {
      if (s.vms.some((v) => v.id === id)) continue
      await destroy(g)
      guests.delete(id)
      events.push(`removed ${id}`)
    }
  })
  return { events: loop.events, guests: loop.guests, stop: () => loop.stop() }
}

/** A saved guest: unreachable (sshd and engine stop) but unchanged inside, its engine still active for the resume. */
async function freeze(g: Guest): Promise<void> {
  await g.engine?.stop()
  g.engine = undefined
  await g.disk.down()
  g.up = false
}

/** A resumed guest: served again on its ports, without a boot (no bootcmd, its services as they were). */
async function thaw(g: Guest): Promise<void> {
  await g.disk.up(g.sshPort)
  g.up = true
}
