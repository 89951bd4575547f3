/**
 * VMware for tests on a host without it: the fake `vmrun` and `vmware-vdiskmanager`
 * (fake-vmrun.ts) first on PATH, and a fake "hypervisor" that runs the guests of the VMs the
 * fake marks running, as the VirtualBox fake's does: inside the test process, reusing the
 * project's test doubles (a chroot host behind a real OpenSSH sshd, the TLS engine stand-in), so
 * vitest's clean-up stops them whatever happens.
 *
 * A guest (fake-guest.ts), when its VM starts: boots from the cloud-init NoCloud seed the .vmx
 * names as its CD, with sshd on 127.0.0.1:`sshPort`: the address the fake's getGuestIPAddress
 * reports, and the guest ports the CLI is told with MACHINE_VMWARE_SSH_PORT /
 * MACHINE_VMWARE_ENGINE_PORT (a real guest's are 22 and 2376 on its own address); the engine
 * stand-in on `enginePort` once provisioning starts the engine. Power off: both stop, the chroot
 * (the VM's disk) stays; deleteVM: it goes.
 */
import { existsSync } from 'node:fs'
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fakeCliDir } from './fake-cli.js'
import { boot, destroy, hypervisorLoop, powerOff, readNoCloudSeed, syncEngine, type Guest, type SeedInfo } from './fake-guest.js'
import { FAKE_VMRUN, readState, readVmx, vmxFile, type FakeVmwareState } from './fake-vmrun.js'
import { freePort } from './sshd.js'
import { type TempScope } from './tmp.js'

export interface FakeVmware {
  home: string
  binDir: string
  /** The guest's SSH and engine ports (on 127.0.0.1). */
  sshPort: number
  enginePort: number
  /** Environment for the CLI: the fake first on PATH, the guest's ports, short waits. */
  env: NodeJS.ProcessEnv
  state(): FakeVmwareState
  /** Every call so far as [tool, ...argv], oldest first. */
  calls(): string[][]
  /** Run the fake as the CLI does (a process through the wrapper). */
  run(tool: 'vmrun' | 'vmware-vdiskmanager', args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>
}

export async function fakeVmware(o: { scope?: TempScope } = {}): Promise<FakeVmware> {
  const cli = await fakeCliDir({ prefix: 'machine-vmware-', scope: o.scope, script: FAKE_VMRUN, homeVar: 'FAKE_VMWARE_HOME', tools: { vmrun: { FAKE_VMWARE_TOOL: 'vmrun' }, 'vmware-vdiskmanager': { FAKE_VMWARE_TOOL: 'vmware-vdiskmanager' } } })
  const [sshPort, enginePort] = [await freePort(), await freePort()]
  return {
    home: cli.home,
    binDir: cli.binDir,
    sshPort,
    enginePort,
    env: { PATH: cli.path, MACHINE_VMWARE_SSH_PORT: String(sshPort), MACHINE_VMWARE_ENGINE_PORT: String(enginePort) },
    state: () => readState(cli.home),
    calls: () => cli.calls<string[]>(),
    run: (tool, args, env) => cli.run(tool, args, env),
  }
}

/** The seed on the CD the .vmx names. */
export const readSeedOf = (vmx: string): SeedInfo | undefined => {
  const cd = readVmx(vmx).get('sata0:1.filename')
  return cd ? readNoCloudSeed(vmxFile(vmx, cd)) : undefined
}

export interface FakeHypervisor {
  /** The guests by .vmx path (running or only a disk). */
  guests: Map<string, Guest>
  events: string[]
  settled(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

/** Run the guests of the VMs the fake marks running until stop() (or the end of the test). */
export function startHypervisor(vm: FakeVmware): FakeHypervisor {
  // The guests the fake's `vmrun stop` waits for, in hypervisor.json (fake-vmrun.ts guestsUp).
  const publish = async (): Promise<void> => {
    if (!existsSync(vm.home)) return
    const up = loop.stopped ? [] : [...loop.guests].filter(([, g]) => g.up).map(([vmx]) => vmx)
    await writeFile(join(vm.home, 'hypervisor.json.tmp'), JSON.stringify({ up }))
    await rename(join(vm.home, 'hypervisor.json.tmp'), join(vm.home, 'hypervisor.json'))
  }
  const loop = hypervisorLoop(async (guests, events) => {
    const s = readState(vm.home)
    let changed = false
    for (const vmx of s.running) {
      const g = guests.get(vmx)
      if (g?.up) continue
      const seed = g?.seed ?? readSeedOf(vmx)
      if (!seed) {
        if (!events.includes(`no seed ${vmx}`)) events.push(`no seed ${vmx}`)
        continue
      }
      guests.set(vmx, await boot(g, seed, { hostname: g?.hostname ?? readVmx(vmx).get('displayname') ?? 'vm', sshPort: vm.sshPort, enginePort: vm.enginePort }))
      events.push(`boot ${vmx}`)
      changed = true
    }
    for (const [vmx, g] of guests) {
      if (g.up && !s.running.includes(vmx)) {
        await powerOff(g)
        events.push(`poweroff ${vmx}`)
        changed = true
      }
      if (!existsSync(vmx)) {
        // deleteVM: the disk goes with it.
        await destroy(g)
        guests.delete(vmx)
        events.push(`delete ${vmx}`)
        changed = true
      }
    }
    for (const [vmx, g] of guests) if (await syncEngine(g)) events.push(`engine ${vmx}`)
    if (changed || !existsSync(join(vm.home, 'hypervisor.json'))) await publish()
  }, publish)

  return {
    guests: loop.guests,
    events: loop.events,
    settled: (timeoutMs = 20_000) =>
      loop.until(() => {
        const s = readState(vm.home)
        return s.running.every((v) => loop.guests.get(v)?.up ?? !readSeedOf(v)) && [...loop.guests].every(([vmx, g]) => (s.running.includes(vmx) ? g.up : !g.up) && existsSync(vmx))
      }, timeoutMs),
    stop: () => loop.stop(),
  }
}

/** Run the fake vmrun as the CLI does (a process through the wrapper). */
export const runFake = (vm: FakeVmware, tool: 'vmrun' | 'vmware-vdiskmanager', args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> => vm.run(tool, args, env)
