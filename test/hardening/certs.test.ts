import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MachineError } from '../../src/core/errors.js'
import { certCoversHost, createCA, createClientCert, ensureClientCerts, type CertPaths } from '../../src/certs/certs.js'
import { lockStore } from '../../src/store/lock.js'
import { snapshot } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

// Certificate bootstrap never overwrites an existing file and never makes half a CA: every way
// of pointing it at the wrong file is one error naming the files, with nothing written.

const pathsIn = (dir: string): CertPaths => ({
  caCert: join(dir, 'ca.pem'),
  caKey: join(dir, 'ca-key.pem'),
  clientCert: join(dir, 'cert.pem'),
  clientKey: join(dir, 'key.pem'),
})

/** The MachineError `fn` throws (fails the test if it throws something else, or nothing). */
async function machineError(fn: () => Promise<unknown>): Promise<MachineError> {
  try {
    await fn()
  } catch (e) {
    expect(e).toBeInstanceOf(MachineError)
    const m = e as MachineError
    expect(m.line).not.toMatch(/\n|routines::|error:0/) // one line, no OpenSSL text
    expect(m.hint).toBeTruthy()
    return m
  }
  throw new Error('expected a MachineError, got none')
}

/** Run `fn`, expect a MachineError with `code`, and the directory byte-for-byte unchanged. */
async function failsLeavingAlone(dir: string, code: string, fn: () => Promise<unknown>): Promise<MachineError> {
  const before = await snapshot(dir)
  const e = await machineError(fn)
  expect(e.code).toBe(code)
  expect(await snapshot(dir)).toEqual(before)
  return e
}

describe('certificate bootstrap never overwrites key material', () => {
  it('a CA with only ca.pem, or only ca-key.pem, is an error naming both paths; nothing is written', async () => {
    const ca = await createCA()
    for (const [present, text] of [
      ['ca.pem', ca.cert],
      ['ca-key.pem', ca.key],
    ] as const) {
      const dir = await tempDir('certs-half-')
      const p = pathsIn(dir)
      await writeFile(join(dir, present), text)
      const e = await failsLeavingAlone(dir, 'ca-incomplete', () => ensureClientCerts(p))
      expect(e.line).toContain(p.caCert)
      expect(e.line).toContain(p.caKey)
      // The same with --client-certs (regenerate-certs): the CA is never remade.
      await failsLeavingAlone(dir, 'ca-incomplete', () => ensureClientCerts(p, { force: true }))
    }
  })

  it('a CA certificate and key that do not belong together are an error naming both', async () => {
    const dir = await tempDir('certs-mismatch-')
    const p = pathsIn(dir)
    const a = await createCA()
    const b = await createCA()
    await writeFile(p.caCert, a.cert)
    await writeFile(p.caKey, b.key)
    const e = await failsLeavingAlone(dir, 'cert-key-mismatch', () => ensureClientCerts(p))
    expect(e.line).toContain(p.caCert)
    expect(e.line).toContain(p.caKey)
  })

  it('a client certificate and key that do not match, or not from the CA, are errors', async () => {
    const dir = await tempDir('certs-client-')
    const p = pathsIn(dir)
    const ca = await createCA()
    await writeFile(p.caCert, ca.cert)
    await writeFile(p.caKey, ca.key, { mode: 0o600 })
    const c1 = await createClientCert(ca)
    const c2 = await createClientCert(ca)
    await writeFile(p.clientCert, c1.cert)
    await writeFile(p.clientKey, c2.key)
    const e = await failsLeavingAlone(dir, 'cert-key-mismatch', () => ensureClientCerts(p))
    expect(e.line).toContain(p.clientCert)
    expect(e.line).toContain(p.clientKey)

    const other = await createClientCert(await createCA())
    await writeFile(p.clientCert, other.cert)
    await writeFile(p.clientKey, other.key)
    const e2 = await failsLeavingAlone(dir, 'cert-not-from-ca', () => ensureClientCerts(p))
    expect(e2.line).toContain(p.clientCert)
    expect(e2.line).toContain(p.caCert)
  })

  it('--tls-client-key at an existing file that is not a key: an error, the file untouched byte for byte', async () => {
    const dir = await tempDir('certs-notkey-')
    const notes = join(dir, 'notes.txt')
    const content = Buffer.from('my notes\nPEM routines::no start line is not in here\n\x00\xff')
    await writeFile(notes, content)
    const p = { ...pathsIn(dir), clientKey: notes }
    for (const force of [false, true]) {
      const e = await failsLeavingAlone(dir, 'not-a-private-key', () => ensureClientCerts(p, { force }))
      expect(e.line).toContain(notes)
      expect(e.line).toContain('--tls-client-key')
      expect(await readFile(notes)).toEqual(content)
    }
  })

  it('a CA file that is not a certificate: one line naming it, not OpenSSL text', async () => {
    const dir = await tempDir('certs-notcert-')
    const p = pathsIn(dir)
    await writeFile(p.caCert, 'hello\n')
    await writeFile(p.caKey, (await createCA()).key)
    const e = await failsLeavingAlone(dir, 'not-a-certificate', () => ensureClientCerts(p))
    expect(e.line).toBe(`The CA certificate ${p.caCert} is not a PEM certificate: give with --tls-ca-cert a PEM file beginning "-----BEGIN CERTIFICATE-----"`)
    // A damaged PEM body reads differently from "not a PEM at all".
    await writeFile(p.caCert, '-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n')
    expect((await failsLeavingAlone(dir, 'not-a-certificate', () => ensureClientCerts(p))).message).toContain('holds a damaged certificate')
    // Readers elsewhere (env, start) get the same one line for a damaged server certificate.
    expect(() => certCoversHost('garbage', '127.0.0.1', '/m/server.pem')).toThrow(/^The certificate \/m\/server\.pem is not a PEM certificate$/)
  })

  it('an encrypted CA key is named as such', async () => {
    const dir = await tempDir('certs-enc-')
    const p = pathsIn(dir)
    const ca = await createCA()
    const { createPrivateKey } = await import('node:crypto')
    const enc = createPrivateKey(ca.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string
    await writeFile(p.caCert, ca.cert)
    await writeFile(p.caKey, enc)
    const e = await failsLeavingAlone(dir, 'encrypted-key', () => ensureClientCerts(p))
    expect(e.line).toContain(p.caKey)
  })

  it('a FIFO where the CA should be is an error at once, not a hang', { timeout: 10_000 }, async () => {
    const dir = await tempDir('certs-fifo-')
    const p = pathsIn(dir)
    execFileSync('mkfifo', [p.caCert])
    await writeFile(p.caKey, (await createCA()).key)
    // (No snapshot here: hashing the directory would itself block on the FIFO.)
    const started = Date.now()
    const e = await machineError(() => ensureClientCerts(p))
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(e.code).toBe('not-a-certificate')
    expect(e.message).toBe(`The CA certificate ${p.caCert} is not a regular file`)
    expect((await import('node:fs')).readdirSync(dir).sort()).toEqual(['ca-key.pem', 'ca.pem'])
  })

  it('a typo’d --tls-ca-cert next to the store’s CA key: an error, the store CA untouched', async () => {
    const store = await tempDir('certs-store-')
    const p = pathsIn(store)
    const first = await ensureClientCerts(p)
    const typo = { ...p, caCert: join(store, 'no-such-dir', 'ca.pem') }
    const e = await failsLeavingAlone(store, 'ca-incomplete', () => ensureClientCerts(typo))
    expect(e.line).toContain(typo.caCert)
    expect(e.line).toContain(p.caKey)
    const typoSameDir = { ...p, caCert: join(store, 'ca.pme') }
    await failsLeavingAlone(store, 'ca-incomplete', () => ensureClientCerts(typoSameDir))
    expect(await readFile(p.caKey, 'utf8')).toBe(first.ca.key)
  })

  it('both CA halves in a directory that does not exist: an error naming the paths, nothing made', async () => {
    const dir = await tempDir('certs-nodir-')
    const p = { ...pathsIn(dir), caCert: join(dir, 'typo', 'ca.pem'), caKey: join(dir, 'typo', 'ca-key.pem') }
    const e = await failsLeavingAlone(dir, 'tls-path-missing', () => ensureClientCerts(p))
    expect(e.line).toContain(p.caCert)
    expect(e.line).toContain(p.caKey)
    const clientTypo = { ...pathsIn(dir), clientKey: join(dir, 'typo', 'key.pem'), clientCert: join(dir, 'typo', 'cert.pem') }
    expect((await failsLeavingAlone(dir, 'tls-path-missing', () => ensureClientCerts(clientTypo))).line).toContain(clientTypo.clientKey)
  })

  it('both CA halves absent in an existing directory (not the store): a CA is made there', async () => {
    const dir = await tempDir('certs-own-')
    await mkdir(join(dir, 'myca'))
    const p = { ...pathsIn(dir), caCert: join(dir, 'myca', 'root.pem'), caKey: join(dir, 'myca', 'root-key.pem') }
    const r = await ensureClientCerts(p)
    expect(r).toMatchObject({ createdCA: true, createdClient: true })
    const caX = new X509Certificate(await readFile(p.caCert, 'utf8'))
    expect(caX.ca).toBe(true)
    expect(new X509Certificate(await readFile(p.clientCert, 'utf8')).verify(caX.publicKey)).toBe(true)
  })

  it('a CA made elsewhere is used, never replaced; a client pair left without its CA is an error', async () => {
    const dir = await tempDir('certs-keep-')
    const p = pathsIn(dir)
    const ca = await createCA()
    await writeFile(p.caCert, ca.cert)
    await writeFile(p.caKey, ca.key, { mode: 0o600 })
    const r = await ensureClientCerts(p)
    expect(r).toMatchObject({ createdCA: false, createdClient: true, ca: { cert: ca.cert, key: ca.key } })
    expect(await readFile(p.caCert, 'utf8')).toBe(ca.cert)
    // The user removed the CA to start over but left the old client pair: not silently orphaned.
    const gone = { ...p, caCert: join(dir, 'new-ca.pem'), caKey: join(dir, 'new-ca-key.pem') }
    const e = await failsLeavingAlone(dir, 'cert-not-from-ca', () => ensureClientCerts(gone))
    expect(e.line).toContain(p.clientCert)
  })

  it('racing bootstraps without the lock never overwrite each other: the files on disk stay one matching CA', async () => {
    const dir = await tempDir('certs-race-')
    const p = pathsIn(dir)
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => ensureClientCerts(p)))
    const caOnDisk = await readFile(p.caCert, 'utf8')
    const keyOnDisk = await readFile(p.caKey, 'utf8')
    const { createPrivateKey, createPublicKey } = await import('node:crypto')
    const spki = (k: import('node:crypto').KeyObject) => k.export({ type: 'spki', format: 'der' })
    expect(spki(new X509Certificate(caOnDisk).publicKey)).toEqual(spki(createPublicKey(createPrivateKey(keyOnDisk))))
    for (const r of results) {
      if (r.status === 'fulfilled') expect(r.value.ca.cert).toBe(caOnDisk)
      else expect((r.reason as MachineError).code).toMatch(/^(cert-file-exists|ca-incomplete|client-cert-incomplete)$/)
    }
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true)
  })
})

describe('lockStore', () => {
  it('admits one holder at a time among many waiters, and says who holds it when the wait runs out', async () => {
    const store = await tempDir('lockstore-')
    let inside = 0
    let most = 0
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const l = await lockStore(store, 'certs', 10_000)
        inside++
        most = Math.max(most, inside)
        await new Promise((r) => setTimeout(r, 5))
        inside--
        await l.release()
      }),
    )
    expect(most).toBe(1)
    const held = await lockStore(store, 'certs')
    const e = await machineError(() => lockStore(store, 'certs', 100))
    expect(e.code).toBe('store-locked')
    expect(e.line).toMatch(new RegExp(`^The store's certs are busy: another machine command \\(pid ${process.pid}\\) is making them: wait for it to finish, or remove .*_store\\.certs\\.lock if that process is gone$`))
    await held.release()
  })

  it('takes over a lock whose holder died, and does not collide with a machine named like it', async () => {
    const store = await tempDir('lockstore-stale-')
    const { lockMachine } = await import('../../src/store/lock.js')
    const machine = await lockMachine(store, 'certs') // a machine called "certs" has its own lock
    await mkdir(join(store, '.locks'), { recursive: true })
    // The pid of a process that has exited: its lock is stale.
    const dead = (await import('node:child_process')).spawnSync(process.execPath, ['-e', '']).pid!
    await writeFile(join(store, '.locks', '_store.certs.lock'), `${dead}\n`)
    const l = await lockStore(store, 'certs', 0)
    await l.release()
    await machine.release()
  })
})
