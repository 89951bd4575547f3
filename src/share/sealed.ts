/**
 * The sealed file `machine export` writes and `machine import` opens: a JSON envelope around
 * AES-256-GCM ciphertext whose key comes from the passphrase through scrypt (node:crypto, both
 * standard constructions; nothing home-made). The envelope's own fields (format, version, KDF
 * parameters, IV) are the cipher's additional data, so changing any of them fails the open just
 * as a wrong passphrase or a flipped byte does. The payload's content, the machine's name
 * included, is only inside the ciphertext.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto'
import { MachineError } from '../core/errors.js'

export const SEALED_FORMAT = 'machine-export'
const VERSION = 1
/** scrypt's cost for new files: N=2^17, r=8 (128 MiB, about half a second), as age and libsodium's "sensitive" level use. */
const KDF = { name: 'scrypt', N: 2 ** 17, r: 8, p: 1 } as const
/** What a file may ask of us when opened: a hostile file must not make us allocate gigabytes. */
const KDF_LIMITS = { N: 2 ** 20, r: 16, p: 4 }
export const MIN_PASSPHRASE = 12

interface Envelope {
  format: typeof SEALED_FORMAT
  version: number
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string }
  cipher: 'aes-256-gcm'
  iv: string
  data: string
  tag: string
}

const deriveKey = (passphrase: string, salt: Buffer, k: { N: number; r: number; p: number }): Promise<Buffer> =>
  new Promise((res, rej) =>
    scrypt(passphrase.normalize('NFC'), salt, 32, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + 1024 * 1024 }, (e, key) => (e ? rej(e) : res(key))),
  )

/** The envelope's fields the cipher authenticates: everything but the ciphertext and its tag, in a fixed order. */
const additionalData = (e: Omit<Envelope, 'data' | 'tag'>): Buffer => Buffer.from(JSON.stringify([e.format, e.version, e.kdf.name, e.kdf.N, e.kdf.r, e.kdf.p, e.kdf.salt, e.cipher, e.iv]))

export async function seal(payload: Buffer, passphrase: string): Promise<string> {
  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const head = { format: SEALED_FORMAT, version: VERSION, kdf: { ...KDF, salt: salt.toString('base64') }, cipher: 'aes-256-gcm', iv: iv.toString('base64') } as const
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(passphrase, salt, KDF), iv)
  cipher.setAAD(additionalData(head))
  const data = Buffer.concat([cipher.update(payload), cipher.final()])
  const env: Envelope = { ...head, data: data.toString('base64'), tag: cipher.getAuthTag().toString('base64') }
  return `${JSON.stringify(env, null, 1)}\n`
}

const notSealed = (what: string, why: string): MachineError =>
  new MachineError('invalid-export-file', `${what} is not a file made by "machine export" (${why})`, { hint: 'give the file that "machine export NAME -o FILE" wrote' })

export async function unseal(text: string, passphrase: string, what: string): Promise<Buffer> {
  let e: Envelope
  try {
    e = JSON.parse(text) as Envelope
  } catch {
    throw notSealed(what, 'not JSON')
  }
  if (!e || typeof e !== 'object' || e.format !== SEALED_FORMAT) throw notSealed(what, 'no "format": "machine-export"')
  if (e.version !== VERSION) throw new MachineError('invalid-export-file', `${what} is export version ${String(e.version)}; this machine reads version ${VERSION}`, { hint: 'upgrade machine, or export again with this version' })
  const k = e.kdf
  const b64 = (s: unknown): s is string => typeof s === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(s)
  if (!k || k.name !== 'scrypt' || e.cipher !== 'aes-256-gcm' || ![k.salt, e.iv, e.data, e.tag].every(b64)) throw notSealed(what, 'damaged envelope')
  const pow2 = Number.isSafeInteger(k.N) && k.N > 1 && (k.N & (k.N - 1)) === 0
  if (!pow2 || k.N > KDF_LIMITS.N || !(k.r >= 1 && k.r <= KDF_LIMITS.r) || !(k.p >= 1 && k.p <= KDF_LIMITS.p) || !Number.isInteger(k.r) || !Number.isInteger(k.p)) {
    throw notSealed(what, 'key-derivation parameters out of range')
  }
  const iv = Buffer.from(e.iv, 'base64')
  const tag = Buffer.from(e.tag, 'base64')
  if (iv.length !== 12 || tag.length !== 16) throw notSealed(what, 'damaged envelope')
  const decipher = createDecipheriv('aes-256-gcm', await deriveKey(passphrase, Buffer.from(k.salt, 'base64'), k), iv)
  decipher.setAAD(additionalData(e))
  decipher.setAuthTag(tag)
  try {
    return Buffer.concat([decipher.update(Buffer.from(e.data, 'base64')), decipher.final()])
  } catch {
    throw new MachineError('wrong-passphrase', `Cannot open ${what}: wrong passphrase, or the file was changed`, { hint: 'type the passphrase given at export; a changed file cannot be opened at all' })
  }
}
