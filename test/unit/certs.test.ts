import { X509Certificate } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { certCoversHost, certSans, createCA, createClientCert, createServerCert, ensureClientCerts } from '../../src/certs/certs.js'
import { tempDir } from '../helpers/tmp.js'

describe('certificates', () => {
  it('makes a CA, a client cert for clientAuth and a server cert whose SANs are the machine addresses', async () => {
    const ca = await createCA({ USER: 'alice' })
    const caX = new X509Certificate(ca.cert)
    expect(caX.ca).toBe(true)
    expect(caX.subject).toContain('O=alice')

    const client = await createClientCert(ca, { USER: 'alice' })
    const clientX = new X509Certificate(client.cert)
    expect(clientX.checkIssued(caX)).toBe(true)
    expect(clientX.ca).toBe(false)
    expect(clientX.subject).toMatch(/O=alice\.\\?<bootstrap\\?>/)
    // Encoded as UTF8String (tag 0x0c): as a PrintableString "<" and ">" make Go's parser, and
    // so dockerd, reject the client certificate.
    const org = Buffer.from('alice.<bootstrap>')
    expect(clientX.raw.includes(Buffer.concat([Buffer.from([0x0c, org.length]), org]))).toBe(true)

    const server = await createServerCert(ca, 'web1', ['127.0.0.1', 'localhost', 'web1', '::1'], { USER: 'alice' })
    const serverX = new X509Certificate(server.cert)
    expect(serverX.checkIssued(caX)).toBe(true)
    expect(serverX.verify(caX.publicKey)).toBe(true)
    expect(certSans(server.cert)).toEqual({ ips: ['127.0.0.1', '0:0:0:0:0:0:0:1'], dns: ['localhost', 'web1'] })
    expect(certCoversHost(server.cert, '127.0.0.1')).toBe(true)
    expect(certCoversHost(server.cert, '127.0.0.2')).toBe(false)
    expect(serverX.checkHost('web1')).toBe('web1')
    expect(serverX.checkIP('127.0.0.1')).toBe('127.0.0.1')
    // 1080 days, like docker-machine
    const days = (new Date(serverX.validTo).getTime() - Date.now()) / 86_400_000
    expect(Math.round(days)).toBe(1080)
    expect(server.key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/)
  })

  it('bootstraps the store CA and client cert once, keys 0600', async () => {
    const dir = await tempDir('certs-')
    const p = { caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), clientCert: join(dir, 'cert.pem'), clientKey: join(dir, 'key.pem') }
    expect(await ensureClientCerts(p)).toMatchObject({ createdCA: true, createdClient: true })
    const first = await readFile(p.caCert, 'utf8')
    const again = await ensureClientCerts(p)
    expect(again).toMatchObject({ createdCA: false, createdClient: false })
    expect(again.ca.cert).toBe(first)
    expect(again.client.cert).toBe(await readFile(p.clientCert, 'utf8'))
    expect(await readFile(p.caCert, 'utf8')).toBe(first)
    expect((await stat(p.caKey)).mode & 0o777).toBe(0o600)
    expect((await stat(p.clientKey)).mode & 0o777).toBe(0o600)
    const oldClient = await readFile(p.clientCert, 'utf8')
    // force (regenerate-certs --client-certs) replaces the client pair and keeps the CA.
    expect(await ensureClientCerts(p, { force: true })).toMatchObject({ createdCA: false, createdClient: true })
    expect(await readFile(p.caCert, 'utf8')).toBe(first)
    const newClient = await readFile(p.clientCert, 'utf8')
    expect(newClient).not.toBe(oldClient)
    expect(new X509Certificate(newClient).checkIssued(new X509Certificate(first))).toBe(true)
  })
})
