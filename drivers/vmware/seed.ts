/**
 * What the machine's cloud-init NoCloud seed (a CD) says: our user and key, the pinned SSH host
 * key, DHCP on the NIC with the MAC the .vmx gives it, and VMware's guest tools (open-vm-tools:
 * they let `vmrun getGuestIPAddress` and a soft `vmrun stop` work, and mount the shared folder).
 * Until they are installed (cloud-init's final stage, from the distribution's mirror), the
 * driver finds the address in the vmnet DHCP leases and stops the VM hard after its bound.
 */
import { localGuestConfig, renderCloudConfig } from '../../src/driver-kit/cloud-init.js'
import type { KeyPair } from '../../src/driver-kit/keys.js'

export interface SeedSpec {
  machineName: string
  user: string
  authorizedKey: string
  hostKey: KeyPair
  /** "00:50:56:…", as in the .vmx */
  mac: string
  /** The VMware shared folder's name, mounted at guestPath with vmhgfs-fuse. */
  share?: { name: string; guestPath: string }
}

/** cloud-init network-config version 2 (JSON is YAML): DHCP on our NIC, whatever the kernel names it. */
export function networkConfig(s: Pick<SeedSpec, 'mac'>): string {
  return `${JSON.stringify({ version: 2, ethernets: { nic: { match: { macaddress: s.mac }, 'set-name': 'eth0', dhcp4: true } } }, null, 2)}\n`
}

export function userData(s: SeedSpec): string {
  const cfg = localGuestConfig({ user: s.user, authorizedKey: s.authorizedKey, hostname: s.machineName, hostKey: s.hostKey })
  cfg.packages = ['open-vm-tools']
  // cloud-init installs that in its last stage, which may overlap the engine's installation over
  // SSH: both use apt, and apt fails at once on a held dpkg lock unless told to wait (apt >= 1.9.11,
  // Debian 11+). Written in cloud-init's first stages, before sshd starts.
  cfg.write_files = [{ path: '/etc/apt/apt.conf.d/90machine-wait-for-lock', content: 'DPkg::Lock::Timeout "600";\n', permissions: '0644' }]
  if (s.share) {
    // vmhgfs-fuse comes with open-vm-tools, installed in the same (final) stage: the fstab line
    // ("nofail": a missing share never stops a boot) is mounted once the package is there.
    cfg.mounts = [[`.host:/${s.share.name}`, s.share.guestPath, 'fuse.vmhgfs-fuse', 'defaults,allow_other,nofail', '0', '0']]
    cfg.runcmd = [['sh', '-c', `mkdir -p ${s.share.guestPath} && mount ${s.share.guestPath} || true`]]
  }
  return renderCloudConfig(cfg)
}
