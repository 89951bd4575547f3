/**
 * Hyper-V for tests on a host without Windows: the fake `powershell.exe` (fake-powershell.ts)
 * first on PATH, and a fake "hypervisor" in the test process that runs the guests of the VMs the
 * fake marks Running, with the project's own test doubles (as fake-virtualbox does for VBoxManage).
 *
 * A guest: once its VM runs and has the cloud-init seed on a DVD, a chroot host behind a real
 * sshd with the seed's user, authorized key and SSH host key; when provisioning has started the
 * engine with TLS files, the engine stand-in with those files. A Hyper-V guest sits on a switch at
 * its own address with SSH on 22 and the engine on 2376: the fake reports 127.0.0.1 as that
 * address (tests talk to nothing else), so the guest listens on 127.0.0.1:22 and :2376, which
 * needs root (the tests run as root) and that no one else holds them: a guest that cannot bind
 * them yet retries (the CLI's SSH wait is bounded), and one hypervisor serves one VM at a time.
 * Power off: sshd and engine stop, the chroot (the VM's disk) stays. Remove-VM: the chroot goes.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { readIso } from '../e2e/image/iso-reader.js'
import { startChrootHost, type ChrootHost } from './chroot-host.js'
import { ROOT } from './cli.js'
import { startFakeEngine, type FakeEngine } from './fake-engine.js'
import { FAKE_POWERSHELL, guestAddresses, readState, type FakeHyperVState, type FakeVm } from './fake-powershell.js'
import { onCleanup, tempDir } from './tmp.js'

export interface FakeHyperV {
  home: string
  binDir: string
  /** PATH with the fake first, plus the knobs given. */
  env: NodeJS.ProcessEnv
  state(): FakeHyperVState
  /** Every call so far: the cmdlet recognised and the script body. */
  calls(): Array<{ cmdlet: string; body: string }>
  /** Run the fake as the driver does (argv, no shell). */
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>
}

export async function fakeHyperV(knobs: NodeJS.ProcessEnv = {}): Promise<FakeHyperV> {
  const home = await tempDir('machine-hyperv-')
  const binDir = join(home, 'bin')
  await mkdir(binDir)
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
  const cache = join(ROOT, 'node_modules', '.cache', 'fake-powershell')
  // The toolchain's Node runs the TypeScript directly (type stripping).
  await writeFile(join(binDir, 'powershell.exe'), `#!/bin/sh\nFAKE_HYPERV_HOME=${q(home)} NODE_COMPILE_CACHE=${q(cache)} exec ${q(process.execPath)} ${q(FAKE_POWERSHELL)} "$@"\n`, { mode: 0o755 })
  const env = { PATH: `${binDir}:${process.env.PATH ?? ''}`, ...knobs }
  return {
    home,
    binDir,
    env,
    state: () => readState(home),
    calls: () => {
      const f = join(home, 'calls.log')
      return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { cmdlet: string; body: string }) : []
    },
    run: (args, extra = {}) =>
      new Promise((resolve) => {
        execFile(join(binDir, 'powershell.exe'), args, { env: { ...process.env, ...env, ...extra } }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
        })
      }),
  }
}

export interface SeedInfo {
  user: string
  authorizedKey: string
  hostKey: { privateKey: string; publicKey: string }
}

/** The cloud-init NoCloud seed among a VM's DVDs, read as cloud-init would (volume "cidata"). */
export function readSeed(vm: FakeVm): SeedInfo | undefined {
  for (const iso of vm.dvds) {
    if (!existsSync(iso)) continue
    const vol = readIso(readFileSync(iso)).find((v) => v.kind === 'joliet' && v.volumeId.toLowerCase() === 'cidata')
    const userData = vol?.files.get('user-data')?.toString('utf8')
    if (!userData) continue
    const cfg = JSON.parse(userData.replace(/^#cloud-config\s*\n/, '')) as { users?: Array<{ name?: string; ssh_authorized_keys?: string[] }>; ssh_keys?: { ed25519_private?: string; ed25519_public?: string } }
    const u = cfg.users?.[0]
    if (!u?.name || !u.ssh_authorized_keys?.[0] || !cfg.ssh_keys?.ed25519_private || !cfg.ssh_keys.ed25519_public) continue
    return { user: u.name, authorizedKey: u.ssh_authorized_keys[0], hostKey: { privateKey: cfg.ssh_keys.ed25519_private, publicKey: cfg.ssh_keys.ed25519_public } }
  }
  return undefined
}

export const GUEST_SSH_PORT = 22
export const GUEST_ENGINE_PORT = 2376

interface Guest {
  disk: ChrootHost
  up: boolean
  engine?: FakeEngine
  engineStarts: number
}

export interface FakeHypervisor {
  events: string[]
  guests: Map<string, Guest>
  stop(): Promise<void>
}

/** Serve the guests of the fake's running VMs until stop() (or the end of the test). */
export function startHypervisor(hv: FakeHyperV): FakeHypervisor {
  const guests = new Map<string, Guest>()
  const events: string[] = []
  let stopped = false

  const dockerActive = (g: Guest): boolean => {
    try {
      return readFileSync(g.disk.path('/var/lib/fake-systemd/docker.state'), 'utf8').trim() === 'active'
    } catch {
      return false
    }
  }
  const engineStarts = (g: Guest): number => g.disk.calls().filter((c) => c === 'systemctl restart docker' || c === 'systemctl start docker').length

  const syncEngine = async (g: Guest, name: string): Promise<void> => {
    const wanted = g.up && dockerActive(g) && existsSync(g.disk.path('/etc/docker/server-key.pem'))
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
        port: GUEST_ENGINE_PORT,
        hostname: name,
      })
      g.engineStarts = starts
      events.push(`engine ${name}`)
    }
  }

  const reconcile = async (): Promise<void> => {
    const s = readState(hv.home)
    for (const vm of s.vms) {
      let g = guests.get(vm.id)
      // The guest is up once the fake reports its address (the firmware accepted it, it booted).
      const booted = guestAddresses(vm, hv.env).length > 0
      if (booted && !g?.up) {
        const seed = readSeed(vm)
        if (!seed) {
          if (!events.includes(`no seed ${vm.name}`)) events.push(`no seed ${vm.name}`)
          continue
        }
        if (!g) {
          const disk = await startChrootHost({ user: seed.user, hostname: vm.name, sshd: { port: GUEST_SSH_PORT, hostKey: seed.hostKey, authorizedKey: seed.authorizedKey } })
          g = { disk, up: true, engineStarts: 0 }
          guests.set(vm.id, g)
        } else {
          const enabled = readFileSync(g.disk.path('/var/lib/fake-systemd/docker.enabled'), 'utf8').trim() === 'enabled'
          await writeFile(g.disk.path('/var/lib/fake-systemd/docker.state'), `${enabled ? 'active' : 'inactive'}\n`)
          await g.disk.up(GUEST_SSH_PORT)
          g.up = true
        }
        events.push(`boot ${vm.name}`)
      } else if (vm.state !== 'Running' && g?.up) {
        await g.engine?.stop()
        g.engine = undefined
        await g.disk.down()
        await writeFile(g.disk.path('/var/lib/fake-systemd/docker.state'), 'inactive\n')
        g.up = false
        events.push(`poweroff ${vm.name}`)
      }
      if (g) await syncEngine(g, vm.name)
    }
    for (const [id, g] of guests) {
      if (s.vms.some((v) => v.id === id)) continue
      await g.engine?.stop()
      await g.disk.stop()
      guests.delete(id)
      events.push(`removed ${id}`)
    }
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        await reconcile()
      } catch (e) {
        const line = `error ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`
        if (events.at(-1) !== line) events.push(line)
      }
      await sleep(50)
    }
  })()

  const self: FakeHypervisor = {
    events,
    guests,
    async stop() {
      if (stopped) return
      stopped = true
      await loop
      for (const [id, g] of guests) {
        await g.engine?.stop()
        await g.disk.stop()
        guests.delete(id)
      }
    },
  }
  onCleanup(() => self.stop())
  return self
}
