/**
 * The guest runtime of the fake local hypervisors (fake-virtualbox.ts, fake-vmware.ts,
 * fake-hyperv.ts): what a VM runs once booted from a cloud-init NoCloud seed, made of the
 * project's own test doubles, and the reconcile loop each fake hypervisor runs its guests with.
 *
 * Booting reads the seed (user, authorized key, SSH host key, bootcmd) and serves a chroot host
 * behind a real OpenSSH sshd with exactly that host key and user on a port of 127.0.0.1; when
 * provisioning has started the engine with TLS files in /etc/docker, the TLS engine stand-in
 * listens on the engine port, as dockerd would. Powered off, both stop and the chroot (the VM's
 * disk) stays; the next boot serves it again, with the engine if it was enabled.
 *
 * The guests run inside the test process (not in processes the fake CLIs spawn): the real CLIs
 * are only clients too, and this way vitest's clean-up stops them whatever happens to a test.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { readIso } from '../e2e/image/iso-reader.js'
import { startChrootHost, type ChrootHost } from './chroot-host.js'
import { startFakeEngine, type FakeEngine } from './fake-engine.js'
import { onCleanup } from './tmp.js'

const run = promisify(execFile)

/** What the driver put in the seed: who logs in, with which key, and the host key to present. */
export interface SeedInfo {
  user: string
  authorizedKey: string
  hostKey: { privateKey: string; publicKey: string }
  /** cloud-init's bootcmd entries (shell commands run as root early in every boot). */
  bootcmd: string[]
  /** The seed's files (user-data, network-config, meta-data), by name. */
  files: Record<string, string>
}

/** A NoCloud seed image read as cloud-init reads it (volume "cidata"); undefined when it is none. */
export function readNoCloudSeed(path: string): SeedInfo | undefined {
  if (!existsSync(path)) return undefined
  let vols
  try {
    vols = readIso(readFileSync(path))
  } catch {
    return undefined
  }
  const vol = vols.find((v) => v.kind === 'joliet' && v.volumeId.toLowerCase() === 'cidata')
  const userData = vol?.files.get('user-data')?.toString('utf8')
  if (!vol || !userData) return undefined
  const cfg = JSON.parse(userData.replace(/^#cloud-config\s*\n/, '')) as {
    users?: Array<{ name?: string; ssh_authorized_keys?: string[] }>
    ssh_keys?: { ed25519_private?: string; ed25519_public?: string }
    bootcmd?: unknown[]
  }
  const user = cfg.users?.[0]
  if (!user?.name || !user.ssh_authorized_keys?.[0] || !cfg.ssh_keys?.ed25519_private || !cfg.ssh_keys.ed25519_public) return undefined
  const files: Record<string, string> = {}
  for (const [k, v] of vol.files) files[k] = v.toString('utf8')
  // bootcmd entries are strings (run with sh -c) or argv lists.
  const bootcmd = (cfg.bootcmd ?? []).map((c) => (Array.isArray(c) ? c.map((w) => `'${String(w).replace(/'/g, `'\\''`)}'`).join(' ') : String(c)))
  return { user: user.name, authorizedKey: user.ssh_authorized_keys[0], hostKey: { privateKey: cfg.ssh_keys.ed25519_private, publicKey: cfg.ssh_keys.ed25519_public }, bootcmd, files }
}

/** The first of `paths` (a VM's DVDs) that is a NoCloud seed. */
export const firstSeed = (paths: Iterable<string>): SeedInfo | undefined => {
  for (const p of paths) {
    const seed = readNoCloudSeed(p)
    if (seed) return seed
  }
  return undefined
}

export interface Guest {
  hostname: string
  /** The VM's disk: kept while the VM exists. */
  disk: ChrootHost
  seed: SeedInfo
  up: boolean
  /** Where sshd and the engine stand-in listen on 127.0.0.1 (no engine port: no engine served). */
  sshPort?: number
  enginePort?: number
  engine?: FakeEngine
  /** Engine starts seen in the guest when the stand-in was (re)started. */
  engineStarts: number
}

export interface BootOptions {
  hostname: string
  sshPort?: number
  enginePort?: number
  /** Run the seed's bootcmd at every boot, as cloud-init does (with a `cloud-init-per`); each result goes to `events`. */
  bootcmd?: { events: string[] }
}

/** cloud-init-per FREQ NAME CMD…: CMD once per instance (a marker file), as cloud-init's own. */
const CLOUD_INIT_PER = `#!/bin/sh
freq=$1; name=$2; shift 2
mark=/var/lib/cloud/sem/$name.$freq
[ "$freq" != always ] && [ -e "$mark" ] && exit 0
mkdir -p /var/lib/cloud/sem
"$@" && touch "$mark"
`
const ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

const fileText = (g: Guest, p: string): string => {
  try {
    return readFileSync(g.disk.path(p), 'utf8').trim()
  } catch {
    return ''
  }
}

/**
 * Boot a guest: the first boot makes the disk and serves it with the seed's host key and user;
 * a later one (`g` given) serves the same disk again, with an enabled engine started.
 */
export async function boot(g: Guest | undefined, seed: SeedInfo, o: BootOptions): Promise<Guest> {
  if (!g) {
    const disk = await startChrootHost({ user: seed.user, hostname: o.hostname, sshd: { port: o.sshPort, hostKey: seed.hostKey, authorizedKey: seed.authorizedKey } })
    g = { hostname: o.hostname, disk, seed, up: true, sshPort: o.sshPort, enginePort: o.enginePort, engineStarts: 0 }
    if (!o.bootcmd) return g
    // bootcmd runs before sshd serves: down until it has.
    await writeFile(disk.path('/usr/bin/cloud-init-per'), CLOUD_INIT_PER, { mode: 0o755 })
    await disk.down()
    g.up = false
  }
  // What cloud-init does early in every boot: bootcmd, as root (here inside the chroot).
  for (const cmd of o.bootcmd ? seed.bootcmd : []) {
    const r = await run('chroot', [g.disk.root, '/bin/sh', '-c', cmd], { env: { PATH: ROOT_PATH }, timeout: 30_000 }).then(
      () => 'ok',
      (e: Error) => `failed: ${e.message.split('\n')[0]}`,
    )
    o.bootcmd?.events.push(`bootcmd ${o.hostname} ${r}`)
  }
  // An enabled engine starts with the machine.
  await writeFile(g.disk.path('/var/lib/fake-systemd/docker.state'), `${fileText(g, '/var/lib/fake-systemd/docker.enabled') === 'enabled' ? 'active' : 'inactive'}\n`)
  g.sshPort = o.sshPort
  g.enginePort = o.enginePort
  await g.disk.up(o.sshPort)
  g.up = true
  return g
}

/** Power off: engine and sshd stop, the disk stays. */
export async function powerOff(g: Guest): Promise<void> {
  await g.engine?.stop()
  g.engine = undefined
  await g.disk.down()
  await writeFile(g.disk.path('/var/lib/fake-systemd/docker.state'), 'inactive\n').catch(() => undefined)
  g.up = false
}

/** The engine stand-in follows the guest's docker service (restarted when provisioning restarts it); true when it (re)started. */
export async function syncEngine(g: Guest): Promise<boolean> {
  const wanted = g.up && g.enginePort !== undefined && fileText(g, '/var/lib/fake-systemd/docker.state') === 'active' && existsSync(g.disk.path('/etc/docker/server-key.pem'))
  const starts = g.disk.calls().filter((c) => c === 'systemctl restart docker' || c === 'systemctl start docker').length
  if (g.engine && (!wanted || starts !== g.engineStarts)) {
    await g.engine.stop()
    g.engine = undefined
  }
  if (!wanted || g.engine) return false
  g.engine = await startFakeEngine({
    caCert: await g.disk.read('/etc/docker/ca.pem'),
    serverCert: await g.disk.read('/etc/docker/server.pem'),
    serverKey: await g.disk.read('/etc/docker/server-key.pem'),
    port: g.enginePort,
    hostname: g.hostname,
  })
  g.engineStarts = starts
  return true
}

/** The VM and its disk are gone. */
export async function destroy(g: Guest): Promise<void> {
  await g.engine?.stop()
  g.engine = undefined
  await g.disk.stop()
  g.up = false
}

/** A fake hypervisor's guests, by its id for the VM, and what happened to them, oldest first. */
export interface HypervisorLoop {
  guests: Map<string, Guest>
  /** "boot NAME", "engine NAME", "poweroff NAME", "no seed NAME", "error …"… */
  events: string[]
  /** Resolve once `ok()` holds between two reconcile passes (bounded). */
  until(ok: () => boolean, timeoutMs: number): Promise<void>
  readonly stopped: boolean
  /** Stop reconciling, then destroy every guest. */
  stop(): Promise<void>
}

/**
 * Run `reconcile` every 50 ms until stop() (or the end of the test: the guests are stopped
 * before the fake's directory goes). A failing pass is recorded in events and retried.
 */
export function hypervisorLoop(reconcile: (guests: Map<string, Guest>, events: string[]) => Promise<void>, onStop: () => void | Promise<void> = () => undefined): HypervisorLoop {
  const guests = new Map<string, Guest>()
  const events: string[] = []
  let stopped = false
  let busy = false
  let lastError: unknown
  const loop = (async () => {
    await null // the first pass after the caller has its handle
    while (!stopped) {
      busy = true
      try {
        await reconcile(guests, events)
        lastError = undefined
      } catch (e) {
        lastError = e
        const line = `error ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`
        if (events.at(-1) !== line) events.push(line)
      }
      busy = false
      await sleep(50)
    }
  })()
  const self: HypervisorLoop = {
    guests,
    events,
    get stopped() {
      return stopped
    },
    async until(ok, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        if (!busy && ok()) return
        if (Date.now() > deadline) throw new Error(`fake hypervisor did not settle in ${timeoutMs} ms (last error: ${String(lastError)}); events: ${events.join(' | ')}`)
        await sleep(50)
      }
    },
    async stop() {
      if (stopped) return
      stopped = true
      await loop
      for (const [id, g] of guests) {
        await destroy(g)
        guests.delete(id)
      }
      await onStop()
    },
  }
  onCleanup(() => self.stop())
  return self
}
