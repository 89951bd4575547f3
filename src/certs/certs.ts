import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { promisify } from 'node:util'
import type forgeNs from 'node-forge'
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
  const caKey = forge.pki.privateKeyFromPem(ca.key)
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

/** The SANs a certificate covers: { ips, dns }. Uses Node's native X509 parser (no forge). */
export function certSans(pem: string): { ips: string[]; dns: string[] } {
  const alt = new (crypto().X509Certificate)(pem).subjectAltName ?? ''
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

export function certCoversHost(pem: string, host: string): boolean {
  const { ips, dns } = certSans(pem)
  return isIP(host) ? ips.includes(host) : dns.includes(host)
}

/** True when the certificate expires within `days` (or already has). */
export function certExpiresSoon(pem: string, days = 0): boolean {
  const x = new (crypto().X509Certificate)(pem)
  return new Date(x.validTo).getTime() - Date.now() < days * 86_400_000
}

function usable(certPath: string): Promise<boolean> {
  if (!existsSync(certPath)) return Promise.resolve(false)
  return readFile(certPath, 'utf8').then(
    (pem) => !certExpiresSoon(pem, 0),
    () => false,
  )
}

/**
 * Make the store's CA and client certificate when missing or expired (`force` remakes the client
 * certificate, and the CA too when `forceCA`). Returns what was created, for progress lines.
 */
export async function ensureClientCerts(
  p: CertPaths,
  opts: { force?: boolean; forceCA?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<{ createdCA: boolean; createdClient: boolean }> {
  const env = opts.env ?? process.env
  let createdCA = false
  let createdClient = false
  if (opts.forceCA || !(await usable(p.caCert)) || !existsSync(p.caKey)) {
    const ca = await createCA(env)
    await writeFileAtomic(p.caKey, ca.key, 0o600)
    await writeFileAtomic(p.caCert, ca.cert, 0o644)
    createdCA = true
  }
  if (createdCA || opts.force || !(await usable(p.clientCert)) || !existsSync(p.clientKey)) {
    const ca = { cert: await readFile(p.caCert, 'utf8'), key: await readFile(p.caKey, 'utf8') }
    const client = await createClientCert(ca, env)
    await writeFileAtomic(p.clientKey, client.key, 0o600)
    await writeFileAtomic(p.clientCert, client.cert, 0o644)
    createdClient = true
  }
  return { createdCA, createdClient }
}

export async function readPair(certPath: string, keyPath: string): Promise<PemPair> {
  return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') }
}
