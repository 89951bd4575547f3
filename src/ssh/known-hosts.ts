/**
 * OpenSSH known_hosts, the subset a machine's own pin file needs: plain and hashed (|1|…) host
 * patterns, comma lists, wildcards and negation, @revoked. Lines we do not understand are kept
 * untouched when we add pins, so a hand-edited file survives.
 */
import { createHmac } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../store/atomic.js'

export interface HostKey {
  type: string
  /** The SSH wire-format public key blob (what ssh2's hostVerifier receives). */
  blob: Buffer
}

interface Entry extends HostKey {
  marker: '' | '@revoked' | '@cert-authority'
  patterns: string
}

/** The name OpenSSH looks up: "host" on port 22, "[host]:port" otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase()
  return port === 22 ? h : `[${h}]:${port}`
}

/** The key type named inside a wire-format blob (string length + name). */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown'
  const len = blob.readUInt32BE(0)
  if (len > 64 || blob.length < 4 + len) return 'unknown'
  return blob.subarray(4, 4 + len).toString('latin1')
}

/** "ssh-ed25519 AAAA… comment" → type + blob; throws on a line that is not a public key. */
export function parsePublicKeyLine(line: string): HostKey {
  const [type, b64] = line.trim().split(/\s+/)
  const blob = Buffer.from(b64 ?? '', 'base64')
  if (!type || !b64 || blob.length === 0 || blobType(blob) !== type) {
    throw new Error(`not an OpenSSH public key line: ${JSON.stringify(line.slice(0, 60))}`)
  }
  return { type, blob }
}

function parse(text: string): Entry[] {
  const out: Entry[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const fields = line.split(/\s+/)
    let marker: Entry['marker'] = ''
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as Entry['marker']
    else if (fields[0]?.startsWith('@')) continue
    const [patterns, type, b64] = fields
    if (!patterns || !type || !b64) continue
    const blob = Buffer.from(b64, 'base64')
    if (blob.length === 0) continue
    out.push({ marker, patterns, type, blob })
  }
  return out
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${body}$`)
}

function hashedMatch(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const [, magic, salt, hash] = pattern.split('|')
  if (magic !== '1' || !salt || !hash) return false
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash
}

/** OpenSSH match_hostname: any positive match and no negated match. */
export function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, name)
  let matched = false
  for (const p of patterns.toLowerCase().split(',')) {
    if (!p) continue
    const negated = p.startsWith('!')
    const glob = negated ? p.slice(1) : p
    if (globToRegExp(glob).test(name)) {
      if (negated) return false
      matched = true
    }
  }
  return matched
}

export interface Pins {
  keys: HostKey[]
  revoked: HostKey[]
}

export function pinsFor(text: string, host: string, port: number): Pins {
  const name = knownHostsName(host, port)
  const pins: Pins = { keys: [], revoked: [] }
  for (const e of parse(text)) {
    if (e.marker === '@cert-authority' || !hostMatches(e.patterns, name)) continue
    ;(e.marker === '@revoked' ? pins.revoked : pins.keys).push({ type: e.type, blob: e.blob })
  }
  return pins
}

export async function readKnownHosts(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ''
    throw e
  }
}

/** Add pins for host:port that are not there yet; atomic rewrite, 0600. Returns the lines added. */
export async function pinHostKeys(path: string, host: string, port: number, keys: HostKey[]): Promise<string[]> {
  const text = await readKnownHosts(path)
  const have = pinsFor(text, host, port).keys
  const name = knownHostsName(host, port)
  const added: string[] = []
  for (const k of keys) {
    if (have.some((h) => h.blob.equals(k.blob))) continue
    if (added.some((l) => l.endsWith(` ${k.blob.toString('base64')}`))) continue
    added.push(`${name} ${k.type} ${k.blob.toString('base64')}`)
  }
  if (added.length === 0) return added
  const prefix = text === '' || text.endsWith('\n') ? text : `${text}\n`
  await writeFileAtomic(path, `${prefix}${added.join('\n')}\n`, 0o600)
  return added
}
