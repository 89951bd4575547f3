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
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ROOT } from './cli.js'
import { destroy, firstBoot, powerOff, readNoCloudSeed, reboot, syncEngine, type Guest, type SeedInfo } from './fake-guest.js'
import { FAKE_VMRUN, readState, readVmx, vmxFile, type FakeVmwareState } from './fake-vmrun.js'
import { freePort } from './sshd.js'
import { onCleanup, tempDir, type TempScope } from './tmp.js'

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
}

export async function fakeVmware(o: { scope?: TempScope } = {}): Promise<FakeVmware> {
  const home = await tempDir('machine-vmware-', { scope: o.scope })
  const binDir = join(home, 'bin')
  await mkdir(binDir)
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
  const cache = join(ROOT, 'node_modules', '.cache', 'fake-vmrun')
  for (const tool of ['vmrun', 'vmware-vdiskmanager']) {
    const wrapper = `#!/bin/sh\nFAKE_VMWARE_HOME=${q(home)} FAKE_VMWARE_TOOL=${tool} NODE_COMPILE_CACHE=${q(cache)} exec ${q(process.execPath)} ${q(FAKE_VMRUN)} "$@"\n`
    await writeFile(join(binDir, tool), wrapper, { mode: 0o755 })
  }
  const [sshPort, enginePort] = [await freePort(), await freePort()]
  return {
    home,
    binDir,
    sshPort,
    enginePort,
    env: { PATH: `${binDir}:${process.env.PATH ?? ''}`, MACHINE_VMWARE_SSH_PORT: String(sshPort), MACHINE_VMWARE_ENGINE_PORT: String(enginePort) },
    state: () => readState(home),
    calls: () => {
      const f = join(home, 'calls.log')
      return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : []
    },
  }
}

/** The seed on the CD the .vmx names. */
export const readSeedOf = (vmx: string): SeedInfo | undefined => {
  const cd = readVmx(vmx).get('sata0:1.filename')
  return cd ? readNoCloudSeed(vmxFile(vmx, cd)) : undefined
}

export interface FakeHypervisor {
  guests: Map<string, Guest>
  events: string[]
  settled(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

export function startHypervisor(vm: FakeVmware): FakeHypervisor {
  const guests = new Map<string, Guest>()
  const events: string[] = []
  let stopped = false
  let busy = false
  let lastError: unknown

  const publish = async (): Promise<void> => {
    if (!existsSync(vm.home)) return
    const up = stopped ? [] : [...guests].filter(([, g]) => g.up).map(([vmx]) => vmx)
    await writeFile(join(vm.home, 'hypervisor.json.tmp'), JSON.stringify({ up }))
    await rename(join(vm.home, 'hypervisor.json.tmp'), join(vm.home, 'hypervisor.json'))
  }
  const boot = async (vmx: string): Promise<void> => {
    const g = guests.get(vmx)
    if (g) await reboot(g)
    else {
      const seed = readSeedOf(vmx)
      if (!seed) {
        if (!events.includes(`no seed ${vmx}`)) events.push(`no seed ${vmx}`)
        return
      }
      guests.set(vmx, await firstBoot(seed, { hostname: readVmx(vmx).get('displayname') ?? 'vm', sshPort: vm.sshPort, enginePort: vm.enginePort }))
    }
    events.push(`boot ${vmx}`)
  }

  const reconcile = async (): Promise<void> => {
    const s = readState(vm.home)
    let changed = false
    for (const vmx of s.running) {
      if (!guests.get(vmx)?.up) {
        await boot(vmx)
        changed = true
      }
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
  }

  const loop = (async () => {
    while (!stopped) {
      busy = true
      try {
        await reconcile()
        lastError = undefined
      } catch (e) {
        lastError = e
        events.push(`error ${e instanceof Error ? e.message : String(e)}`)
      }
      busy = false
      await sleep(50)
    }
  })()

  const hv: FakeHypervisor = {
    guests,
    events,
    async settled(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const s = readState(vm.home)
        const ok = !busy && s.running.every((v) => guests.get(v)?.up ?? !readSeedOf(v)) && [...guests].every(([vmx, g]) => (s.running.includes(vmx) ? g.up : !g.up) && existsSync(vmx))
        if (ok) return
        if (Date.now() > deadline) throw new Error(`fake hypervisor did not settle in ${timeoutMs} ms (last error: ${String(lastError)}); events: ${events.join(' | ')}`)
        await sleep(50)
      }
    },
    async stop() {
      if (stopped) return
      stopped = true
      await loop
      for (const [vmx, g] of guests) {
        await destroy(g)
        guests.delete(vmx)
      }
      await publish()
    },
  }
  onCleanup(() => hv.stop())
  return hv
}

/** Run the fake vmrun as the CLI does (a process through the wrapper). */
export const runFake = (vm: FakeVmware, tool: 'vmrun' | 'vmware-vdiskmanager', args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(join(vm.binDir, tool), args, { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
    })
  })
