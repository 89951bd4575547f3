import { validateEngineOptions } from '../core/engine-options.js'
import { formatEngineUrl } from '../core/engine-url.js'
import { MachineError } from '../core/errors.js'
import { capabilitiesOf, type SshInfo } from '../driver-kit/contract.js'
import { checkAborted, retry } from '../driver-kit/wait.js'
import { REMOTE_CA, REMOTE_CERT, REMOTE_KEY } from '../provision/engine-config.js'
import type { ProvisionResult } from '../provision/provisioner.js'
import { withMachineLock } from '../store/lock.js'
import { knownHostsPath as machineKnownHostsPath } from '../store/paths.js'
import type { Store } from '../store/store.js'
import { whileBooting } from './boot-watch.js'
import { checkCertsFor, ensureCertsFor, ensureServerCert } from './certs.js'
import { reportMachineContext } from './docker-context.js'
import type { RunOptions } from './each-machine.js'
import { enginePing, readTls } from './engine.js'
import { machineTlsFiles, type OpenMachine } from './machine.js'
import { stripPort } from './swarm-address.js'
import type { Reporter } from './reporter.js'

export const knownHostsPath = (store: Store, name: string): string => machineKnownHostsPath(store.dir(name))

export const sshTarget = (store: Store, name: string, info: SshInfo) => ({
  ...info,
  knownHostsPath: knownHostsPath(store, name),
  // With neither injected keys nor a fingerprint the first key seen is pinned (generic hosts).
  trustOnFirstUse: !info.hostKeys?.length && !info.hostKeyFingerprint,
})

export interface ProvisionOptions {
  reporter: Reporter
  /** The operation's signal: every step ends with it (Ctrl-C during create). */
  signal?: AbortSignal
  /** Remake the server certificate even if the current one is fine (regenerate-certs). */
  forceServerCert?: boolean
  /** Remake the client certificate too (regenerate-certs --client-certs). */
  forceClientCert?: boolean
}

/** How long a booting host has to answer SSH. */
const SSH_WAIT_MS = 300_000

export interface ReprovisionOptions extends RunOptions {
  /** regenerate-certs: a new server certificate (and client one with clientCerts); the CA is kept. */
  regenerateCerts?: { clientCerts: boolean }
}

/**
 * `machine provision` and `machine regenerate-certs` on one machine: refused up front for a
 * driver without SSH, then under the machine's lock the host is provisioned and the config
 * saved (provisionMachine). Callers that already hold the lock (create, start) call
 * provisionMachine themselves.
 */
export async function reprovision(store: Store, m: OpenMachine, o: ReprovisionOptions): Promise<ProvisionResult> {
  const regen = o.regenerateCerts
  if (!capabilitiesOf(m.def).ssh) throw new MachineError('not-supported', `machines of the ${m.host.DriverName} driver ${regen ? 'have no certificates' : 'are not provisioned'}`)
  return withMachineLock(store.path, m.host.Name, 30_000, async () => {
    if (regen) {
      // The CA is kept (docker-machine's rule) and no key file is ever overwritten but the
      // client pair on --client-certs: a broken CA or client pair fails here, before the host
      // is touched, naming the files.
      await checkCertsFor(m.host, { forceClient: regen.clientCerts })
      o.reporter.info(`Regenerating TLS certificates for "${m.host.Name}"`)
    }
    const result = await provisionMachine(store, m, { reporter: o.reporter, signal: o.signal, forceServerCert: !!regen, forceClientCert: regen?.clientCerts })
    // New client certificates or a new address: the machine's docker context (if ours) follows.
    await reportMachineContext(store, m.host, { env: m.ctx.env, create: false, reporter: o.reporter })
    return result
  })
}

/**
 * Server certificate names: the address, localhost, the machine name, --tls-san, driver extras,
 * and the address the host has on a cluster's shared network (the driver's clusterAddress(),
 * or --swarm-addr), so an engine reached there verifies too.
 */
export async function certNames(m: OpenMachine): Promise<string[]> {
  const ip = await m.driver.ip()
  const extra = (await m.driver.certSans?.()) ?? []
  const cluster = [await m.driver.clusterAddress?.(), stripPort(m.host.HostOptions.SwarmOptions.Address)]
  return [...new Set([ip, 'localhost', m.host.Name, ...m.host.HostOptions.AuthOptions.ServerCertSANs, ...extra, ...cluster].filter((x): x is string => !!x))]
}

/**
 * Wait for SSH, then provision over that one connection: certificates, engine, drop-in; then
 * wait until the engine answers a Docker API ping over TLS with the client certificate, and
 * save the config (the host was changed: nobody has to remember to). The caller holds the
 * machine's lock (reprovision takes it).
 */
export async function provisionMachine(store: Store, m: OpenMachine, o: ProvisionOptions): Promise<ProvisionResult> {
  const { reporter: r, signal } = o
  const log = (l: string) => r.debug(l)
  const { connectSsh, sshConnectionCount } = await import('../ssh/index.js')
  const { provisionDebian } = await import('../provision/provisioner.js')
  const name = m.host.Name
  // A hand-edited config.json is checked before anything runs on the host (the render checks
  // again): no hostname set, no engine installed, no certificate made for a bad name.
  validateEngineOptions(m.host.HostOptions.EngineOptions, m.host.HostOptions.AuthOptions.ServerCertSANs, { machine: name })
  const info = await m.driver.sshInfo()
  const session = await r.step('Waiting for SSH to be available', { timeoutMs: SSH_WAIT_MS, signal }, (stepSignal, report) =>
    whileBooting(m, stepSignal, report, (s) => connectSsh(sshTarget(store, name, info), { retryForMs: SSH_WAIT_MS, signal: s, log })),
  )
  // Boot-time retries also open connections; what provisioning itself opens is counted from here.
  const connectionsAtReady = sshConnectionCount()
  let result: ProvisionResult
  try {
    const certs = await r.step('Copying certificates', { timeoutMs: 60_000, signal }, async () => {
      await ensureCertsFor(store, m.host, log, { forceClient: o.forceClientCert })
      return ensureServerCert(m.host, await certNames(m), o.forceServerCert)
    })
    const engine = m.host.HostOptions.EngineOptions
    result = await r.step('Provisioning the Docker engine', { timeoutMs: 1_200_000, signal }, () =>
      provisionDebian(session, {
        machineName: name,
        driverName: m.host.DriverName,
        sshUser: info.user,
        enginePort: m.driver.enginePort?.() ?? 2376,
        engine,
        caCert: certs.ca,
        serverCert: certs.cert,
        serverKey: certs.key,
        onStep: log,
        log,
      }),
    )
  } finally {
    session.close()
  }
  log(`SSH connections opened for provisioning: ${sshConnectionCount() - connectionsAtReady + 1}`)
  const a = m.host.HostOptions.AuthOptions
  a.CaCertRemotePath = REMOTE_CA
  a.ServerCertRemotePath = REMOTE_CERT
  a.ServerKeyRemotePath = REMOTE_KEY
  const url = await engineUrlFromDriver(m)
  m.host.Driver.EngineURL = url
  await r.step('Checking connection to Docker', { timeoutMs: 180_000, signal }, (s) => waitForEngine(store, name, url, s))
  await store.save(m.host)
  return result
}

export async function engineUrlFromDriver(m: OpenMachine): Promise<string> {
  if (m.driver.engineUrl) return m.driver.engineUrl()
  return formatEngineUrl(await m.driver.ip(), m.driver.enginePort?.() ?? 2376)
}

/**
 * Ask GET /_ping over TLS until it answers OK, backing off from 250 ms to 1 s between asks (a ping costs the host one TLS handshake; a longer gap is the engine answering up to that much later than it could); ends
 * only with `signal` (a step's timeout, Ctrl-C), with its reason.
 */
export async function waitForEngine(store: Store, name: string, url: string, signal: AbortSignal): Promise<void> {
  const tls = await readTls(machineTlsFiles(store, name))
  const notYet = () => new MachineError('engine-unreachable', `The Docker engine at ${url} did not answer over TLS`, { hint: `check "machine ssh ${name} -- sudo journalctl -u docker"` })
  await retry(
    async () => {
      if (await enginePing(url, tls, 5_000, { signal })) return
      checkAborted(signal) // a ping cut short by the signal is not the engine's answer
      throw notYet()
    },
    { isRetryable: (e) => e instanceof MachineError && e.code === 'engine-unreachable', baseMs: 250, capMs: 1_000, attempts: Infinity, signal },
  )
}
