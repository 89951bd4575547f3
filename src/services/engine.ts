import { readFile } from 'node:fs/promises'
import { request } from 'node:https'
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

/**
 * One Docker API call over mutual TLS, as the docker client makes it. The certificate is
 * verified against the machine's CA; the name checked is the URL's host (the SAN we put in).
 */
export function engineGet(url: string, path: string, tls: EngineTls, timeoutMs: number): Promise<{ status: number; body: string }> {
  const { host, port } = parseEngineUrl(url)
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path, method: 'GET', ca: tls.ca, cert: tls.cert, key: tls.key, agent: false, timeout: timeoutMs },
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
export async function engineVersion(url: string, tls: EngineTls, timeoutMs: number): Promise<string> {
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
