import { createServer, type Server } from 'node:https'
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket as NetSocket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCA, createClientCert, createServerCert, type PemPair } from '../../src/certs/certs.js'
import { MachineError } from '../../src/core/errors.js'
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

// Every wait of an engine call is bounded: an engine that accepts TCP and then says nothing, or
// that answers with something other than TLS, ends the call within the timeout with an error
// naming the machine, the address and the wait that did not finish.
describe('engine calls that get no proper answer', () => {
  let ca: PemPair
  let client: PemPair
  const servers: NetServer[] = []
  beforeAll(async () => {
    ca = await createCA()
    client = await createClientCert(ca)
  })
  afterAll(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()))
  })
  // Servers here never end their connections: closing one destroys what it accepted.
  const track = (s: NetServer): NetServer => {
    const sockets = new Set<NetSocket>()
    s.on('connection', (c: NetSocket) => {
      sockets.add(c)
      c.on('error', () => undefined)
    })
    const close = s.close.bind(s)
    s.close = ((cb?: () => void) => {
      for (const c of sockets) c.destroy()
      return close(cb)
    }) as typeof s.close
    servers.push(s)
    return s
  }
  const listen = async (onConn: (s: NetSocket) => void): Promise<number> => {
    const s = track(createNetServer(onConn))
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    return (s.address() as AddressInfo).port
  }
  const creds = () => ({ ca: ca.cert, cert: client.cert, key: client.key })

  it('gives up on an engine that accepts and never writes, naming machine, address and the handshake', async () => {
    const port = await listen(() => undefined)
    const started = Date.now()
    const e = await engineVersion(`tcp://127.0.0.1:${port}`, creds(), 800, { machine: 'm1' }).catch((x: unknown) => x)
    expect(Date.now() - started).toBeLessThan(3000)
    expect(e).toBeInstanceOf(MachineError)
    expect((e as MachineError).code).toBe('engine-timeout')
    expect((e as MachineError).message).toBe(`Docker engine of machine "m1" at 127.0.0.1:${port} accepted the connection but did not complete the TLS handshake within 800 ms`)
  })

  it('gives up on an engine that completes TLS and never answers the request', async () => {
    const cert = await createServerCert(ca, 'm', ['127.0.0.1'])
    const tlsServer = createTlsServer({ ca: ca.cert, cert: cert.cert, key: cert.key, requestCert: true, rejectUnauthorized: true }, () => undefined)
    track(tlsServer as unknown as NetServer)
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r))
    const port = (tlsServer.address() as AddressInfo).port
    const e = await engineVersion(`tcp://127.0.0.1:${port}`, creds(), 800, { machine: 'm2' }).catch((x: unknown) => x)
    expect((e as MachineError).code).toBe('engine-timeout')
    expect((e as MachineError).message).toBe(`Docker engine of machine "m2" at 127.0.0.1:${port} completed the TLS handshake but sent no HTTP response within 800 ms`)
  })

  it('says an engine that answers with bytes that are not TLS did not answer with TLS', async () => {
    const port = await listen((c) => c.write('HTTP/1.1 400 Bad Request\r\n\r\nnot tls at all, just some bytes\r\n'))
    const e = await engineVersion(`tcp://127.0.0.1:${port}`, creds(), 5000, { machine: 'm3' }).catch((x: unknown) => x)
    expect((e as MachineError).code).toBe('engine-tls')
    expect((e as MachineError).message).toMatch(new RegExp(`^Docker engine of machine "m3" at 127\\.0\\.0\\.1:${port} did not answer with TLS \\(ERR_SSL_`))
    expect((e as MachineError).hint).toMatch(/--tlsverify/)
  })

  it('ends at once when the signal aborts', async () => {
    const port = await listen(() => undefined)
    const ac = new AbortController()
    setTimeout(() => ac.abort(new MachineError('interrupted', 'Interrupted', { exitCode: 130 })), 100)
    const started = Date.now()
    const e = await engineVersion(`tcp://127.0.0.1:${port}`, creds(), 30_000, { signal: ac.signal }).catch((x: unknown) => x)
    expect(Date.now() - started).toBeLessThan(1000)
    expect((e as MachineError).code).toBe('interrupted')
  })
})
