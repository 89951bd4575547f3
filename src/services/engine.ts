import { readFile } from 'node:fs/promises'
import { connect, isIP, type Socket } from 'node:net'
import type { SecureContext } from 'node:tls'
import { parseEngineUrl } from '../core/engine-url.js'
import { MachineError } from '../core/errors.js'

export { parseEngineUrl }

export interface TlsFiles {
  ca: string
  cert: string
  key: string
}

export interface EngineTls {
  ca: string | Buffer
  cert: string | Buffer
  key: string | Buffer
}

export const readTls = async (f: TlsFiles): Promise<EngineTls> => ({
  ca: await readFile(f.ca),
  cert: await readFile(f.cert),
  key: await readFile(f.key),
})

/** TCP connect first: an engine that is down costs a refused dial, not a TLS context. */
function dial(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port })
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)))
    s.once('connect', () => {
      s.setTimeout(0)
      resolve(s)
    })
    s.once('error', reject)
  })
}

// node:tls, node:https and node:crypto take ~25 ms to load: `ls` over machines whose engines are
// down never needs them, so they are taken only once a dial has connected.
const builtin = {
  tls: () => process.getBuiltinModule('node:tls'),
  https: () => process.getBuiltinModule('node:https'),
  crypto: () => process.getBuiltinModule('node:crypto'),
}

// Machines usually share the store's CA and client certificate: one TLS context per distinct
// set of files instead of one per machine (parsing keys is most of a probe's CPU time).
const contexts = new Map<string, SecureContext>()
function contextFor(t: EngineTls): SecureContext {
  const id = builtin.crypto().createHash('sha1').update(t.ca).update('\0').update(t.cert).update('\0').update(t.key).digest('hex')
  let c = contexts.get(id)
  if (!c) {
    c = builtin.tls().createSecureContext({ ca: t.ca, cert: t.cert, key: t.key })
    contexts.set(id, c)
  }
  return c
}

/**
 * One Docker API call over mutual TLS, as the docker client makes it. The certificate is
 * verified against the machine's CA; the name checked is the URL's host (the SAN we put in).
 * `tls` may be a promise so files are only read once the TCP dial succeeded.
 */
export async function engineGet(url: string, path: string, tls: EngineTls | (() => Promise<EngineTls>), timeoutMs: number): Promise<{ status: number; body: string }> {
  const { host, port } = parseEngineUrl(url)
  const socket = await dial(host, port, timeoutMs)
  let creds: EngineTls
  try {
    creds = typeof tls === 'function' ? await tls() : tls
  } catch (e) {
    socket.destroy()
    throw e
  }
  return new Promise((resolve, reject) => {
    const req = builtin.https().request(
      {
        host,
        port,
        path,
        method: 'GET',
        // No agent: with `agent: false` Node makes a fresh https.Agent, which ignores
        // createConnection and dials again without our CA. Without one, our TLS socket is used.
        timeout: timeoutMs,
        createConnection: () => builtin.tls().connect({ socket, host, secureContext: contextFor(creds), ...(isIP(host) ? {} : { servername: host }) }),
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/** Engine version via GET /version ("28.2.2"), or a MachineError saying why not. */
export async function engineVersion(url: string, tls: EngineTls | (() => Promise<EngineTls>), timeoutMs: number): Promise<string> {
  const res = await engineGet(url, '/version', tls, timeoutMs)
  if (res.status !== 200) throw new MachineError('engine-error', `Docker engine at ${url} answered HTTP ${res.status}`)
  const v = (JSON.parse(res.body) as { Version?: string }).Version
  if (!v) throw new MachineError('engine-error', `Docker engine at ${url} sent no version`)
  return v
}

/** True when GET /_ping answers OK with our client certificate. */
export async function enginePing(url: string, tls: EngineTls, timeoutMs: number): Promise<boolean> {
  try {
    const res = await engineGet(url, '/_ping', tls, timeoutMs)
    return res.status === 200
  } catch {
    return false
  }
}
