/**
 * What the machine's cloud-init NoCloud seed (a DVD) says: our user and key, the pinned SSH host
 * key, the engine's first-boot TLS config, the shared folder's mount, and a network-config that
 * fixes the host-only NIC's address (NIC 1, NAT, keeps DHCP). NICs are matched by the MACs the
 * driver gives them, so the config holds whatever names the guest's kernel picks.
 */
import { localGuestConfig, renderCloudConfig } from '../../src/driver-kit/cloud-init.js'
import type { KeyPair } from '../../src/driver-kit/keys.js'
import { colonMac } from './hostonly.js'

export interface SeedSpec {
  machineName: string
  user: string
  authorizedKey: string
  hostKey: KeyPair
  natMac: string
  hostOnlyMac: string
  /** "192.168.56.2/24" */
  hostOnlyAddress: string
  /** The VirtualBox share name and where it is mounted in the guest ("/Users"). */
  share?: { name: string; guestPath: string }
  engineBootstrap?: string
}

/** A shell word (the share's name and path are already restricted to plain characters: this is belt and braces). */
const sq = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`

/** cloud-init network-config version 2 (JSON is YAML). */
export function networkConfig(s: Pick<SeedSpec, 'natMac' | 'hostOnlyMac' | 'hostOnlyAddress'>): string {
  return `${JSON.stringify(
    {
      version: 2,
      ethernets: {
        nat: { match: { macaddress: colonMac(s.natMac) }, 'set-name': 'eth0', dhcp4: true },
        hostonly: { match: { macaddress: colonMac(s.hostOnlyMac) }, 'set-name': 'eth1', dhcp4: false, addresses: [s.hostOnlyAddress] },
      },
    },
    null,
    2,
  )}\n`
}

/** The user-data (#cloud-config). */
export function userData(s: SeedSpec): string {
  const cfg = localGuestConfig({ user: s.user, authorizedKey: s.authorizedKey, hostname: s.machineName, hostKey: s.hostKey })
  const bootcmd: string[] = []
  // Mounted at every boot by bootcmd, not cloud-init's `mounts` (which reads a share name as a
  // device, /dev/NAME). vboxsf is in Debian's kernel; a missing share never stops the boot.
  // uid 1000: the first user, ours (its primary group may be an image's docker group: no gid).
  if (s.share) bootcmd.push(`mkdir -p ${sq(s.share.guestPath)} && mount -t vboxsf -o uid=1000 ${sq(s.share.name)} ${sq(s.share.guestPath)} || true`)
  if (s.engineBootstrap) bootcmd.push(s.engineBootstrap)
  if (bootcmd.length) cfg.bootcmd = bootcmd
  return renderCloudConfig(cfg)
}
