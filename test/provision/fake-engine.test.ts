import { X509Certificate } from 'node:crypto'
import { request } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCA, createClientCert, createServerCert, type PemPair } from '../../src/certs/certs.js'
import { engineVersion } from '../../src/services/engine.js'
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engine.js'

// The engine stand-in other tests rely on must behave like `dockerd --tlsverify`.
describe('fake TLS engine', () => {
  let ca: PemPair
  let client: PemPair
  let engine: FakeEngine
  beforeAll(async () => {
    ca = await createCA()
    client = await createClientCert(ca)
    const server = await createServerCert(ca, 'e1', ['127.0.0.1'])
    engine = await startFakeEngine({ caCert: ca.cert, serverCert: server.cert, serverKey: server.key })
  })
  afterAll(() => engine?.stop())

  const get = (path: string, creds: { cert?: string; key?: string } = { cert: client.cert, key: client.key }) =>
    new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: engine.port, path, ca: ca.cert, ...creds }, (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
      })
      req.on('error', reject)
      req.end()
    })

  it('answers _ping and version (plain and versioned) in the Docker API shapes', async () => {
    expect(engine.url).toBe(`tcp://127.0.0.1:${engine.port}`)
    const ping = await get('/_ping')
    expect(ping).toMatchObject({ status: 200, body: 'OK' })
    expect(ping.headers['api-version']).toBe('1.50')
    const v = JSON.parse((await get('/v1.47/version')).body)
    expect(v).toMatchObject({ Version: '28.2.2', ApiVersion: '1.50', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64' })
    expect(v.Components[0]).toMatchObject({ Name: 'Engine', Version: '28.2.2' })
    expect(await engineVersion(engine.url, { ca: ca.cert, cert: client.cert, key: client.key }, 5000)).toBe('28.2.2')
    expect((await get('/v1.99/version')).status).toBe(400)
    expect((await get('/containers/json')).status).toBe(404)
    // Each request is logged with the organisation of the client certificate it came with.
    const org = /^O=(.*)$/m.exec(new X509Certificate(client.cert).subject)?.[1]?.replace(/\\(.)/g, '$1')
    expect(org).toBeTruthy()
    expect(engine.requests().slice(0, 2)).toEqual([`GET /_ping ${org}`, `GET /v1.47/version ${org}`])
  })

  it('refuses a client without a certificate, or with one another CA signed', async () => {
    await expect(get('/_ping', {})).rejects.toThrow()
    const other = await createClientCert(await createCA())
    await expect(get('/_ping', { cert: other.cert, key: other.key })).rejects.toThrow()
  })
})
