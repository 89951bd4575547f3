/**
 * What `machine export` puts in its sealed file and `machine import` takes out: one machine's
 * config.json and the files another computer needs to use it — the client certificate pair
 * and the CA certificate that signed the engine's (DOCKER_CERT_PATH), the SSH key, and the
 * pinned host key. Never the CA's key: it signs for every machine of the exporting store, so
 * whoever held it could reach them all. An imported machine is therefore used, started and
 * stopped as usual, but new certificates for it are made only where it was created.
 *
 * Everything read from a bundle is hostile until checked here: names, file names, sizes, the
 * config (the store's own schema), the PEM blocks.
 */
import { readFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { parseCertificate } from '../certs/certs.js'
import { MachineError } from '../core/errors.js'
import { authOptionsFor, parseHost, type HostConfig } from '../core/host-config.js'
import { validateMachineName } from '../core/names.js'
import { knownHostsPath, machineKeyPath, machineTlsPaths } from '../store/paths.js'

const KIND = 'machine'
const VERSION = 1
/** Certificates, keys and known_hosts are a few KiB; anything bigger is not one of them. */
const MAX_FILE = 64 * 1024

export interface Bundle {
  kind: typeof KIND
  version: number
  exportedAt: string
  name: string
  config: HostConfig
  files: {
    ca: string
    cert: string
    key: string
    knownHosts?: string
    /** The SSH private key under the name it has in the machine's directory (generic keeps the user's key's name). */
    sshKey?: { name: string; data: string; pub?: string }
  }
}

/** A machine taken from another store of this computer keeps that store's CA key beside its CA certificate. */
const CA_KEY_FILE = 'ca-key.pem'
/** File names a machine's directory holds for its own use: an SSH key may not take one. */
const RESERVED = new Set(['config.json', 'journal.json', 'ca.pem', CA_KEY_FILE, 'cert.pem', 'key.pem', 'server.pem', 'server-key.pem', 'known_hosts'])

const readSmall = async (path: string, what: string): Promise<string> => {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new MachineError('export-file-missing', `Cannot read the ${what} ${path}: ${e.code ?? e.message}`, { hint: 'run "machine regenerate-certs NAME" (or "machine provision NAME") to make it again' })
  })
  if (text.length > MAX_FILE) throw new MachineError('export-file-too-large', `The ${what} ${path} is larger than ${MAX_FILE / 1024} KiB: not a key or certificate`)
  return text
}

/** The bundle of a machine of this store (its directory `dir`). */
export async function bundleOf(host: HostConfig, dir: string): Promise<Bundle> {
  const tls = machineTlsPaths(dir)
  const [ca, cert, key] = await Promise.all([readSmall(tls.ca, 'CA certificate'), readSmall(tls.cert, 'client certificate'), readSmall(tls.key, 'client key')])
  const knownHosts = await readFile(knownHostsPath(dir), 'utf8').catch(() => undefined)
  const keyPath = typeof host.Driver.SSHKeyPath === 'string' && host.Driver.SSHKeyPath ? host.Driver.SSHKeyPath : machineKeyPath(dir)
  const sshKeyData = await readFile(keyPath, 'utf8').catch(() => undefined)
  const sshKey = sshKeyData === undefined ? undefined : { name: basename(keyPath), data: sshKeyData, pub: await readFile(`${keyPath}.pub`, 'utf8').catch(() => undefined) }
  if (sshKeyData !== undefined && sshKeyData.length > MAX_FILE) throw new MachineError('export-file-too-large', `The SSH key ${keyPath} is larger than ${MAX_FILE / 1024} KiB`)
  return { kind: KIND, version: VERSION, exportedAt: new Date().toISOString(), name: host.Name, config: host, files: { ca, cert, key, knownHosts, sshKey } }
}

const bad = (what: string): MachineError =>
  new MachineError('invalid-export-file', `The exported machine is not usable: ${what}`, { hint: 'export it again with "machine export NAME -o FILE" on the computer that has it' })

const text = (v: unknown, what: string, optional = false): string | undefined => {
  if (v === undefined && optional) return undefined
  if (typeof v !== 'string' || v.length > MAX_FILE || v.includes('\0')) throw bad(`${what} is missing or not a small text file`)
  return v
}

/** A payload opened from a sealed file, checked field by field; `rename` replaces its name. */
export async function readBundle(payload: Buffer, rename?: string): Promise<Bundle> {
  let b: Record<string, unknown>
  try {
    b = JSON.parse(payload.toString('utf8')) as Record<string, unknown>
  } catch {
    throw bad('its content is not JSON')
  }
  if (!b || typeof b !== 'object' || b.kind !== KIND) throw bad('not a machine')
  if (b.version !== VERSION) throw new MachineError('invalid-export-file', `The exported machine has format version ${String(b.version)}; this machine reads ${VERSION}`, { hint: 'upgrade machine' })
  const name = rename ?? String(b.name ?? '')
  validateMachineName(name)
  const f = (b.files ?? {}) as Record<string, unknown>
  const ca = text(f.ca, 'the CA certificate')!
  const cert = text(f.cert, 'the client certificate')!
  const key = text(f.key, 'the client key')!
  parseCertificate(ca, 'the bundle’s CA certificate')
  parseCertificate(cert, 'the bundle’s client certificate')
  if (!/^-----BEGIN (RSA |EC )?PRIVATE KEY-----\n[\s\S]+\n-----END (RSA |EC )?PRIVATE KEY-----\s*$/.test(key)) throw bad('the client key is not a PEM private key')
  const knownHosts = text(f.knownHosts, 'known_hosts', true)
  let sshKey: Bundle['files']['sshKey']
  if (f.sshKey !== undefined) {
    const k = f.sshKey as Record<string, unknown>
    const keyName = String(k?.name ?? '')
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/.test(keyName) || RESERVED.has(keyName) || keyName.endsWith('.pub')) throw bad(`its SSH key has an unusable file name ${JSON.stringify(keyName)}`)
    const data = text(k.data, 'the SSH key')!
    if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----\n/.test(data)) throw bad('the SSH key is not a private key file')
    sshKey = { name: keyName, data, pub: text(k.pub, 'the SSH public key', true) }
  }
  // The store's own schema, exactly as for a config.json on disk (types, versions, fields).
  const config = await parseHost(JSON.stringify(b.config ?? null), 'the exported config.json', name)
  return { kind: KIND, version: VERSION, exportedAt: String(b.exportedAt ?? ''), name, config, files: { ca, cert, key, knownHosts, sshKey } }
}

/**
 * The config the bundle's machine gets in this store under `dir`: its name, and every path
 * pointing into its own directory (the exporting computer's paths mean nothing here). The
 * certificates are its own copies; there is no CA key (see the top of this file).
 */
export function hostForImport(b: Bundle, storePath: string, dir: string, withCaKey = false): HostConfig {
  const tls = machineTlsPaths(dir)
  const auth = {
    ...authOptionsFor(storePath, dir, { CaCertPath: tls.ca, ClientCertPath: tls.cert, ClientKeyPath: tls.key }),
    CertDir: dir,
    CaPrivateKeyPath: withCaKey ? join(dir, CA_KEY_FILE) : '',
    ServerCertSANs: b.config.HostOptions.AuthOptions.ServerCertSANs,
  }
  const driver: Record<string, unknown> = { ...b.config.Driver, MachineName: b.name, StorePath: storePath, SSHKeyPath: b.files.sshKey ? join(dir, b.files.sshKey.name) : '' }
  // Options the exporter's driver recorded as paths on that computer (generic's SSHKey: the key
  // it copied from) are dropped rather than pointed at a file that does not exist here.
  for (const [k, v] of Object.entries(driver)) if (typeof v === 'string' && isForeignPath(v, dir) && k !== 'SSHKeyPath' && k !== 'StorePath') delete driver[k]
  return { ...b.config, Name: b.name, Driver: driver, HostOptions: { ...b.config.HostOptions, AuthOptions: auth } }
}

/** An absolute path that is not under the machine's new directory (a path of the exporting computer). */
const isForeignPath = (v: string, dir: string): boolean => /^(\/|[A-Za-z]:\\)/.test(v) && !resolve(v).startsWith(`${dir}/`) && dirname(v) !== dir && !/^[a-z]+:\/\//.test(v)

/** The files written for an imported machine, by path, with their modes (keys and pins 0600). */
export function filesForImport(b: Bundle, dir: string, caKey?: string): Array<{ path: string; data: string; mode: number }> {
  const tls = machineTlsPaths(dir)
  const out = [
    ...(caKey === undefined ? [] : [{ path: join(dir, CA_KEY_FILE), data: caKey, mode: 0o600 }]),
    { path: tls.ca, data: b.files.ca, mode: 0o644 },
    { path: tls.cert, data: b.files.cert, mode: 0o644 },
    { path: tls.key, data: b.files.key, mode: 0o600 },
  ]
  if (b.files.knownHosts !== undefined) out.push({ path: knownHostsPath(dir), data: b.files.knownHosts, mode: 0o600 })
  if (b.files.sshKey) {
    out.push({ path: join(dir, b.files.sshKey.name), data: b.files.sshKey.data, mode: 0o600 })
    if (b.files.sshKey.pub !== undefined) out.push({ path: join(dir, `${b.files.sshKey.name}.pub`), data: b.files.sshKey.pub, mode: 0o644 })
  }
  return out
}
