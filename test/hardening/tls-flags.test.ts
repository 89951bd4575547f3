import { X509Certificate } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { expectCleanFailure, runCli, tempStore } from '../helpers/cli.js'

// The TLS path flags through the built binary: a wrong path is one error line naming the
// files, the store (CA key included) byte-for-byte as it was. The none driver never connects.
const URL = 'tcp://127.0.0.1:23798'
const create = (name: string, ...flags: string[]) => ['create', '-d', 'none', '--url', URL, ...flags, name]

describe('TLS path flags never overwrite key material', () => {
  let store: string
  let caKey: string
  beforeAll(async () => {
    store = await tempStore()
    const r = await runCli(create('first'), { store })
    expect(r.code, r.stderr).toBe(0)
    caKey = await readFile(join(store, 'certs', 'ca-key.pem'), 'utf8')
  })

  it('a typo’d --tls-ca-cert (or MACHINE_TLS_CA_CERT) is an error naming it and the store’s CA key', async () => {
    const typo = join(store, 'certs', 'ca.pme')
    const f = await expectCleanFailure(create('x', '--tls-ca-cert', typo), store)
    expect(f.code).toBe('ca-incomplete')
    expect(f.line).toContain(typo)
    expect(f.line).toContain(join(store, 'certs', 'ca-key.pem'))
    const viaEnv = await expectCleanFailure(create('x'), store, { env: { MACHINE_TLS_CA_CERT: join(store, 'nodir', 'ca.pem') } })
    expect(viaEnv.code).toBe('ca-incomplete')
    expect(await readFile(join(store, 'certs', 'ca-key.pem'), 'utf8')).toBe(caKey)
  })

  it('both CA halves in a directory that does not exist: an error, no CA made', async () => {
    const f = await expectCleanFailure(create('x', '--tls-ca-cert', join(store, 'nodir', 'ca.pem'), '--tls-ca-key', join(store, 'nodir', 'ca-key.pem')), store)
    expect(f.code).toBe('tls-path-missing')
    expect(f.line).toContain(`${join(store, 'nodir')} does not exist`)
  })

  it('--tls-client-key at an existing file that is not a key: an error, the file untouched', async () => {
    const notes = join(store, 'notes.txt')
    await writeFile(notes, 'not a key\n')
    const f = await expectCleanFailure(create('x', '--tls-client-key', notes), store)
    expect(f.code).toBe('not-a-private-key')
    expect(f.line).toContain(notes)
    expect(await readFile(notes, 'utf8')).toBe('not a key\n')
  })

  it('half the store’s CA gone: create and regenerate-certs -f refuse (before connecting) instead of remaking it', async () => {
    // A generic machine whose host is nowhere: regenerate-certs must fail on the CA, not on SSH.
    const cfgPath = join(store, 'machines', 'first', 'config.json')
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'))
    cfg.DriverName = 'generic'
    Object.assign(cfg.Driver, { IPAddress: '127.0.0.1', SSHPort: 1, SSHUser: 'root', SSHKeyPath: join(store, 'machines', 'first', 'id_rsa') })
    await writeFile(cfgPath, JSON.stringify(cfg, null, 4))
    const caCert = join(store, 'certs', 'ca.pem')
    const aside = join(store, 'ca.pem.moved')
    await rename(caCert, aside)
    try {
      const c = await expectCleanFailure(create('x'), store)
      expect(c.code).toBe('ca-incomplete')
      const r = await expectCleanFailure(['regenerate-certs', '-f', 'first'], store)
      expect(r.code).toBe('ca-incomplete')
      expect(r.line).toContain(caCert)
      expect(r.line).toContain(join(store, 'certs', 'ca-key.pem'))
    } finally {
      await rename(aside, caCert)
    }
    // With the CA back, the next create uses it.
    const ok = await runCli(create('after'), { store })
    expect(ok.code, ok.stderr).toBe(0)
    const ca = new X509Certificate(await readFile(caCert, 'utf8'))
    expect(new X509Certificate(await readFile(join(store, 'machines', 'after', 'cert.pem'), 'utf8')).verify(ca.publicKey)).toBe(true)
    expect(await readFile(join(store, 'certs', 'ca-key.pem'), 'utf8')).toBe(caKey)
  })
})
