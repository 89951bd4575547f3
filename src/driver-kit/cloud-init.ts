import { randomBytes } from 'node:crypto'
import { MachineError } from '../core/errors.js'
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

/**
 * The user data of a local VM's guest (qemu, virtualbox, vmware, hyperv): our user, in the docker
 * group. A user named like a group the image may already have (docker, when the image
 * preinstalls docker.io) makes useradd fail unless that group is its primary group; cloud-init
 * creates the group when it is missing.
 */
export function localGuestConfig(o: Pick<CloudInitOptions, 'user' | 'authorizedKey' | 'hostname' | 'hostKey'>): Record<string, unknown> {
  const cfg = cloudInitConfig({ ...o, groups: ['docker'] })
  const first = (cfg.users as Array<Record<string, unknown>> | undefined)?.[0]
  if (first && o.user === 'docker') first.primary_group = 'docker'
  return cfg
}

export const renderCloudConfig = (cfg: Record<string, unknown>): string => `#cloud-config\n${JSON.stringify(cfg, null, 2)}\n`

/** Parse user-supplied cloud-config text when it is JSON (a `#cloud-config` line first or not); YAML gives undefined. */
export function parseUserCloudConfig(text: string): Record<string, unknown> | undefined {
  const body = text.replace(/^#cloud-config\s*\n/, '').trim()
  if (!body.startsWith('{')) return undefined
  try {
    return JSON.parse(body) as Record<string, unknown>
  } catch {
    return undefined
  }
}

// ---- user data: our cloud-config together with the user's own file -------------------------------

/** What a cloud accepts as user data, and the flag the user's file came from (named in errors). */
export interface UserDataLimits {
  /** The flag that named the user's file, e.g. '--amazonec2-userdata'. */
  flag: string
  /** The cloud's limit in bytes, before base64 (EC2: 16 KiB, Azure: 64 KiB). */
  maxBytes: number
  /** Who sets the limit, e.g. 'EC2'. */
  provider: string
}

/** MIME type cloud-init gives a user-data part, by its first line. */
function partType(text: string): string | undefined {
  if (text.startsWith('#cloud-config')) return 'text/cloud-config'
  if (text.startsWith('#!')) return 'text/x-shellscript'
  if (text.startsWith('#cloud-boothook')) return 'text/cloud-boothook'
  if (text.startsWith('#include')) return 'text/x-include-url'
  return undefined
}

/**
 * cloud-init's merge of two cloud-config parts, set on the later one (ours): lists are appended
 * (the user's `users` stay and ours is added), dictionaries merged recursively, and for a scalar
 * both set the later part wins (our hostname and host key, so the login keeps working).
 */
export const CLOUD_CONFIG_MERGE_TYPE = 'list(append)+dict(recurse_array)+str()'

interface Part {
  type: string
  body: string
  mergeType?: string
}

function multipart(parts: readonly Part[]): string {
  let boundary = `MACHINE-${randomBytes(12).toString('hex')}`
  while (parts.some((p) => p.body.includes(boundary))) boundary = `MACHINE-${randomBytes(12).toString('hex')}`
  const out = [`Content-Type: multipart/mixed; boundary="${boundary}"`, 'MIME-Version: 1.0', '']
  parts.forEach((p, i) => {
    // Header order is free in MIME; Content-Type comes last, just before the body.
    out.push(`--${boundary}`, `Content-Disposition: attachment; filename="part-${i + 1}"`)
    if (p.mergeType) out.push(`Merge-Type: ${p.mergeType}`)
    // The line break before a boundary belongs to the boundary (RFC 2046), not to the body.
    out.push(`Content-Type: ${p.type}; charset="utf-8"`, 'MIME-Version: 1.0', '', p.body.endsWith('\n') ? p.body.slice(0, -1) : p.body)
  })
  out.push(`--${boundary}--`, '')
  return out.join('\n')
}

/**
 * A machine's user data: our cloud-config (login user and key, hostname, pinned host key) merged
 * with the user's own file (a cloud's --…-userdata / --…-custom-data), never replaced by it.
 *  - cloud-config as JSON (with or without the `#cloud-config` line): merged into ours as one
 *    document; the user's keys win except the login user and SSH keys (see cloudInitConfig).
 *  - cloud-config as YAML: the kit bundles no YAML library (the project has none, and one is not
 *    worth a dependency here), so it is not parsed: it goes as a first MIME part and ours follows
 *    with CLOUD_CONFIG_MERGE_TYPE, so cloud-init itself merges the two the way a YAML merge would.
 *  - a `#!` script, `#cloud-boothook` or `#include` (URLs to fetch) file: a MIME part after ours,
 *    which cloud-init runs or fetches as usual.
 * Anything else, or a result over the cloud's limit, is refused before anything is made.
 */
export function composeUserData(ours: Omit<CloudInitOptions, 'extra'>, userText: string | undefined, limits: UserDataLimits): string {
  let data: string
  if (userText === undefined || userText.trim() === '') {
    data = renderCloudConfig(cloudInitConfig(ours))
  } else {
    const text = userText.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n')
    const json = parseUserCloudConfig(text)
    const type = partType(text)
    if (json) {
      data = renderCloudConfig(cloudInitConfig({ ...ours, extra: json }))
    } else if (!type) {
      throw new MachineError('invalid-userdata', `the ${limits.flag} file is neither #cloud-config nor a #! script`, {
        hint: 'start the file with "#cloud-config", a "#!" interpreter line, "#cloud-boothook" or "#include"',
      })
    } else {
      const mine: Part = { type: 'text/cloud-config', body: renderCloudConfig(cloudInitConfig(ours)) }
      data =
        type === 'text/cloud-config'
          ? multipart([{ type, body: text }, { ...mine, mergeType: CLOUD_CONFIG_MERGE_TYPE }])
          : multipart([mine, { type, body: text }])
    }
  }
  const size = Buffer.byteLength(data)
  if (size > limits.maxBytes) {
    throw new MachineError('invalid-userdata', `user data is ${size} bytes, over ${limits.provider}'s limit of ${limits.maxBytes}`, {
      hint: `shorten the ${limits.flag} file, or have it download a larger script (#include or curl)`,
    })
  }
  return data
}
