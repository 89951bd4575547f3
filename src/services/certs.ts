import { X509Certificate } from 'node:crypto'
import { copyFile, readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import type { HostConfig } from '../core/host-config.js'
import { certExpiresSoon, certSans, createServerCert, ensureClientCerts, type PemPair } from '../certs/certs.js'
import { writeFileAtomic } from '../store/atomic.js'
import type { Store } from '../store/store.js'

/** The CA + client certificate files of a machine's AuthOptions (the store's by default). */
export const authPaths = (host: HostConfig) => ({
  caCert: host.HostOptions.AuthOptions.CaCertPath,
  caKey: host.HostOptions.AuthOptions.CaPrivateKeyPath,
  clientCert: host.HostOptions.AuthOptions.ClientCertPath,
  clientKey: host.HostOptions.AuthOptions.ClientKeyPath,
})

/** Make the CA/client certificates if missing or expired, copy them into the machine dir. */
export async function ensureCertsFor(store: Store, host: HostConfig, log: (l: string) => void, opts: { forceClient?: boolean } = {}): Promise<void> {
  const p = authPaths(host)
  const r = await ensureClientCerts(p, { force: opts.forceClient })
  if (r.createdCA) log(`Creating CA: ${p.caCert}`)
  if (r.createdClient) log(`Creating client certificate: ${p.clientCert}`)
  const dir = store.dir(host.Name)
  await copyFile(p.caCert, join(dir, 'ca.pem'))
  await writeFileAtomic(join(dir, 'cert.pem'), await readFile(p.clientCert), 0o644)
  await writeFileAtomic(join(dir, 'key.pem'), await readFile(p.clientKey), 0o600)
}

/**
 * The machine's server certificate covering `sans`: the existing one is kept while it is
 * valid and covers every name (so re-provisioning changes nothing), else a new one is made.
 */
export async function ensureServerCert(host: HostConfig, sans: string[], force = false): Promise<PemPair & { ca: string; created: boolean }> {
  const a = host.HostOptions.AuthOptions
  const ca = { cert: await readFile(a.CaCertPath, 'utf8'), key: await readFile(a.CaPrivateKeyPath, 'utf8') }
  if (!force && existsSync(a.ServerCertPath) && existsSync(a.ServerKeyPath)) {
    const cert = await readFile(a.ServerCertPath, 'utf8')
    const have = certSans(cert)
    const covers = sans.every((s) => (isIP(s) ? have.ips.includes(s) : have.dns.includes(s)))
    if (covers && !certExpiresSoon(cert, 30) && signedBy(cert, ca.cert)) {
      return { cert, key: await readFile(a.ServerKeyPath, 'utf8'), ca: ca.cert, created: false }
    }
  }
  const made = await createServerCert(ca, host.Name, sans)
  await writeFileAtomic(a.ServerKeyPath, made.key, 0o600)
  await writeFileAtomic(a.ServerCertPath, made.cert, 0o644)
  return { ...made, ca: ca.cert, created: true }
}

function signedBy(certPem: string, caPem: string): boolean {
  return new X509Certificate(certPem).checkIssued(new X509Certificate(caPem))
}
