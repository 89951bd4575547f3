/**
 * The guest of a fake local hypervisor (fake-vmware.ts; the VirtualBox fake's does the same):
 * what a VM runs once booted from a cloud-init NoCloud seed, made of the project's own test
 * doubles. Booting reads the seed (user, authorized key, SSH host key) and serves a chroot host
 * behind a real OpenSSH sshd with exactly that host key and user on a port of 127.0.0.1; when
 * provisioning has started the engine with TLS files in /etc/docker, the TLS engine stand-in
 * listens on the engine port, as dockerd would. Powered off, both stop and the chroot (the VM's
 * disk) stays; the next boot serves it again, with the engine if it was enabled.
 */
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { readIso } from '../e2e/image/iso-reader.js'
import { startChrootHost, type ChrootHost } from './chroot-host.js'
import { startFakeEngine, type FakeEngine } from './fake-engine.js'

/** What the driver put in the seed: who logs in, with which key, and the host key to present. */
export interface SeedInfo {
  user: string
  authorizedKey: string
  hostKey: { privateKey: string; publicKey: string }
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
  const cfg = JSON.parse(userData.replace(/^#cloud-config\s*\n/, '')) as { users?: Array<{ name?: string; ssh_authorized_keys?: string[] }>; ssh_keys?: { ed25519_private?: string; ed25519_public?: string } }
  const user = cfg.users?.[0]
  if (!user?.name || !user.ssh_authorized_keys?.[0] || !cfg.ssh_keys?.ed25519_private || !cfg.ssh_keys.ed25519_public) return undefined
  const files: Record<string, string> = {}
  for (const [k, v] of vol.files) files[k] = v.toString('utf8')
  return { user: user.name, authorizedKey: user.ssh_authorized_keys[0], hostKey: { privateKey: cfg.ssh_keys.ed25519_private, publicKey: cfg.ssh_keys.ed25519_public }, files }
}

export interface Guest {
  hostname: string
  /** The VM's disk: kept while the VM exists. */
  disk: ChrootHost
  seed: SeedInfo
  up: boolean
  sshPort: number
  enginePort: number
  engine?: FakeEngine
  /** Engine starts seen in the guest when the stand-in was (re)started. */
  engineStarts: number
}

const fileText = (g: Guest, p: string): string => {
  try {
    return readFileSync(g.disk.path(p), 'utf8').trim()
  } catch {
    return ''
  }
}

/** First boot: the disk made and sshd serving it with the seed's host key and user. */
export async function firstBoot(seed: SeedInfo, o: { hostname: string; sshPort: number; enginePort: number }): Promise<Guest> {
  const disk = await startChrootHost({ user: seed.user, hostname: o.hostname, sshd: { port: o.sshPort, hostKey: seed.hostKey, authorizedKey: seed.authorizedKey } })
  return { hostname: o.hostname, disk, seed, up: true, sshPort: o.sshPort, enginePort: o.enginePort, engineStarts: 0 }
}

/** A later boot of the same disk: an enabled engine starts with the machine. */
export async function reboot(g: Guest): Promise<void> {
  await writeFile(g.disk.path('/var/lib/fake-systemd/docker.state'), `${fileText(g, '/var/lib/fake-systemd/docker.enabled') === 'enabled' ? 'active' : 'inactive'}\n`)
  await g.disk.up(g.sshPort)
  g.up = true
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
  const wanted = g.up && fileText(g, '/var/lib/fake-systemd/docker.state') === 'active' && existsSync(g.disk.path('/etc/docker/server-key.pem'))
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
