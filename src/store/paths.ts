import { createHash } from 'node:crypto'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { MachineError } from '../core/errors.js'
import { invalidMachineName, isValidMachineName } from '../core/names.js'

/** --storage-path, else $MACHINE_STORAGE_PATH, else ~/.docker/machine (docker-machine's default). */
export function resolveStorePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const p = flag || env.MACHINE_STORAGE_PATH || join(homedir(), '.docker', 'machine')
  return resolve(p)
}

/**
 * The store's layout, docker-machine's file names (a docker-machine store works as it is), known
 * here and nowhere else:
 *   <store>/certs/{ca,ca-key,cert,key}.pem       the store's CA and client pair (certsPaths)
 *   <store>/machines/<name>/config.json           the machine's config (configPath)
 *   <store>/machines/<name>/journal.json          what a create made, for rollback (journalPath)
 *   <store>/machines/<name>/{ca,cert,key}.pem     copies of the client pair: DOCKER_CERT_PATH (machineTlsPaths)
 *   <store>/machines/<name>/server{,-key}.pem     the engine's pair (machineTlsPaths)
 *   <store>/machines/<name>/id_rsa{,.pub}         the machine's SSH key (machineKeyPath)
 *   <store>/machines/<name>/known_hosts           its pinned host key (knownHostsPath)
 *   <store>/networks/<name>/                      a local driver's network between its VMs (networkDir)
 *   <store>/{cache,failed,.locks}/                shared images, failure evidence, locks
 *   <store>/settings.json                         store-wide settings (settings.ts), written by the user
 * A machine's files are named from its directory: drivers know only theirs (DriverContext.machineDir).
 */
export const machinesDir = (store: string): string => join(store, 'machines')
/**
 * The one place a machine name becomes a path. Every command reaches a machine's directory
 * through here (Store.dir), so a name that fails the name rule (`..`, `../certs`, `a/b`, an
 * absolute path, control characters) or that would resolve anywhere but directly under
 * `machines/` is refused before anything reads, writes or deletes.
 */
export function machineDir(store: string, name: string): string {
  return namedDir(store, 'machines', name, invalidMachineName)
}

/** `<store>/<folder>/<name>`, only for a name that passes the name rule and stays directly under the folder. */
function namedDir(store: string, folder: string, name: string, invalid: (name: string) => Error): string {
  if (!isValidMachineName(name)) throw invalid(name)
  const root = resolve(store, folder)
  const dir = resolve(root, name)
  if (dirname(dir) !== root) throw invalid(name)
  return dir
}
/**
 * A machine's directory without the name check: for driver tests (driver-kit/conformance.ts),
 * which hand drivers names the store refuses, to prove the driver refuses them too.
 */
export const uncheckedMachineDir = (store: string, name: string): string => join(machinesDir(store), name)
export const configPath = (machineDir: string): string => join(machineDir, 'config.json')
export const journalPath = (machineDir: string): string => join(machineDir, 'journal.json')
export const knownHostsPath = (machineDir: string): string => join(machineDir, 'known_hosts')
/** The private key; the public one is next to it with `.pub`. */
export const machineKeyPath = (machineDir: string): string => join(machineDir, 'id_rsa')
/** The TLS files in a machine's directory: the client pair and CA docker reads, and the engine's pair. */
export function machineTlsPaths(machineDir: string): { ca: string; cert: string; key: string; server: string; serverKey: string } {
  const f = (n: string) => join(machineDir, n)
  return { ca: f('ca.pem'), cert: f('cert.pem'), key: f('key.pem'), server: f('server.pem'), serverKey: f('server-key.pem') }
}
export const certsDir = (store: string): string => join(store, 'certs')
/** The store's own CA and client pair, used unless --tls-* flags name others. */
export function certsPaths(store: string): { dir: string; caCert: string; caKey: string; clientCert: string; clientKey: string } {
  const dir = certsDir(store)
  return { dir, caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), clientCert: join(dir, 'cert.pem'), clientKey: join(dir, 'key.pem') }
}
/** Store-wide settings the user writes (store/settings.ts); absent means every default. */
export const settingsPath = (store: string): string => join(store, 'settings.json')
export const cacheDir = (store: string): string => join(store, 'cache')
export const locksDir = (store: string): string => join(store, '.locks')
/** A machine's lock file (store/lock.ts), also read by creating.ts to tell a live create from a dead one. */
export const machineLockPath = (store: string, name: string): string => join(locksDir(store), `${name}.lock`)
/** Evidence of failed creates (console logs, transcripts), kept after their machine was rolled back. */
export const failedDir = (store: string): string => join(store, 'failed')
/**
 * A host-local network a driver runs between its machines (the qemu driver's switch and its
 * members). Network names follow the machine-name rule, so a name cannot point anywhere else.
 */
export function networkDir(store: string, name: string): string {
  return namedDir(store, 'networks', name, invalidNetworkName)
}
const invalidNetworkName = (name: string): Error =>
  new MachineError('invalid-network-name', `"${name}" is not a valid network name`, {
    hint: 'use letters, digits, "." and "-", starting with a letter or digit (e.g. "default")',
  })
/** A network's lock file (held while its members or switch change). "_" starts no machine name. */
export const networkLockPath = (store: string, name: string): string => join(locksDir(store), `_net.${name}.lock`)
/**
 * A swarm's lock file (held while its membership changes), named from a hash of its Discovery
 * string (`swarm://<cluster ID>`, read from config.json: hostile input that never becomes a path
 * itself). "_" starts no machine name.
 */
export const clusterLockPath = (store: string, discovery: string): string =>
  join(locksDir(store), `_swarm.${createHash('sha256').update(discovery).digest('hex').slice(0, 16)}.lock`)
