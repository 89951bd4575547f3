import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../store/atomic.js'
import { machineKeyPath } from '../store/paths.js'
import { loadSsh2 } from './ssh2-module.js'

export interface KeyPair {
  /** OpenSSH private key (PEM-like "BEGIN OPENSSH PRIVATE KEY"). */
  privateKey: string
  /** One-line OpenSSH public key ("ssh-ed25519 AAAA… comment"). */
  publicKey: string
}

async function generate(type: 'ed25519' | 'rsa', comment: string): Promise<KeyPair> {
  // ssh2 is loaded lazily: commands like `env` and `ls` never need it.
  const { utils } = await loadSsh2()
  const k =
    type === 'rsa'
      ? utils.generateKeyPairSync('rsa', { bits: 2048, comment })
      : utils.generateKeyPairSync('ed25519', { comment })
  return { privateKey: k.private, publicKey: k.public.trim() }
}

/**
 * The machine's SSH client key: `<machineDir>/id_rsa` (+ .pub), docker-machine's file names.
 * RSA because every cloud accepts it for imported key pairs. Made once; reused after.
 */
export async function ensureMachineSshKey(machineDir: string, comment = 'machine'): Promise<KeyPair & { path: string }> {
  const path = machineKeyPath(machineDir)
  if (existsSync(path) && existsSync(`${path}.pub`)) {
    return { path, privateKey: await readFile(path, 'utf8'), publicKey: (await readFile(`${path}.pub`, 'utf8')).trim() }
  }
  const kp = await generate('rsa', comment)
  await writeFileAtomic(path, kp.privateKey, 0o600)
  await writeFileAtomic(`${path}.pub`, `${kp.publicKey}\n`, 0o644)
  return { path, ...kp }
}

/** A fresh ed25519 SSH host key for the guest, injected via cloud-init so it is pinned before boot. */
export const generateHostKey = (comment = 'machine-host-key'): Promise<KeyPair> => generate('ed25519', comment)

/** OpenSSH-style "SHA256:<base64 without padding>" fingerprint of a public key line or key blob. */
export function fingerprintOf(publicKey: string | Buffer): string {
  const blob = typeof publicKey === 'string' ? Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64') : publicKey
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}
