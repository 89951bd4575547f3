import type { KeyPair } from './keys.js'

/**
 * cloud-init user data for a machine: the login user with our public key, the hostname, and the
 * SSH host key we generated (so the first connection is already verified). Written as JSON after
 * the `#cloud-config` header: JSON is valid YAML, so no YAML library is needed.
 */
export interface CloudInitOptions {
  user: string
  authorizedKey: string
  hostname: string
  hostKey?: KeyPair
  /** Extra groups for the user (e.g. ['docker'] when the image preinstalls the engine). */
  groups?: string[]
  /** User-supplied cloud-config (YAML or JSON text) to merge: its keys win except users/ssh_keys. */
  extra?: Record<string, unknown>
}

export function cloudInitConfig(o: CloudInitOptions): Record<string, unknown> {
  const cfg: Record<string, unknown> = {
    hostname: o.hostname,
    // Without this, sudo complains "unable to resolve host <name>".
    manage_etc_hosts: true,
    locale: 'C.UTF-8',
    users: [
      {
        name: o.user,
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        shell: '/bin/bash',
        lock_passwd: true,
        ...(o.groups?.length ? { groups: o.groups.join(',') } : {}),
        ssh_authorized_keys: [o.authorizedKey],
      },
    ],
    ssh_pwauth: false,
    disable_root: true,
  }
  if (o.hostKey) {
    cfg.ssh_deletekeys = true
    cfg.ssh_genkeytypes = []
    cfg.ssh_keys = { ed25519_private: o.hostKey.privateKey, ed25519_public: o.hostKey.publicKey }
  }
  return { ...(o.extra ?? {}), ...cfg, ...(o.extra?.runcmd ? { runcmd: o.extra.runcmd } : {}) }
}

export const renderCloudConfig = (cfg: Record<string, unknown>): string => `#cloud-config\n${JSON.stringify(cfg, null, 2)}\n`

/** Parse user-supplied cloud-config text when it is JSON; YAML text is kept as a separate part. */
export function parseUserCloudConfig(text: string): Record<string, unknown> | undefined {
  const body = text.replace(/^#cloud-config\s*\n/, '').trim()
  if (!body.startsWith('{')) return undefined
  try {
    return JSON.parse(body) as Record<string, unknown>
  } catch {
    return undefined
  }
}
