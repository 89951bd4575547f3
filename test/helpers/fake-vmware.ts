/**
 * VMware for tests on a host without it: the fake `vmrun` and `vmware-vdiskmanager`
 * (fake-vmrun.ts) first on PATH, and a fake "hypervisor" that runs the guests of the VMs the
 * fake marks running, as the VirtualBox fake's does: inside the test process, reusing the
 * project's test doubles (a chroot host behind a real OpenSSH sshd, the TLS engine stand-in), so
 * vitest's clean-up stops them whatever happens.
 *
 * A guest, when its VM starts: reads the cloud-init NoCloud seed the .vmx names as its CD (user,
 * authorized key, SSH host key), then serves the chroot host with sshd on 127.0.0.1:`sshPort`
 * with exactly that host key and user: the address the fake's getGuestIPAddress reports, and the
 * guest ports the CLI is told with MACHINE_VMWARE_SSH_PORT / MACHINE_VMWARE_ENGINE_PORT (a real
 * guest's are 22 and 2376 on its own address). When provisioning starts the engine with TLS
 * files in /etc/docker, the engine stand-in listens on `enginePort`. Power off: both stop, the
 * chroot (the VM's disk) stays; deleteVM: it goes.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { readIso } from '../e2e/image/iso-reader.js'
import { startChrootHost, type ChrootHost } from './chroot-host.js'
import { ROOT } from './cli.js'
import { startFakeEngine, type FakeEngine } from './fake-engine.js'
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

/** What the driver put in the seed (the CD the .vmx names): who logs in, with which key, and the host key to present. */
export interface SeedInfo {
  user: string
  authorizedKey: string
  hostKey: { privateKey: string; publicKey: string }
  files: Record<string, string>
}

export function readSeedOf(vmx: string): SeedInfo | undefined {
  const cd = readVmx(vmx).get('sata0:1.filename')
  if (!cd || !existsSync(vmxFile(vmx, cd))) return undefined
  const vol = readIso(readFileSync(vmxFile(vmx, cd))).find((v) => v.kind === 'joliet' && v.volumeId.toLowerCase() === 'cidata')
  const userData = vol?.files.get('user-data')?.toString('utf8')
  if (!vol || !userData) return undefined
  const cfg = JSON.parse(userData.replace(/^#cloud-config\s*\n/, '')) as { users?: Array<{ name?: string; ssh_authorized_keys?: string[] }>; ssh_keys?: { ed25519_private?: string; ed25519_public?: string } }
  const user = cfg.users?.[0]
  if (!user?.name || !user.ssh_authorized_keys?.[0] || !cfg.ssh_keys?.ed25519_private || !cfg.ssh_keys.ed25519_public) return undefined
  const files: Record<string, string> = {}
  for (const [k, v] of vol.files) files[k] = v.toString('utf8')
  return { user: user.name, authorizedKey: user.ssh_authorized_keys[0], hostKey: { privateKey: cfg.ssh_keys.ed25519_private, publicKey: cfg.ssh_keys.ed25519_public }, files }
}

export interface Guest {
  vmx: string
  disk: ChrootHost
  seed: SeedInfo
  up: boolean
  engine?: FakeEngine
  engineStarts: number
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
    const up = stopped ? [] : [...guests.values()].filter((g) => g.up).map((g) => g.vmx)
    await writeFile(join(vm.home, 'hypervisor.json.tmp'), JSON.stringify({ up }))
    await rename(join(vm.home, 'hypervisor.json.tmp'), join(vm.home, 'hypervisor.json'))
  }
  const fileText = (g: Guest, p: string): string => {
    try {
      return readFileSync(g.disk.path(p), 'utf8').trim()
    } catch {
      return ''
    }
  }
  const engineStarts = (g: Guest): number => g.disk.calls().filter((c) => c === 'systemctl restart docker' || c === 'systemctl start docker').length

  const syncEngine = async (g: Guest): Promise<void> => {
    const wanted = g.up && fileText(g, '/var/lib/fake-systemd/docker.state') === 'active' && existsSync(g.disk.path('/etc/docker/server-key.pem'))
    const starts = engineStarts(g)
    if (g.engine && (!wanted || starts !== g.engineStarts)) {
      await g.engine.stop()
      g.engine = undefined
    }
    if (wanted && !g.engine) {
      g.engine = await startFakeEngine({
        caCert: await g.disk.read('/etc/docker/ca.pem'),
        serverCert: await g.disk.read('/etc/docker/server.pem'),
        serverKey: await g.disk.read('/etc/docker/server-key.pem'),
        port: vm.enginePort,
        hostname: readVmx(g.vmx).get('displayname') ?? 'vm',
      })
      g.engineStarts = starts
      events.push(`engine ${g.vmx}`)
    }
  }

  const boot = async (vmx: string): Promise<void> => {
    let g = guests.get(vmx)
    if (!g) {
      const seed = readSeedOf(vmx)
      if (!seed) {
        if (!events.includes(`no seed ${vmx}`)) events.push(`no seed ${vmx}`)
        return
      }
      const disk = await startChrootHost({ user: seed.user, hostname: readVmx(vmx).get('displayname') ?? 'vm', sshd: { port: vm.sshPort, hostKey: seed.hostKey, authorizedKey: seed.authorizedKey } })
      g = { vmx, disk, seed, up: true, engineStarts: 0 }
      guests.set(vmx, g)
    } else {
      // An enabled engine starts with the machine.
      await writeFile(g.disk.path('/var/lib/fake-systemd/docker.state'), `${fileText(g, '/var/lib/fake-systemd/docker.enabled') === 'enabled' ? 'active' : 'inactive'}\n`)
      await g.disk.up(vm.sshPort)
      g.up = true
    }
    events.push(`boot ${vmx}`)
  }

  const halt = async (g: Guest): Promise<void> => {
    await g.engine?.stop()
    g.engine = undefined
    await g.disk.down()
    await writeFile(g.disk.path('/var/lib/fake-systemd/docker.state'), 'inactive\n').catch(() => undefined)
    g.up = false
    events.push(`poweroff ${g.vmx}`)
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
        await halt(g)
        changed = true
      }
      if (!existsSync(vmx)) {
        // deleteVM: the disk goes with it.
        await g.disk.stop()
        guests.delete(vmx)
        events.push(`delete ${vmx}`)
        changed = true
      }
    }
    for (const g of guests.values()) await syncEngine(g)
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
        const ok = !busy && s.running.every((v) => guests.get(v)?.up ?? !readSeedOf(v)) && [...guests.values()].every((g) => (s.running.includes(g.vmx) ? g.up : !g.up) && existsSync(g.vmx))
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
        await g.engine?.stop()
        await g.disk.stop()
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
