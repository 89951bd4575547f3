import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCA, createClientCert, createServerCert, type PemPair } from '../../src/certs/certs.js'
import { enginePing, engineVersion } from '../../src/services/engine.js'

// A TLS engine stand-in on 127.0.0.1 that, like dockerd --tlsverify, requires a client
// certificate signed by the machine CA.
describe('engine API over mutual TLS', () => {
  let ca: PemPair
  let client: PemPair
  let server: Server
  let url: string
  const seen: string[] = []
  beforeAll(async () => {
    ca = await createCA()
    client = await createClientCert(ca)
    const cert = await createServerCert(ca, 'm', ['127.0.0.1', 'localhost'])
    server = createServer({ ca: ca.cert, cert: cert.cert, key: cert.key, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      seen.push(req.url ?? '')
      if (req.url === '/_ping') return res.end('OK')
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ Version: '28.2.2', ApiVersion: '1.50' }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  it('pings and reads the version with the client certificate', async () => {
    const tls = { ca: ca.cert, cert: client.cert, key: client.key }
    expect(await enginePing(url, tls, 5000)).toBe(true)
    expect(await engineVersion(url, tls, 5000)).toBe('28.2.2')
    expect(seen).toEqual(['/_ping', '/version'])
  })

  it('refuses an engine whose certificate another CA signed', async () => {
    const other = await createCA()
    const otherClient = await createClientCert(other)
    await expect(engineVersion(url, { ca: other.cert, cert: otherClient.cert, key: otherClient.key }, 5000)).rejects.toThrow()
  })

  it('fails fast on a closed port and reads certificate files only after the dial', async () => {
    let read = false
    const closed = 'tcp://127.0.0.1:9'
    await expect(
      engineVersion(
        closed,
        async () => {
          read = true
          return { ca: ca.cert, cert: client.cert, key: client.key }
        },
        2000,
      ),
    ).rejects.toThrow(/ECONNREFUSED/)
    expect(read).toBe(false)
  })
})
