import type { KeyObject, X509Certificate } from 'node:crypto'
import { link, lstat, open, readFile, rm, stat } from 'node:fs/promises'
import { isIP } from 'node:net'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import type forgeNs from 'node-forge'
import { MachineError } from '../core/errors.js'
import { writeFileAtomic } from '../store/atomic.js'

type Forge = typeof forgeNs
let forgeP: Promise<Forge> | undefined
// node-forge is only needed when certificates are made; keep it off the env/ls start-up path.
const loadForge = (): Promise<Forge> => (forgeP ??= import('node-forge').then((m) => (m.default ?? m) as Forge))

const VALIDITY_DAYS = 1080 // docker-machine's
// node:crypto costs ~10 ms to load as an ES module; `env` needs it only for machines with a
// server certificate to check, so it is taken on first use.
const crypto = () => process.getBuiltinModule('node:crypto')

export interface CertPaths {
  caCert: string
  caKey: string
  clientCert: string
  clientKey: string
}

export interface PemPair {
  cert: string
  key: string
}

async function newKey(forge: Forge): Promise<{ pem: string; priv: forgeNs.pki.rsa.PrivateKey; pub: forgeNs.pki.rsa.PublicKey }> {
  // Key generation in native code (forge's pure-JS RSA is seconds slower).
  const { privateKey } = await promisify(crypto().generateKeyPair)('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  })
  const priv = forge.pki.privateKeyFromPem(privateKey) as forgeNs.pki.rsa.PrivateKey
  const pub = forge.pki.setRsaPublicKey(priv.n, priv.e)
  return { pem: privateKey, priv, pub }
}

function baseCert(forge: Forge, pub: forgeNs.pki.rsa.PublicKey, org: string): forgeNs.pki.Certificate {
  const cert = forge.pki.createCertificate()
  cert.publicKey = pub
  // A positive 128-bit serial (leading 0x01 keeps DER from reading it as negative).
  cert.serialNumber = `01${crypto().randomBytes(16).toString('hex')}`
  const now = Date.now()
  cert.validity.notBefore = new Date(now - 5 * 60_000)
  cert.validity.notAfter = new Date(now + VALIDITY_DAYS * 86_400_000)
  // UTF8String, not forge's default PrintableString: "user.<bootstrap>" has characters
  // PrintableString forbids, and Go (dockerd) then rejects the whole certificate.
  cert.setSubject([{ name: 'organizationName', value: org, valueTagClass: forge.asn1.Type.UTF8 as unknown as forgeNs.asn1.Class }])
  return cert
}

const userName = (env: NodeJS.ProcessEnv): string => env.USER || env.USERNAME || 'unknown'

export async function createCA(env: NodeJS.ProcessEnv = process.env): Promise<PemPair> {
  const forge = await loadForge()
  const k = await newKey(forge)
  const cert = baseCert(forge, k.pub, userName(env))
  cert.setIssuer(cert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(k.priv, forge.md.sha256.create())
  return { cert: forge.pki.certificateToPem(cert), key: k.pem }
}

async function signed(
  ca: PemPair,
  org: string,
  extensions: object[],
): Promise<PemPair> {
  const forge = await loadForge()
  const caCert = forge.pki.certificateFromPem(ca.cert)
  // forge reads PKCS#1 and unencrypted PKCS#8 RSA keys; Node normalises whatever PEM the CA
  // key file holds (already checked to be an RSA key) to PKCS#1 first.
  const caKey = forge.pki.privateKeyFromPem(crypto().createPrivateKey(ca.key).export({ type: 'pkcs1', format: 'pem' }) as string)
  const k = await newKey(forge)
  const cert = baseCert(forge, k.pub, org)
  cert.setIssuer(caCert.subject.attributes)
  cert.setExtensions([{ name: 'basicConstraints', cA: false }, ...extensions])
  cert.sign(caKey, forge.md.sha256.create())
  return { cert: forge.pki.certificateToPem(cert), key: k.pem }
}

export const createClientCert = (ca: PemPair, env: NodeJS.ProcessEnv = process.env): Promise<PemPair> =>
  signed(ca, `${userName(env)}.<bootstrap>`, [
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ])

/** Server certificate for a machine: SANs are its address(es) and names; IPs as IP SANs. */
export function createServerCert(ca: PemPair, machine: string, sans: string[], env: NodeJS.ProcessEnv = process.env): Promise<PemPair> {
  const altNames = [...new Set(sans.filter(Boolean))].map((s) => (isIP(s) ? { type: 7, ip: s } : { type: 2, value: s }))
  return signed(ca, `${userName(env)}.${machine}`, [
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyAgreement: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ])
}

// ---- Reading certificates and keys: every failure is one line naming the file.

/**
 * Parse a PEM certificate; anything else (OpenSSL's "PEM routines::no start line" and the
 * like) is a MachineError naming `path`, what the file should be and how to fix it.
 */
export function parseCertificate(pem: string, path?: string, label = 'certificate', flag?: string): X509Certificate {
  try {
    return new (crypto().X509Certificate)(pem)
  } catch {
    const what = path ? `The ${label} ${path}` : `A ${label}`
    const damaged = pem.includes('-----BEGIN CERTIFICATE-----')
    throw new MachineError('not-a-certificate', `${what} ${damaged ? 'holds a damaged certificate' : 'is not a PEM certificate'}`, {
      hint: `${flag ? `give with ${flag} ` : 'give '}a PEM file beginning "-----BEGIN CERTIFICATE-----"`,
    })
  }
}

/** Parse an unencrypted PEM private key, or a MachineError naming `path`. */
export function parsePrivateKey(pem: string, path: string, label = 'private key', flag?: string): KeyObject {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/.test(pem)) {
    throw new MachineError('encrypted-key', `The ${label} ${path} is encrypted with a passphrase`, {
      hint: `give${flag ? ` with ${flag}` : ''} an unencrypted copy (openssl pkey -in ${path} -out NEW.pem)`,
    })
  }
  try {
    return crypto().createPrivateKey(pem)
  } catch {
    throw new MachineError('not-a-private-key', `The ${label} ${path} is not a PEM private key`, {
      hint: `give${flag ? ` with ${flag}` : ''} a PEM file beginning "-----BEGIN RSA PRIVATE KEY-----" or "-----BEGIN PRIVATE KEY-----"`,
    })
  }
}

const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' })

/** The SANs a certificate covers: { ips, dns }. Uses Node's native X509 parser (no forge). */
export function certSans(pem: string, path?: string): { ips: string[]; dns: string[] } {
  const alt = parseCertificate(pem, path).subjectAltName ?? ''
  const ips: string[] = []
  const dns: string[] = []
  for (const part of alt.split(/,\s*/)) {
    const m = /^(IP Address|DNS):(.*)$/.exec(part.trim())
    if (!m) continue
    if (m[1] === 'DNS') dns.push(m[2]!)
    else ips.push(m[2]!)
  }
  return { ips, dns }
}

export function certCoversHost(pem: string, host: string, path?: string): boolean {
  const { ips, dns } = certSans(pem, path)
  return isIP(host) ? ips.includes(host) : dns.includes(host)
}

const expiresWithin = (x: X509Certificate, days: number): boolean => new Date(x.validTo).getTime() - Date.now() < days * 86_400_000

/** True when the certificate expires within `days` (or already has). */
export function certExpiresSoon(pem: string, days = 0, path?: string): boolean {
  return expiresWithin(parseCertificate(pem, path), days)
}

const FS_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
  ENOENT: 'it is a broken symbolic link',
  ELOOP: 'it is a loop of symbolic links',
  ENAMETOOLONG: 'the path is too long',
  EIO: 'an I/O error',
}

function unreadable(e: unknown, path: string, label: string): MachineError {
  const code = (e as NodeJS.ErrnoException).code ?? ''
  return new MachineError('cert-unreadable', `Cannot read the ${label} ${path}: ${FS_REASONS[code] ?? (e as Error).message}`, {
    hint: code === 'EACCES' || code === 'EPERM' ? `make it readable by ${userName(process.env)}` : `give the path of a readable PEM file`,
    cause: e,
  })
}

/** The file's text, or undefined when nothing is at `path`. Never blocks on a FIFO or device. */
async function readIfPresent(path: string, label: string): Promise<string | undefined> {
  try {
    await lstat(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw unreadable(e, path, label)
  }
  try {
    const st = await stat(path)
    if (!st.isFile()) {
      throw new MachineError('not-a-certificate', `The ${label} ${path} is not a regular file`, { hint: 'give the path of a PEM file' })
    }
    return await readFile(path, 'utf8')
  } catch (e) {
    if (e instanceof MachineError) throw e
    throw unreadable(e, path, label)
  }
}

// ---- The store's CA and client certificate.

/** One certificate + key pair as bootstrap sees it: its files, names in messages, and flags. */
interface PairSpec {
  name: string // "CA", "client certificate"
  certPath: string
  keyPath: string
  certLabel: string
  keyLabel: string
  certFlag: string
  keyFlag: string
  incompleteCode: string
}

const caSpec = (p: CertPaths): PairSpec => ({
  name: 'CA',
  certPath: p.caCert,
  keyPath: p.caKey,
  certLabel: 'CA certificate',
  keyLabel: 'CA key',
  certFlag: '--tls-ca-cert',
  keyFlag: '--tls-ca-key',
  incompleteCode: 'ca-incomplete',
})

const clientSpec = (p: CertPaths): PairSpec => ({
  name: 'client certificate',
  certPath: p.clientCert,
  keyPath: p.clientKey,
  certLabel: 'client certificate',
  keyLabel: 'client key',
  certFlag: '--tls-client-cert',
  keyFlag: '--tls-client-key',
  incompleteCode: 'client-cert-incomplete',
})

interface Loaded extends PemPair {
  x509: X509Certificate
}

/**
 * Read a pair: undefined when both files are absent; an error when only one is there (the
 * other half is never made over a survivor), when a file is not a PEM of its kind, or when the
 * certificate is not the key's. `kindOnly` checks each present file's kind and nothing more
 * (for an explicit replacement).
 */
async function loadPair(s: PairSpec, kindOnly = false): Promise<Loaded | undefined> {
  const [cert, key] = await Promise.all([readIfPresent(s.certPath, s.certLabel), readIfPresent(s.keyPath, s.keyLabel)])
  const x509 = cert === undefined ? undefined : parseCertificate(cert, s.certPath, s.certLabel, s.certFlag)
  const keyObj = key === undefined ? undefined : parsePrivateKey(key, s.keyPath, s.keyLabel, s.keyFlag)
  if (kindOnly) return undefined
  if (cert === undefined && key === undefined) return undefined
  if (cert === undefined || key === undefined) {
    const [present, missing, missingFlag] = cert === undefined ? [s.keyPath, s.certPath, s.certFlag] : [s.certPath, s.keyPath, s.keyFlag]
    const remake =
      s.name === 'CA'
        ? `to have a new CA made, move ${present} away (machines it signed then need "machine regenerate-certs -f --client-certs")`
        : `to have a new pair made, move ${present} away`
    throw new MachineError(s.incompleteCode, `The ${s.name} is incomplete: ${present} exists but ${missing} does not`, {
      hint: `restore ${missing} or give the matching file with ${missingFlag}; ${remake}`,
    })
  }
  if (!spki(x509!.publicKey).equals(spki(crypto().createPublicKey(keyObj!)))) {
    throw new MachineError('cert-key-mismatch', `The ${s.certLabel} ${s.certPath} and the ${s.keyLabel} ${s.keyPath} do not belong together (different public keys)`, {
      hint: `give the matching pair with ${s.certFlag} and ${s.keyFlag}`,
    })
  }
  if (s.name === 'CA' && keyObj!.asymmetricKeyType !== 'rsa') {
    throw new MachineError('unsupported-key', `The CA key ${s.keyPath} is an ${keyObj!.asymmetricKeyType?.toUpperCase()} key; machine signs with RSA CA keys only`, {
      hint: 'give an RSA CA with --tls-ca-cert and --tls-ca-key',
    })
  }
  return { cert, key, x509: x509! }
}

/** Both halves are to be made: each must go into a directory that exists (a typo is not a new CA). */
async function requireDirs(s: PairSpec): Promise<void> {
  const problems = new Map<string, string>() // directory -> what is wrong with it
  const paths: string[] = []
  for (const path of [s.certPath, s.keyPath]) {
    const dir = dirname(path)
    const st = await stat(dir).catch((e: NodeJS.ErrnoException) => e)
    if (st instanceof Error) problems.set(dir, st.code === 'ENOENT' || st.code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${st.code})`)
    else if (!st.isDirectory()) problems.set(dir, 'is not a directory')
    else continue
    paths.push(path)
  }
  if (paths.length === 0) return
  const why = [...problems].map(([dir, what]) => `${dir} ${what}`).join(' and ')
  throw new MachineError('tls-path-missing', `Cannot make the ${s.name} at ${paths.join(' and ')}: ${why}`, {
    hint: `check the paths given with ${s.certFlag} and ${s.keyFlag}; to have a new ${s.name} made there, create the directory first`,
  })
}

/** True when `cert` was issued and signed by `ca`. */
export const issuedBy = (cert: X509Certificate, ca: X509Certificate): boolean => cert.checkIssued(ca) && cert.verify(ca.publicKey)

interface Plan {
  ca?: Loaded
  client?: Loaded
  makeClient: boolean
  /** Replace the client pair, whether there or not (regenerate-certs --client-certs). */
  replaceClient: boolean
}

/** Everything bootstrap would do, checked first, so an error leaves every file as it was. */
async function plan(p: CertPaths, force: boolean): Promise<Plan> {
  const ca = caSpec(p)
  const cl = clientSpec(p)
  const loadedCA = await loadPair(ca)
  if (loadedCA && expiresWithin(loadedCA.x509, 0)) {
    throw new MachineError('ca-expired', `The CA certificate ${p.caCert} expired on ${new Date(loadedCA.x509.validTo).toISOString().slice(0, 10)}`, {
      hint: `move ${p.caCert} and ${p.caKey} away to have a new CA made, then run "machine regenerate-certs -f --client-certs" for every machine`,
    })
  }
  if (!loadedCA) await requireDirs(ca)
  if (force) {
    // An explicit replacement: still only over files that are what they claim to be.
    await loadPair(cl, true)
    await requireDirs(cl)
    return { ca: loadedCA, makeClient: true, replaceClient: true }
  }
  const client = await loadPair(cl)
  if (!client) {
    await requireDirs(cl)
    return { ca: loadedCA, makeClient: true, replaceClient: false }
  }
  const regen = `run "machine regenerate-certs -f --client-certs NAME" to make a new client certificate`
  if (!loadedCA || !issuedBy(client.x509, loadedCA.x509)) {
    throw new MachineError('cert-not-from-ca', `The client certificate ${p.clientCert} was not signed by the CA ${p.caCert}${loadedCA ? '' : ' (which does not exist)'}`, {
      hint: `give the CA that signed it with --tls-ca-cert and --tls-ca-key, or ${loadedCA ? regen : `move ${p.clientCert} and ${p.clientKey} away to have new ones made`}`,
    })
  }
  if (expiresWithin(client.x509, 0)) {
    throw new MachineError('client-cert-expired', `The client certificate ${p.clientCert} expired on ${new Date(client.x509.validTo).toISOString().slice(0, 10)}`, { hint: regen })
  }
  return { ca: loadedCA, client, makeClient: false, replaceClient: false }
}

/** A temp file beside `path` holding `data`, written and fsynced, ready to be linked into place. */
async function stage(path: string, data: string, mode: number): Promise<string> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`)
  const fh = await open(tmp, 'wx', mode)
  try {
    await fh.chmod(mode)
    await fh.writeFile(data)
    await fh.sync()
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  } finally {
    await fh.close()
  }
  return tmp
}

const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

/**
 * Give the staged file its name, which must not exist yet: a hard link fails if the name
 * exists, so bootstrap never overwrites a file, even one that appears meanwhile, and a reader
 * sees the whole file or none.
 */
async function commit(tmp: string, path: string, data: string, mode: number): Promise<void> {
  const exists = () =>
    new MachineError('cert-file-exists', `${path} appeared while machine was making it`, {
      hint: 'another program wrote it; run the command again to use it',
    })
  try {
    await link(tmp, path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? ''
    if (code === 'EEXIST') throw exists()
    if (!NO_LINKS.has(code)) throw e
    // No hard links on this filesystem: O_EXCL still never overwrites.
    const direct = await open(path, 'wx', mode).catch((e2: NodeJS.ErrnoException) => {
      throw e2.code === 'EEXIST' ? exists() : e2
    })
    try {
      await direct.writeFile(data)
      await direct.sync()
    } finally {
      await direct.close()
    }
  }
}

/**
 * Write a new pair, neither file existing yet. Both are staged first and then named key first,
 * back to back: a reader never finds a certificate without its key, and a process killed
 * half-way leaves half a pair only in the instant between two link calls.
 */
async function writeNewPair(s: PairSpec, pair: PemPair): Promise<void> {
  const staged: string[] = []
  try {
    const keyTmp = await stage(s.keyPath, pair.key, 0o600)
    staged.push(keyTmp)
    const certTmp = await stage(s.certPath, pair.cert, 0o644)
    staged.push(certTmp)
    await commit(keyTmp, s.keyPath, pair.key, 0o600)
    try {
      await commit(certTmp, s.certPath, pair.cert, 0o644)
    } catch (e) {
      // Undo our key, so the failure does not leave half a pair behind (only if still ours).
      if ((await readFile(s.keyPath, 'utf8').catch(() => '')) === pair.key) await rm(s.keyPath, { force: true })
      throw e
    }
  } finally {
    for (const t of staged) await rm(t, { force: true })
  }
}

/**
 * Check what ensureClientCerts would do without writing anything: throws its errors (half a
 * pair, mismatch, not a PEM, missing directory, expiry), else says what it would make.
 */
export async function checkClientCerts(p: CertPaths, opts: { force?: boolean } = {}): Promise<{ createCA: boolean; createClient: boolean }> {
  const pl = await plan(p, opts.force ?? false)
  return { createCA: !pl.ca, createClient: pl.makeClient }
}

/**
 * Make the store's CA and client certificate where absent. Existing files are used, never
 * overwritten: a CA is made only when both its halves are absent, and half a pair, a pair that
 * does not match, or a file that is not a PEM of its kind is an error. `force` replaces the
 * client certificate and key (regenerate-certs --client-certs); the CA is never replaced.
 * Callers serialise this with the store's certs lock (lockStore), so parallel creates share one
 * CA. Returns what was created (for progress lines) and the pairs in use.
 */
export async function ensureClientCerts(
  p: CertPaths,
  opts: { force?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<{ createdCA: boolean; createdClient: boolean; ca: PemPair; client: PemPair }> {
  const env = opts.env ?? process.env
  const pl = await plan(p, opts.force ?? false)
  let ca: PemPair | undefined = pl.ca && { cert: pl.ca.cert, key: pl.ca.key }
  const createdCA = !ca
  if (!ca) {
    ca = await createCA(env)
    await writeNewPair(caSpec(p), ca)
  }
  let client: PemPair | undefined = pl.client && { cert: pl.client.cert, key: pl.client.key }
  if (!client) {
    client = await createClientCert(ca, env)
    if (pl.replaceClient) {
      await writeFileAtomic(p.clientKey, client.key, 0o600)
      await writeFileAtomic(p.clientCert, client.cert, 0o644)
    } else {
      await writeNewPair(clientSpec(p), client)
    }
  }
  return { createdCA, createdClient: !pl.client, ca, client }
}

/** The CA pair at these paths, checked (kind, match); an error naming them when absent. */
export async function readCA(certPath: string, keyPath: string): Promise<PemPair & { x509: X509Certificate }> {
  const s = caSpec({ caCert: certPath, caKey: keyPath, clientCert: '', clientKey: '' })
  const ca = await loadPair(s)
  if (!ca) {
    throw new MachineError('ca-missing', `The CA ${certPath} and its key ${keyPath} do not exist`, {
      hint: 'run "machine provision NAME" to have a CA made, or give one with --tls-ca-cert and --tls-ca-key',
    })
  }
  return ca
}
