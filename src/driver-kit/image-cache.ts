/**
 * The base image of a local VM driver (qemu, virtualbox): a local file used in place, or an
 * http(s) download cached once under <store>/cache/ and verified against its checksum (given, or
 * looked up in the SHA512SUMS / SHA256SUMS file published next to it). A download that fails
 * verification is deleted. Messages name the calling driver's flags (ImageFlags).
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync } from 'node:fs'
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { basename, isAbsolute, join, resolve } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { MachineError } from './errors.js'
import type { DriverLogger } from './contract.js'

export type HashAlgo = 'sha256' | 'sha512'
export interface Checksum {
  algo: HashAlgo
  hex: string
}

const HEX_LEN: Record<number, HashAlgo> = { 64: 'sha256', 128: 'sha512' }

/** The calling driver's flags, named in errors and hints ('--qemu-image', '--qemu-image-checksum'). */
export interface ImageFlags {
  image: string
  checksum: string
  /** How to go on without the network; default: localImageHint(image). */
  localHint?: string
}

/** How to go on without the network: a local image. */
export const localImageHint = (flags: Pick<ImageFlags, 'image' | 'localHint'>): string => flags.localHint ?? `or use a local image: ${flags.image} PATH`

/** "sha256:<hex>", "sha512:<hex>", a bare 64/128-digit hex digest, or the URL of a *SUMS file. */
export function parseChecksum(spec: string, flag: string): Checksum | { sumsUrl: string } {
  const s = spec.trim()
  if (/^(https?|file):\/\//i.test(s)) return { sumsUrl: s }
  const m = /^(?:(sha256|sha512)[:=])?([0-9a-f]+)$/i.exec(s)
  const hex = m?.[2]?.toLowerCase()
  const algo = (m?.[1]?.toLowerCase() as HashAlgo | undefined) ?? (hex ? HEX_LEN[hex.length] : undefined)
  if (!hex || !algo || hex.length !== (algo === 'sha256' ? 64 : 128)) {
    throw new MachineError('invalid-option', `${flag} "${spec}" is not a checksum`, {
      hint: 'use sha256:<64 hex digits>, sha512:<128 hex digits>, or the URL of a SHA256SUMS/SHA512SUMS file',
    })
  }
  return { algo, hex }
}

/** Find `fileName` in a checksum list (GNU "<hex>  name" / "<hex> *name" or BSD "SHA512 (name) = hex"). */
export function findInSums(text: string, fileName: string): Checksum | undefined {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    const gnu = /^([0-9a-f]{64}|[0-9a-f]{128})\s+\*?(.+)$/i.exec(line)
    if (gnu && basename(gnu[2]!.trim()) === fileName) {
      const hex = gnu[1]!.toLowerCase()
      return { algo: HEX_LEN[hex.length]!, hex }
    }
    const bsd = /^(SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9a-f]+)$/i.exec(line)
    if (bsd && basename(bsd[2]!) === fileName) return { algo: bsd[1]!.toLowerCase() as HashAlgo, hex: bsd[3]!.toLowerCase() }
  }
  return undefined
}

export async function hashFile(path: string, algo: HashAlgo, signal?: AbortSignal): Promise<string> {
  const h = createHash(algo)
  await pipeline(createReadStream(path), async function* (src) {
    for await (const chunk of src) {
      signal?.throwIfAborted()
      h.update(chunk as Buffer)
    }
  })
  return h.digest('hex')
}

const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s)

const mismatch = (what: string, c: Checksum, got: string, deleted: boolean, flag: string) =>
  new MachineError('checksum-mismatch', `${what} does not match its ${c.algo} checksum (expected ${c.hex}, got ${got})`, {
    hint: deleted ? `the bad download was deleted; check the URL and ${flag} and try again` : `check the file and ${flag}`,
  })

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/** The innermost error code of a fetch failure (fetch wraps the socket error in `cause`, sometimes an AggregateError). */
function causeCode(e: unknown): { code: string; message: string } | undefined {
  let cur = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown[] } | undefined
  let found: { code: string; message: string } | undefined
  for (let depth = 0; cur && depth < 5; depth++) {
    if (typeof cur.code === 'string') found = { code: cur.code, message: String(cur.message ?? '') }
    cur = (cur.cause ?? (Array.isArray(cur.errors) ? cur.errors[0] : undefined)) as typeof cur
  }
  return found
}

/**
 * A failed fetch as one line: what went wrong (from the error's cause: DNS, refused, TLS,
 * timeout, proxy) and how to go on (fix the network, or use a local image).
 */
export function fetchFailure(url: string, e: unknown, localHint: string, env: NodeJS.ProcessEnv = process.env): MachineError {
  const host = (() => {
    try {
      return new URL(url).host
    } catch {
      return url
    }
  })()
  const proxy = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy
  const proxyUsed = !!proxy && (/^(1|true)$/i.test(env.NODE_USE_ENV_PROXY ?? '') || /--use-env-proxy/.test(env.NODE_OPTIONS ?? ''))
  const c = causeCode(e)
  const code = c?.code ?? ''
  let why: string
  let fix: string
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    why = `cannot resolve ${host} (DNS lookup failed: ${code}; offline?)`
    fix = 'check the network and DNS'
  } else if (code === 'ECONNREFUSED') {
    why = `${proxyUsed ? `the proxy ${proxy}` : host} refused the connection (ECONNREFUSED)`
    fix = proxyUsed ? 'check HTTPS_PROXY' : 'check the URL and the network'
  } else if (TLS_CODES.has(code)) {
    why = `the TLS certificate of ${host} is not trusted (${code}; a proxy or firewall that re-signs TLS?)`
    fix = 'trust its CA with NODE_EXTRA_CA_CERTS=/path/to/ca.pem'
  } else if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    why = `${host} did not answer in time (${code})`
    fix = 'check the network and firewall'
  } else if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') {
    why = `no route to ${host} (${code}; offline?)`
    fix = 'check the network'
  } else if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
    why = `the connection to ${host} was closed (${code}${c?.message ? `: ${c.message}` : ''})`
    fix = 'try again; behind a firewall or proxy, check that it lets the download through'
  } else {
    why = `${(e as Error)?.message ?? String(e)}${c ? ` (${code}${c.message ? `: ${c.message}` : ''})` : ''}`
    fix = 'check the URL and the network'
  }
  // Node's fetch ignores HTTPS_PROXY unless told to use it.
  if (proxy && !proxyUsed) fix += `; HTTPS_PROXY is set but not used: set NODE_USE_ENV_PROXY=1 to go through ${proxy}`
  else if (!proxy && (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT')) fix += ' (behind a proxy: set HTTPS_PROXY and NODE_USE_ENV_PROXY=1)'
  return new MachineError('download-failed', `Could not download ${url}: ${why}`, { hint: `${fix}, ${localHint}`, cause: e })
}

/** fetch() whose failure (not an abort) is explained by fetchFailure. */
async function fetchOrExplain(url: string, signal: AbortSignal, localHint: string): Promise<Response> {
  try {
    return await fetch(url, { signal })
  } catch (e) {
    if (signal.aborted) throw e
    throw fetchFailure(url, e, localHint)
  }
}

/** Fetch a small text file (a *SUMS list) from http(s) or file:. */
async function fetchText(url: string, signal: AbortSignal, localHint: string): Promise<string | undefined> {
  if (url.startsWith('file:')) {
    try {
      return await readFile(fileURLToPath(url), 'utf8')
    } catch {
      return undefined
    }
  }
  const res = await fetchOrExplain(url, signal, localHint)
  if (!res.ok) return undefined
  return res.text()
}

export interface ResolveImageOptions {
  /** The image flag's value: path, file: URL or http(s) URL. */
  image: string
  /** The checksum flag's value (may be empty). */
  checksum?: string
  /** <store>/cache */
  cacheDir: string
  log: DriverLogger
  signal: AbortSignal
  /** The driver's flags, named in errors. */
  flags: ImageFlags
  /** Progress lines at most this often (ms). */
  progressEveryMs?: number
}

export interface ResolvedImage {
  path: string
  /** True when this call downloaded it. */
  downloaded: boolean
  checksum?: Checksum
}

async function checksumFor(o: ResolveImageOptions, url: string | undefined, name: string): Promise<Checksum | undefined> {
  if (o.checksum?.trim()) {
    const c = parseChecksum(o.checksum, o.flags.checksum)
    if ('algo' in c) return c
    const text = await fetchText(c.sumsUrl, o.signal, localImageHint(o.flags))
    const found = text === undefined ? undefined : findInSums(text, name)
    if (!found) throw new MachineError('checksum-not-found', `${c.sumsUrl} does not list ${name}`)
    return found
  }
  if (!url || !/^https?:/i.test(url)) return undefined
  // Debian (and most distributions) publish SHA512SUMS/SHA256SUMS next to their cloud images.
  const dir = url.slice(0, url.lastIndexOf('/') + 1)
  for (const list of ['SHA512SUMS', 'SHA256SUMS']) {
    const text = await fetchText(dir + list, o.signal, localImageHint(o.flags)).catch(() => undefined)
    const found = text === undefined ? undefined : findInSums(text, name)
    if (found) {
      o.log.debug(`checksum of ${name} from ${dir}${list}`)
      return found
    }
  }
  return undefined
}

const human = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GB` : `${Math.round(n / 2 ** 20)} MB`)

async function download(url: string, dest: string, o: ResolveImageOptions, c: Checksum | undefined): Promise<void> {
  const name = basename(new URL(url).pathname) || basename(dest)
  const part = `${dest}.part-${process.pid}-${Date.now()}`
  const localHint = localImageHint(o.flags)
  const res = await fetchOrExplain(url, o.signal, localHint)
  if (res.status === 407) throw new MachineError('download-failed', `Could not download ${url}: the proxy wants credentials (HTTP 407)`, { hint: `put them in HTTPS_PROXY (http://user:password@proxy:port), ${localHint}` })
  if (!res.ok || !res.body) throw new MachineError('download-failed', `Could not download ${url}: HTTP ${res.status}`, { hint: `check the URL, ${localHint}` })
  const total = Number(res.headers.get('content-length') ?? 0)
  const h = c ? createHash(c.algo) : undefined
  let got = 0
  let lastLog = Date.now()
  let lastPct = -1
  const every = o.progressEveryMs ?? 5000
  o.log.info(`Downloading ${url}${total ? ` (${human(total)})` : ''}`)
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      got += chunk.length
      h?.update(chunk)
      const pct = total ? Math.floor((got * 100) / total) : -1
      if (Date.now() - lastLog >= every && pct !== lastPct) {
        lastLog = Date.now()
        lastPct = pct
        o.log.info(`Downloading ${name}: ${human(got)}${total ? ` of ${human(total)} (${pct}%)` : ''}`)
      }
      cb(null, chunk)
    },
  })
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), meter, createWriteStream(part, { mode: 0o644 }), {
      signal: o.signal,
    })
    if (total && got !== total) throw new MachineError('download-failed', `Download of ${url} ended after ${got} of ${total} bytes`)
    if (c && h) {
      const hex = h.digest('hex')
      if (hex !== c.hex) {
        await unlink(part).catch(() => undefined)
        throw mismatch(`The download of ${url}`, c, hex, true, o.flags.checksum)
      }
    }
    // Only verified files ever appear under the final name.
    await rename(part, dest)
  } catch (e) {
    await unlink(part).catch(() => undefined)
    // The connection dropping mid-download ("terminated"): say why, like a failed start.
    if (!(e instanceof MachineError) && !o.signal.aborted) throw fetchFailure(url, e, localHint)
    throw e
  }
  o.log.info(`Downloaded ${name} (${human(got)})${c ? `, ${c.algo} verified` : ', not verified (no checksum published or given)'}`)
}

/** Local path or cached download of the image, verified when a checksum is known. */
export async function resolveImage(o: ResolveImageOptions): Promise<ResolvedImage> {
  const spec = o.image.trim()
  if (!spec) throw new MachineError('invalid-option', `${o.flags.image} is empty`)
  if (!isUrl(spec) || spec.startsWith('file:')) {
    const path = spec.startsWith('file:') ? fileURLToPath(spec) : isAbsolute(spec) ? spec : resolve(spec)
    if (!existsSync(path)) throw new MachineError('image-not-found', `Image ${path} does not exist`, { hint: `check ${o.flags.image}` })
    const c = await checksumFor(o, undefined, basename(path))
    if (c) {
      o.log.info(`Verifying ${basename(path)} (${c.algo})`)
      const hex = await hashFile(path, c.algo, o.signal)
      // The user's own file is never deleted.
      if (hex !== c.hex) throw mismatch(path, c, hex, false, o.flags.checksum)
    }
    return { path, downloaded: false, ...(c ? { checksum: c } : {}) }
  }
  if (!/^https?:/i.test(spec)) throw new MachineError('invalid-option', `${o.flags.image} "${spec}": only http(s) and file URLs are supported`)
  const name = (basename(new URL(spec).pathname) || 'image').replace(/[^A-Za-z0-9._-]/g, '_')
  const c = await checksumFor(o, spec, name)
  const key = c ? `${c.algo}-${c.hex.slice(0, 16)}` : `url-${createHash('sha256').update(spec).digest('hex').slice(0, 16)}`
  await mkdir(o.cacheDir, { recursive: true, mode: 0o755 })
  const dest = join(o.cacheDir, `${key}-${name}`)
  if (existsSync(dest)) {
    if (!c) {
      o.log.info(`Using cached ${name} (no checksum to verify it against)`)
      return { path: dest, downloaded: false }
    }
    const hex = await hashFile(dest, c.algo, o.signal)
    if (hex === c.hex) {
      o.log.debug(`cached image ${dest} verified`)
      return { path: dest, downloaded: false, checksum: c }
    }
    o.log.info(`Cached ${name} does not match its checksum: deleting it and downloading again`)
    await unlink(dest).catch(() => undefined)
  }
  await download(spec, dest, o, c)
  return { path: dest, downloaded: true, ...(c ? { checksum: c } : {}) }
}

/** qcow2 or raw, from the file's magic bytes ("QFI\xfb"). */
export async function imageFormat(path: string): Promise<'qcow2' | 'raw'> {
  const fh = await open(path, 'r')
  try {
    const b = Buffer.alloc(4)
    await fh.read(b, 0, 4, 0)
    return b.equals(Buffer.from([0x51, 0x46, 0x49, 0xfb])) ? 'qcow2' : 'raw'
  } finally {
    await fh.close()
  }
}
