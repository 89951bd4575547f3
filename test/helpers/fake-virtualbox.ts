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
 * VM's disk) stays; the next start serves it again. Unregister: the chroot goes.
 */
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { promisify } from 'node:util'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'ssh2'
import { readIso } from '../e2e/image/iso-reader.js'
import { startChrootHost, type ChrootHost } from './chroot-host.js'
import { ROOT } from './cli.js'
import { startFakeEngine, type FakeEngine } from './fake-engine.js'
import { FAKE_VBOXMANAGE, readState, setVmState, withState, type FakeVBoxState, type Vm } from './fake-vboxmanage.js'
import { onCleanup, tempDir, type TempScope } from './tmp.js'

const run = promisify(execFile)

/** cloud-init-per FREQ NAME CMD…: CMD once per instance (a marker file), as cloud-init's own. */
const CLOUD_INIT_PER = `#!/bin/sh
freq=$1; name=$2; shift 2
mark=/var/lib/cloud/sem/$name.$freq
[ "$freq" != always ] && [ -e "$mark" ] && exit 0
mkdir -p /var/lib/cloud/sem
"$@" && touch "$mark"
`

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
  const home = await tempDir('machine-vbox-', { scope: o.scope })
  const binDir = join(home, 'bin')
  await mkdir(binDir)
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
  // The toolchain's Node runs the TypeScript directly (type stripping): no build step. Its
  // compile cache (in node_modules/.cache, kept between runs) takes ~0.3 s off every call.
  const cache = join(ROOT, 'node_modules', '.cache', 'fake-vboxmanage')
  const wrapper = `#!/bin/sh\nFAKE_VBOX_HOME=${q(home)} NODE_COMPILE_CACHE=${q(cache)} exec ${q(process.execPath)} ${q(FAKE_VBOXMANAGE)} "$@"\n`
  // Linux packages install both spellings.
  for (const name of ['VBoxManage', 'vboxmanage']) await writeFile(join(binDir, name), wrapper, { mode: 0o755 })
  if (o.networksConf !== undefined) await writeFile(join(home, 'networks.conf'), o.networksConf)
  return {
    home,
    binDir,
    env: { PATH: `${binDir}:${process.env.PATH ?? ''}` },
    state: () => readState(home),
    calls: () => {
      const f = join(home, 'calls.log')
      return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : []
    },
    run: (args, env = {}) =>
      new Promise((resolve) => {
        execFile(join(binDir, 'VBoxManage'), args, { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
        })
      }),
  }
}

/** What the driver put in the seed: who logs in, with which key, and the host key to present. */
export interface SeedInfo {
  user: string
  authorizedKey: string
  hostKey: { privateKey: string; publicKey: string }
  /** cloud-init's bootcmd entries (shell commands run as root early in every boot). */
  bootcmd: string[]
  /** The seed's other files (network-config, meta-data), by name. */
  files: Record<string, string>
}

/** The cloud-init NoCloud seed among a VM's DVDs, read as cloud-init would (volume "cidata"). */
export function readSeed(vm: Vm): SeedInfo | undefined {
  for (const a of Object.values(vm.attachments)) {
    if (a.type !== 'dvddrive' || a.medium === 'emptydrive' || !existsSync(a.medium)) continue
    let vols
    try {
      vols = readIso(readFileSync(a.medium))
    } catch {
      continue
    }
    const vol = vols.find((v) => v.kind === 'joliet' && v.volumeId.toLowerCase() === 'cidata')
    const userData = vol?.files.get('user-data')?.toString('utf8')
    if (!vol || !userData) continue
    const cfg = JSON.parse(userData.replace(/^#cloud-config\s*\n/, '')) as {
      users?: Array<{ name?: string; ssh_authorized_keys?: string[] }>
      ssh_keys?: { ed25519_private?: string; ed25519_public?: string }
      bootcmd?: unknown[]
    }
    const user = cfg.users?.[0]
    if (!user?.name || !user.ssh_authorized_keys?.[0] || !cfg.ssh_keys?.ed25519_private || !cfg.ssh_keys.ed25519_public) continue
    const files: Record<string, string> = {}
    for (const [k, v] of vol.files) files[k] = v.toString('utf8')
    // bootcmd entries are strings (run with sh -c) or argv lists.
    const bootcmd = (cfg.bootcmd ?? []).map((c) => (Array.isArray(c) ? c.map((w) => `'${String(w).replace(/'/g, `'\\''`)}'`).join(' ') : String(c)))
    return { user: user.name, authorizedKey: user.ssh_authorized_keys[0], hostKey: { privateKey: cfg.ssh_keys.ed25519_private, publicKey: cfg.ssh_keys.ed25519_public }, bootcmd, files }
  }
  return undefined
}

/** The host port of a VM's NAT rule to `guestPort` (NIC 1..8). */
export function forwardedPort(vm: Vm, guestPort: number): number | undefined {
  for (const nic of Object.values(vm.nics)) {
    if (nic.type !== 'nat') continue
    const r = nic.natpf.find((x) => x.guestPort === guestPort && x.proto === 'tcp')
    if (r) return r.hostPort
  }
  return undefined
}

export interface Guest {
  vm: string
  /** The VM's disk: kept while the VM is registered. */
  disk: ChrootHost
  seed: SeedInfo
  up: boolean
  sshPort?: number
  enginePort?: number
  engine?: FakeEngine
  /** Engine starts seen in the guest when the stand-in was (re)started. */
  engineStarts: number
}

export interface FakeHypervisor {
  /** The guests by VM uuid (running or only a disk). */
  guests: Map<string, Guest>
  /** What happened, oldest first ("boot NAME", "engine NAME", "poweroff NAME", "no seed NAME"...). */
  events: string[]
  /** Resolve once every running VM's guest is up and every other one down (bounded). */
  settled(timeoutMs?: number): Promise<void>
  /** The VM process of `name` dies (VirtualBox then shows VMState "aborted"); its guest goes down. */
  crash(name: string): Promise<void>
  stop(): Promise<void>
}

/** Run the guests of the fake's VMs until stop() (or the end of the test file). */
export function startHypervisor(vbox: FakeVirtualBox): FakeHypervisor {
  const guests = new Map<string, Guest>()
  const events: string[] = []
  let stopped = false
  let busy = false
  let lastError: unknown
  const live = (vm: Vm): boolean => vm.state === 'running' || vm.state === 'paused'

  const publish = (): void => {
    if (!existsSync(vbox.home)) return
    const up = [...guests.values()].filter((g) => g.up).map((g) => g.vm)
    withState(vbox.home, (s) => {
      if (stopped) delete s.hypervisor
      else s.hypervisor = { pid: process.pid, up }
    })
  }

  const dockerActive = (g: Guest): boolean => {
    try {
      return readFileSync(g.disk.path('/var/lib/fake-systemd/docker.state'), 'utf8').trim() === 'active'
    } catch {
      return false
    }
  }
  const engineStarts = (g: Guest): number => g.disk.calls().filter((c) => c === 'systemctl restart docker' || c === 'systemctl start docker').length

  /** dockerd with TLS, as provisioning left it: the stand-in on the forwarded engine port. */
  const syncEngine = async (g: Guest, name: string): Promise<void> => {
    const wanted = g.up && g.enginePort !== undefined && dockerActive(g) && existsSync(g.disk.path('/etc/docker/server-key.pem'))
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
        port: g.enginePort,
        hostname: name,
      })
      g.engineStarts = starts
      events.push(`engine ${name}`)
    }
  }

  const boot = async (vm: Vm): Promise<void> => {
    const seed = readSeed(vm)
    if (!seed) {
      if (!events.includes(`no seed ${vm.name}`)) events.push(`no seed ${vm.name}`)
      return
    }
    const sshPort = forwardedPort(vm, 22)
    let g = guests.get(vm.uuid)
    if (!g) {
      const disk = await startChrootHost({ user: seed.user, hostname: vm.name, sshd: { port: sshPort, hostKey: seed.hostKey, authorizedKey: seed.authorizedKey } })
      await writeFile(disk.path('/usr/bin/cloud-init-per'), CLOUD_INIT_PER, { mode: 0o755 })
      g = { vm: vm.uuid, disk, seed, up: false, sshPort, enginePort: forwardedPort(vm, 2376), engineStarts: 0 }
      guests.set(vm.uuid, g)
      await g.disk.down()
    }
    // What cloud-init does early in every boot: bootcmd, as root (here inside the chroot).
    for (const cmd of seed.bootcmd) {
      const r = await run('chroot', [g.disk.root, '/bin/sh', '-c', cmd], { env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 30_000 }).then(
        () => 'ok',
        (e: Error) => `failed: ${e.message.split('\n')[0]}`,
      )
      events.push(`bootcmd ${vm.name} ${r}`)
    }
    // An enabled engine starts with the machine.
    const enabledFile = g.disk.path('/var/lib/fake-systemd/docker.enabled')
    const enabled = existsSync(enabledFile) && readFileSync(enabledFile, 'utf8').trim() === 'enabled'
    await writeFile(g.disk.path('/var/lib/fake-systemd/docker.state'), `${enabled ? 'active' : 'inactive'}\n`)
    g.sshPort = sshPort
    g.enginePort = forwardedPort(vm, 2376)
    await g.disk.up(sshPort)
    g.up = true
    events.push(`boot ${vm.name}`)
  }

  const halt = async (g: Guest, name: string): Promise<void> => {
    await g.engine?.stop()
    g.engine = undefined
    await g.disk.down()
    await writeFile(g.disk.path('/var/lib/fake-systemd/docker.state'), 'inactive\n').catch(() => undefined)
    g.up = false
    events.push(`poweroff ${name}`)
  }

  const reconcile = async (): Promise<void> => {
    const s = readState(vbox.home)
    let changed = false
    for (const vm of s.vms) {
      const g = guests.get(vm.uuid)
      if (live(vm) && !g?.up) {
        await boot(vm)
        changed = true
      } else if (!live(vm) && g?.up) {
        await halt(g, vm.name)
        changed = true
      }
      const now = guests.get(vm.uuid)
      if (now) await syncEngine(now, vm.name)
    }
    for (const [uuid, g] of guests) {
      if (s.vms.some((v) => v.uuid === uuid)) continue
      // Unregistered: its disk goes with it.
      if (g.up) await halt(g, uuid)
      await g.disk.stop()
      guests.delete(uuid)
      events.push(`unregister ${uuid}`)
      changed = true
    }
    if (changed || s.hypervisor?.pid !== process.pid) publish()
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
        const s = readState(vbox.home)
        const ok =
          !busy &&
          s.vms.every((vm) => {
            const g = guests.get(vm.uuid)
            return live(vm) ? (g?.up ?? !readSeed(vm)) : !g?.up
          }) &&
          [...guests.keys()].every((u) => s.vms.some((v) => v.uuid === u))
        if (ok) return
        if (Date.now() > deadline) throw new Error(`fake hypervisor did not settle in ${timeoutMs} ms (last error: ${String(lastError)}); events: ${events.join(' | ')}`)
        await sleep(50)
      }
    },
    async crash(name) {
      withState(vbox.home, (s) => {
        const vm = s.vms.find((v) => v.name === name)
        if (!vm || !live(vm)) throw new Error(`crash: ${name} is not running`)
        setVmState(vm, 'aborted')
      })
      await hv.settled()
    },
    async stop() {
      if (stopped) return
      stopped = true
      await loop
      for (const [uuid, g] of guests) {
        await g.engine?.stop()
        await g.disk.stop()
        guests.delete(uuid)
      }
      publish()
    },
  }
  // Made in a test: stopped when it ends (before the fake's directory goes); else with the file.
  onCleanup(() => hv.stop())
  return hv
}

/** A small raw "cloud image" (the guest is the fake's chroot; only its bytes are converted). */
export async function rawImage(): Promise<string> {
  const dir = await tempDir('machine-vbox-image-', { scope: 'file' })
  const p = join(dir, 'debian.raw')
  await writeFile(p, Buffer.alloc(4 * 2 ** 20))
  return p
}

/** Short polls and bounded waits for the CLI on the fake (it answers at once). */
export const FAST = { MACHINE_POLL_INTERVAL_MS: '100', MACHINE_VBOX_STOP_TIMEOUT_MS: '20000', FAKE_VBOX_ACPI_MS: '300' }

/** Does anything accept connections on 127.0.0.1:`port`? (A guest's forwarded SSH or engine port.) */
export const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port })
    sock.on('connect', () => {
      sock.destroy()
      resolve(true)
    })
    sock.on('error', () => resolve(false))
  })

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
