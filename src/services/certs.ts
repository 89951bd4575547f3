import { mkdir, readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import type { HostConfig } from '../core/host-config.js'
import { certSans, checkClientCerts, createServerCert, ensureClientCerts, issuedBy, parseCertificate, readCA, type PemPair } from '../certs/certs.js'
import { writeFileAtomic } from '../store/atomic.js'
import { lockStore } from '../store/lock.js'
import { MachineError } from '../core/errors.js'
import { certsDir, machineTlsPaths } from '../store/paths.js'
import type { Store } from '../store/store.js'

/** The CA + client certificate files of a machine's AuthOptions (the store's by default). */
export const authPaths = (host: HostConfig) => ({
  caCert: host.HostOptions.AuthOptions.CaCertPath,
  caKey: host.HostOptions.AuthOptions.CaPrivateKeyPath,
  clientCert: host.HostOptions.AuthOptions.ClientCertPath,
  clientKey: host.HostOptions.AuthOptions.ClientKeyPath,
})

/**
 * A machine imported from another computer (machine import) has no CA key: its certificates can
 * be made again only where it was created. Said before anything is touched.
 */
function requireCaKey(host: HostConfig): void {
  if (host.HostOptions.AuthOptions.CaPrivateKeyPath) return
  throw new MachineError('no-ca-key', `"${host.Name}" was imported without its CA key, so new certificates for it can only be made on the computer that created it`, {
    hint: `there, run "machine regenerate-certs ${host.Name}" (or provision it), then "machine export ${host.Name}" again`,
  })
}

// Making a CA takes well under a second; 20 creates queued behind one another stay far below.
const CERTS_LOCK_WAIT_MS = 60_000

/**
 * Make the CA/client certificates where absent (never over an existing file), and copy them
 * into the machine dir. Under the store-wide certs lock: parallel creates on a fresh store
 * make one CA, and each one after the first finds it made and uses it.
 */
export async function ensureCertsFor(store: Store, host: HostConfig, log: (l: string) => void, opts: { forceClient?: boolean } = {}): Promise<void> {
  const p = authPaths(host)
  requireCaKey(host)
  // The store's own certs directory is made here; a directory named by a flag must exist.
  await mkdir(certsDir(store.path), { recursive: true, mode: 0o700 })
  const lock = await lockStore(store.path, 'certs', CERTS_LOCK_WAIT_MS)
  try {
    const r = await ensureClientCerts(p, { force: opts.forceClient })
    if (r.createdCA) log(`Creating CA: ${p.caCert}`)
    if (r.createdClient) log(`Creating client certificate: ${p.clientCert}`)
    // Copied from what was checked under the lock, not re-read: the machine gets the pair in use.
    const own = machineTlsPaths(store.dir(host.Name))
    await writeFileAtomic(own.ca, r.ca.cert, 0o644)
    await writeFileAtomic(own.cert, r.client.cert, 0o644)
    await writeFileAtomic(own.key, r.client.key, 0o600)
  } finally {
    await lock.release()
  }
}

/**
 * Check a machine's CA and client certificate before anything is changed (regenerate-certs
 * checks before it connects): the errors ensureCertsFor would give, nothing written.
 */
export async function checkCertsFor(host: HostConfig, opts: { forceClient?: boolean } = {}): Promise<void> {
  requireCaKey(host)
  await checkClientCerts(authPaths(host), { force: opts.forceClient })
}

/**
 * The machine's server certificate covering `sans`: the existing one is kept while it is
 * valid and covers every name (so re-provisioning changes nothing), else a new one is made.
 * Server certificates are the machine's own (in its directory), so they are replaced freely.
 */
export async function ensureServerCert(host: HostConfig, sans: string[], force = false): Promise<PemPair & { ca: string; created: boolean }> {
  const a = host.HostOptions.AuthOptions
  requireCaKey(host)
  const ca = await readCA(a.CaCertPath, a.CaPrivateKeyPath)
  if (!force) {
    const kept = await currentServerCert(a.ServerCertPath, a.ServerKeyPath, sans, ca.x509)
    if (kept) return { ...kept, ca: ca.cert, created: false }
  }
  const made = await createServerCert(ca, host.Name, sans)
  await writeFileAtomic(a.ServerKeyPath, made.key, 0o600)
  await writeFileAtomic(a.ServerCertPath, made.cert, 0o644)
  return { ...made, ca: ca.cert, created: true }
}

/** The existing server pair if it still serves: readable, covering `sans`, not expiring, of this CA. */
async function currentServerCert(certPath: string, keyPath: string, sans: string[], ca: ReturnType<typeof parseCertificate>): Promise<PemPair | undefined> {
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8').catch(() => undefined), readFile(keyPath, 'utf8').catch(() => undefined)])
  if (cert === undefined || key === undefined) return undefined
  let x509
  try {
    x509 = parseCertificate(cert, certPath)
  } catch {
    return undefined // damaged: made anew below
  }
  const have = certSans(cert, certPath)
  const covers = sans.every((s) => (isIP(s) ? have.ips.includes(s) : have.dns.includes(s)))
  const fresh = new Date(x509.validTo).getTime() - Date.now() > 30 * 86_400_000
  return covers && fresh && issuedBy(x509, ca) ? { cert, key } : undefined
}
