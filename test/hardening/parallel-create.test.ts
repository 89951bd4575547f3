import { X509Certificate } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli, tempStore } from '../helpers/cli.js'

// Parallel creates through the built binary on a fresh store. The none driver only records the
// URL (it never connects), so 20 creates cost 20 process start-ups and one CA. Loopback only.
const N = 20
const URL = 'tcp://127.0.0.1:23799'

describe('parallel creates on a fresh store', () => {
  it(`${N} creates of different names all succeed, and every certificate verifies against the store's one CA`, { timeout: 90_000 }, async () => {
    const store = await tempStore()
    const names = Array.from({ length: N }, (_, i) => `p${i}`)
    const results = await Promise.all(names.map((n) => runCli(['create', '-d', 'none', '--url', URL, n], { store })))
    for (const [i, r] of results.entries()) {
      expect(r.stderr, names[i]).toBe('')
      expect(r.code, names[i]).toBe(0)
    }
    // Exactly one of them made the CA; the others found it made and used it.
    expect(results.filter((r) => r.stdout.includes('Creating CA:')).length).toBe(1)

    const caPem = await readFile(join(store, 'certs', 'ca.pem'), 'utf8')
    const ca = new X509Certificate(caPem)
    const storeClient = new X509Certificate(await readFile(join(store, 'certs', 'cert.pem'), 'utf8'))
    expect(storeClient.checkIssued(ca) && storeClient.verify(ca.publicKey)).toBe(true)
    expect((await readdir(join(store, 'machines'))).sort()).toEqual([...names].sort())
    for (const n of names) {
      const dir = join(store, 'machines', n)
      expect(await readFile(join(dir, 'ca.pem'), 'utf8'), n).toBe(caPem)
      const client = new X509Certificate(await readFile(join(dir, 'cert.pem'), 'utf8'))
      expect(client.checkIssued(ca), n).toBe(true)
      expect(client.verify(ca.publicKey), n).toBe(true)
      expect(client.raw, n).toEqual(storeClient.raw)
    }
    // No lock or temp file is left behind.
    expect(await readdir(join(store, '.locks'))).toEqual([])
    expect((await readdir(join(store, 'certs'))).sort()).toEqual(['ca-key.pem', 'ca.pem', 'cert.pem', 'key.pem'])
  })

  it(`${N} creates of one name: exactly one succeeds, each other fails with one line saying the machine exists`, { timeout: 90_000 }, async () => {
    const store = await tempStore()
    const results = await Promise.all(Array.from({ length: N }, () => runCli(['create', '-d', 'none', '--url', URL, 'same'], { store })))
    const ok = results.filter((r) => r.code === 0)
    expect(ok.length).toBe(1)
    for (const r of results.filter((x) => x.code !== 0)) {
      // Also a loser that got past the existence check while the winner held the name's lock:
      // to it the machine already exists, not "busy".
      expect(r.stderr).toMatch(/^Error: Machine "same" already exists: [^\n]+\n$/)
    }
    expect(await readdir(join(store, 'machines'))).toEqual(['same'])
    const cfg = JSON.parse(await readFile(join(store, 'machines', 'same', 'config.json'), 'utf8'))
    expect(cfg).toMatchObject({ Name: 'same', DriverName: 'none', Driver: { URL } })
    const ca = new X509Certificate(await readFile(join(store, 'certs', 'ca.pem'), 'utf8'))
    expect(new X509Certificate(await readFile(join(store, 'machines', 'same', 'cert.pem'), 'utf8')).verify(ca.publicKey)).toBe(true)
  })
})
