/**
 * Base image resolution: checksums, the SHA*SUMS lookup, download + cache under <store>/cache,
 * and deletion of a download that fails verification. The "remote" is an HTTP server on
 * 127.0.0.1 made by the test.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { fetchFailure, findInSums, imageFormat, parseChecksum, resolveImage } from '../../drivers/qemu/image.js'
import { freePort } from '../helpers/sshd.js'
import { tempDir } from '../helpers/tmp.js'

const payload = Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb]), Buffer.alloc(300_000, 9)])
const sha256 = createHash('sha256').update(payload).digest('hex')
const sha512 = createHash('sha512').update(payload).digest('hex')

let dir = ''
let server: Server
let base = ''
const requests: string[] = []
/** What the server answers, by path. */
const routes = new Map<string, Buffer | string>()

const logs: string[] = []
const log = { info: (l: string) => logs.push(l), debug: () => {} }
const signal = new AbortController().signal

beforeAll(async () => {
  dir = await tempDir('qemu-image-')
  server = createServer((req, res) => {
    requests.push(req.url ?? '')
    const body = routes.get(req.url ?? '')
    if (body === undefined) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(() => {
  server.close()
})
beforeEach(() => {
  requests.length = 0
  logs.length = 0
  routes.clear()
})

const cacheOf = (name: string) => join(dir, name, 'cache')

describe('checksum parsing', () => {
  it('accepts algo:hex, bare hex by length, and SUMS URLs', () => {
    expect(parseChecksum(`sha256:${sha256}`)).toEqual({ algo: 'sha256', hex: sha256 })
    expect(parseChecksum(sha512.toUpperCase())).toEqual({ algo: 'sha512', hex: sha512 })
    expect(parseChecksum('https://example.invalid/SHA512SUMS')).toEqual({ sumsUrl: 'https://example.invalid/SHA512SUMS' })
    expect(() => parseChecksum('sha256:abcd')).toThrow(/is not a checksum/)
    expect(() => parseChecksum(`sha512:${sha256}`)).toThrow(/is not a checksum/)
  })

  it('finds a file in GNU and BSD style checksum lists', () => {
    const gnu = `${'a'.repeat(128)}  other.qcow2\n${sha512}  debian-12-genericcloud-amd64.qcow2\n`
    expect(findInSums(gnu, 'debian-12-genericcloud-amd64.qcow2')).toEqual({ algo: 'sha512', hex: sha512 })
    expect(findInSums(`${sha256} *dir/img.raw\n`, 'img.raw')).toEqual({ algo: 'sha256', hex: sha256 })
    expect(findInSums(`SHA256 (img.raw) = ${sha256}\n`, 'img.raw')).toEqual({ algo: 'sha256', hex: sha256 })
    expect(findInSums(gnu, 'missing.qcow2')).toBeUndefined()
  })
})

describe('image download and cache', () => {
  it('downloads once, verifies against the given checksum, and reuses the cache', async () => {
    routes.set('/img/good.qcow2', payload)
    const o = { image: `${base}/img/good.qcow2`, checksum: `sha256:${sha256}`, cacheDir: cacheOf('a'), log, signal, progressEveryMs: 0 }
    const r = await resolveImage(o)
    expect(r.downloaded).toBe(true)
    expect(r.path.startsWith(cacheOf('a'))).toBe(true)
    expect((await readFile(r.path)).equals(payload)).toBe(true)
    expect(logs.some((l) => /^Downloading good\.qcow2: .*\(\d+%\)$/.test(l))).toBe(true)
    expect(logs.at(-1)).toMatch(/sha256 verified/)
    expect(await imageFormat(r.path)).toBe('qcow2')

    requests.length = 0
    const again = await resolveImage(o)
    expect(again).toEqual({ path: r.path, downloaded: false, checksum: { algo: 'sha256', hex: sha256 } })
    expect(requests).toEqual([])
  })

  it('a checksum mismatch is an error and the bad download is deleted', async () => {
    routes.set('/img/bad.qcow2', Buffer.concat([payload, Buffer.from('tampered')]))
    const cache = cacheOf('b')
    await expect(resolveImage({ image: `${base}/img/bad.qcow2`, checksum: sha256, cacheDir: cache, log, signal })).rejects.toThrow(
      new RegExp(`does not match its sha256 checksum \\(expected ${sha256}, got [0-9a-f]{64}\\)`),
    )
    expect(readdirSync(cache)).toEqual([])
  })

  it('looks the checksum up in SHA512SUMS published next to the image', async () => {
    routes.set('/debian/latest/img.qcow2', payload)
    routes.set('/debian/latest/SHA512SUMS', `${'0'.repeat(128)}  other.qcow2\n${sha512}  img.qcow2\n`)
    const r = await resolveImage({ image: `${base}/debian/latest/img.qcow2`, cacheDir: cacheOf('c'), log, signal })
    expect(r.checksum).toEqual({ algo: 'sha512', hex: sha512 })
    expect(requests).toEqual(['/debian/latest/SHA512SUMS', '/debian/latest/img.qcow2'])
  })

  it('one SHA512SUMS for both architectures: each guest architecture gets its own image, checksum and cache file', async () => {
    const arm = Buffer.concat([payload, Buffer.from('arm64')])
    const armSha512 = createHash('sha512').update(arm).digest('hex')
    const dir = '/images/cloud/bookworm/latest'
    routes.set(`${dir}/debian-12-genericcloud-amd64.qcow2`, payload)
    routes.set(`${dir}/debian-12-genericcloud-arm64.qcow2`, arm)
    routes.set(`${dir}/SHA512SUMS`, `${sha512}  debian-12-genericcloud-amd64.qcow2\n${armSha512}  debian-12-genericcloud-arm64.qcow2\n`)
    const cache = cacheOf('per-arch')
    const a = await resolveImage({ image: `${base}${dir}/debian-12-genericcloud-arm64.qcow2`, cacheDir: cache, log, signal })
    const x = await resolveImage({ image: `${base}${dir}/debian-12-genericcloud-amd64.qcow2`, cacheDir: cache, log, signal })
    expect(a.checksum).toEqual({ algo: 'sha512', hex: armSha512 })
    expect(x.checksum).toEqual({ algo: 'sha512', hex: sha512 })
    expect(a.path).not.toBe(x.path)
    expect((await readFile(a.path)).equals(arm)).toBe(true)
    expect((await readFile(x.path)).equals(payload)).toBe(true)
  })

  it('a published checksum that does not match also deletes the download', async () => {
    routes.set('/d/img.qcow2', payload)
    routes.set('/d/SHA256SUMS', `${'1'.repeat(64)}  img.qcow2\n`)
    const cache = cacheOf('d')
    await expect(resolveImage({ image: `${base}/d/img.qcow2`, cacheDir: cache, log, signal })).rejects.toThrow(/does not match/)
    expect(requests).toEqual(['/d/SHA512SUMS', '/d/SHA256SUMS', '/d/img.qcow2'])
    expect(readdirSync(cache)).toEqual([])
  })

  it('a cached file that no longer matches is replaced by a fresh download', async () => {
    routes.set('/e/img.qcow2', payload)
    const o = { image: `${base}/e/img.qcow2`, checksum: sha256, cacheDir: cacheOf('e'), log, signal }
    const first = await resolveImage(o)
    await writeFile(first.path, 'corrupted')
    const second = await resolveImage(o)
    expect(second.downloaded).toBe(true)
    expect((await readFile(second.path)).equals(payload)).toBe(true)
    expect(logs.join('\n')).toContain('does not match its checksum: deleting it and downloading again')
  })

  it('without any checksum the download is used but said to be unverified', async () => {
    routes.set('/f/img.raw', payload)
    const r = await resolveImage({ image: `${base}/f/img.raw`, cacheDir: cacheOf('f'), log, signal })
    expect(r.checksum).toBeUndefined()
    expect(logs.at(-1)).toMatch(/not verified/)
  })

  it('an HTTP error is reported with the URL', async () => {
    await expect(resolveImage({ image: `${base}/nope.qcow2`, checksum: sha256, cacheDir: cacheOf('g'), log, signal })).rejects.toThrow(
      `Could not download ${base}/nope.qcow2: HTTP 404`,
    )
  })
})

describe('local images', () => {
  it('are used in place (path or file: URL) and verified when a checksum is given', async () => {
    const p = join(dir, 'local.qcow2')
    await writeFile(p, payload)
    expect(await resolveImage({ image: p, cacheDir: cacheOf('h'), log, signal })).toEqual({ path: p, downloaded: false })
    const viaUrl = await resolveImage({ image: pathToFileURL(p).href, checksum: `sha512:${sha512}`, cacheDir: cacheOf('h'), log, signal })
    expect(viaUrl.path).toBe(p)
    expect(existsSync(cacheOf('h'))).toBe(false)
  })

  it('a mismatch is an error, and the user\'s own file is kept', async () => {
    const p = join(dir, 'mine.qcow2')
    await writeFile(p, payload)
    await expect(resolveImage({ image: p, checksum: '2'.repeat(64), cacheDir: cacheOf('i'), log, signal })).rejects.toThrow(/does not match/)
    expect(existsSync(p)).toBe(true)
  })

  it('a missing file is reported', async () => {
    await expect(resolveImage({ image: join(dir, 'nope.img'), cacheDir: cacheOf('j'), log, signal })).rejects.toThrow(/nope\.img does not exist/)
  })
})

describe('download failures name the cause and the way forward (a local image)', () => {
  const fetchError = (cause: object) => Object.assign(new TypeError('fetch failed'), { cause })
  const url = 'https://cloud.example.invalid/img.qcow2'
  const line = (e: { line: string }) => e.line

  it('a refused connection (a closed port on 127.0.0.1)', async () => {
    const port = await freePort()
    const e = await resolveImage({ image: `http://127.0.0.1:${port}/img.qcow2`, checksum: sha256, cacheDir: cacheOf('k'), log, signal }).catch((x: unknown) => x)
    expect(line(e as never)).toMatch(new RegExp(`^Could not download http://127\\.0\\.0\\.1:${port}/img\\.qcow2: 127\\.0\\.0\\.1:${port} refused the connection \\(ECONNREFUSED\\): check the URL and the network, or use a local image: --qemu-image PATH`))
    expect(line(e as never)).toContain('--qemu-kernel, --qemu-initrd and --qemu-append; scripts/quickstart.sh builds one offline')
  })

  it('a server that closes the connection', async () => {
    const tcp = createTcpServer((c) => c.destroy())
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()))
    const port = (tcp.address() as { port: number }).port
    try {
      const e = await resolveImage({ image: `http://127.0.0.1:${port}/img.qcow2`, checksum: sha256, cacheDir: cacheOf('l'), log, signal }).catch((x: unknown) => x)
      expect(line(e as never)).toMatch(/: the connection to 127\.0\.0\.1:\d+ was closed \((UND_ERR_SOCKET|ECONNRESET)/)
    } finally {
      tcp.close()
    }
  })

  it('DNS, TLS, timeouts and an unused proxy, from the error cause', () => {
    const env = {}
    expect(fetchFailure(url, fetchError({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND cloud.example.invalid' }), env).line).toMatch(
      /^Could not download https:\/\/cloud\.example\.invalid\/img\.qcow2: cannot resolve cloud\.example\.invalid \(DNS lookup failed: ENOTFOUND; offline\?\): check the network and DNS \(behind a proxy: set HTTPS_PROXY and NODE_USE_ENV_PROXY=1\), or use a local image: --qemu-image PATH/,
    )
    expect(fetchFailure(url, fetchError({ code: 'EAI_AGAIN' }), env).message).toContain('DNS lookup failed: EAI_AGAIN')
    for (const code of ['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']) {
      expect(fetchFailure(url, fetchError({ code, message: 'x' }), env).line).toContain(`the TLS certificate of cloud.example.invalid is not trusted (${code}; a proxy or firewall that re-signs TLS?): trust its CA with NODE_EXTRA_CA_CERTS=/path/to/ca.pem, or use a local image`)
    }
    expect(fetchFailure(url, fetchError({ code: 'UND_ERR_CONNECT_TIMEOUT', message: 'Connect Timeout Error' }), env).message).toContain('cloud.example.invalid did not answer in time (UND_ERR_CONNECT_TIMEOUT)')
    // AggregateError from happy eyeballs: the first inner error's code.
    expect(fetchFailure(url, fetchError({ errors: [{ code: 'ECONNREFUSED' }] }), env).message).toContain('refused the connection (ECONNREFUSED)')
    const proxied = fetchFailure(url, fetchError({ code: 'ENOTFOUND' }), { HTTPS_PROXY: 'http://proxy.internal:3128' })
    expect(proxied.hint).toContain('HTTPS_PROXY is set but not used: set NODE_USE_ENV_PROXY=1 to go through http://proxy.internal:3128')
    const viaProxy = fetchFailure(url, fetchError({ code: 'ECONNREFUSED' }), { HTTPS_PROXY: 'http://proxy.internal:3128', NODE_USE_ENV_PROXY: '1' })
    expect(viaProxy.message).toContain('the proxy http://proxy.internal:3128 refused the connection')
    expect(viaProxy.code).toBe('download-failed')
  })
})
