import type { Progress } from '../cli/progress.js'
import { validateEngineOptions } from '../core/engine-options.js'
import { formatEngineUrl } from '../core/engine-url.js'
import { MachineError } from '../core/errors.js'
import type { SshInfo } from '../driver-kit/contract.js'
import { REMOTE_CA, REMOTE_CERT, REMOTE_KEY } from '../provision/engine-config.js'
import type { ProvisionResult } from '../provision/provisioner.js'
import { knownHostsPath as machineKnownHostsPath } from '../store/paths.js'
import type { Store } from '../store/store.js'
import { whileBooting } from './boot-watch.js'
import { ensureCertsFor, ensureServerCert } from './certs.js'
import { enginePing, readTls } from './engine.js'
import { machineTlsFiles, type OpenMachine } from './machine.js'

export const knownHostsPath = (store: Store, name: string): string => machineKnownHostsPath(store.dir(name))

export const sshTarget = (store: Store, name: string, info: SshInfo) => ({
  ...info,
  knownHostsPath: knownHostsPath(store, name),
  // With neither injected keys nor a fingerprint the first key seen is pinned (generic hosts).
  trustOnFirstUse: !info.hostKeys?.length && !info.hostKeyFingerprint,
})

export interface ProvisionOptions {
  progress: Progress
  log: (line: string) => void
  /** Remake the server certificate even if the current one is fine (regenerate-certs). */
  forceServerCert?: boolean
  /** Remake the client certificate too (regenerate-certs --client-certs). */
  forceClientCert?: boolean
  /** How long to wait for SSH while the host boots. */
  sshWaitMs?: number
}

/** Server certificate names: the address, localhost, the machine name, --tls-san, driver extras. */
export async function certNames(m: OpenMachine): Promise<string[]> {
  const ip = await m.driver.ip()
  const extra = (await m.driver.certSans?.()) ?? []
  return [...new Set([ip, 'localhost', m.host.Name, ...m.host.HostOptions.AuthOptions.ServerCertSANs, ...extra].filter(Boolean))]
}

/**
 * Wait for SSH, then provision over that one connection: certificates, engine, drop-in; then
 * wait until the engine answers a Docker API ping over TLS with the client certificate.
 */
export async function provisionMachine(store: Store, m: OpenMachine, o: ProvisionOptions): Promise<ProvisionResult> {
  const { connectSsh, sshConnectionCount } = await import('../ssh/index.js')
  const { provisionDebian } = await import('../provision/provisioner.js')
  const name = m.host.Name
  // A hand-edited config.json is checked before anything runs on the host (the render checks
  // again): no hostname set, no engine installed, no certificate made for a bad name.
  validateEngineOptions(m.host.HostOptions.EngineOptions, m.host.HostOptions.AuthOptions.ServerCertSANs, { machine: name })
  const info = await m.driver.sshInfo()
  const session = await o.progress.step('Waiting for SSH to be available', o.sshWaitMs ?? 300_000, (signal, report) =>
    whileBooting(m, signal, report, (s) => connectSsh(sshTarget(store, name, info), { retryForMs: o.sshWaitMs ?? 300_000, signal: s, log: o.log })),
  )
  // Boot-time retries also open connections; what provisioning itself opens is counted from here.
  const connectionsAtReady = sshConnectionCount()
  let result: ProvisionResult
  try {
    const certs = await o.progress.step('Copying certificates', 60_000, async () => {
      await ensureCertsFor(store, m.host, o.log, { forceClient: o.forceClientCert })
      return ensureServerCert(m.host, await certNames(m), o.forceServerCert)
    })
    const engine = m.host.HostOptions.EngineOptions
    result = await o.progress.step('Provisioning the Docker engine', 1_200_000, () =>
      provisionDebian(session, {
        machineName: name,
        driverName: m.host.DriverName,
        sshUser: info.user,
        enginePort: m.driver.enginePort?.() ?? 2376,
        engine,
        caCert: certs.ca,
        serverCert: certs.cert,
        serverKey: certs.key,
        onStep: (t) => o.log(t),
        log: o.log,
      }),
    )
  } finally {
    session.close()
  }
  o.log(`SSH connections opened for provisioning: ${sshConnectionCount() - connectionsAtReady + 1}`)
  const a = m.host.HostOptions.AuthOptions
  a.CaCertRemotePath = REMOTE_CA
  a.ServerCertRemotePath = REMOTE_CERT
  a.ServerKeyRemotePath = REMOTE_KEY
  const url = await engineUrlFromDriver(m)
  m.host.Driver.EngineURL = url
  await o.progress.step('Checking connection to Docker', 180_000, (signal) => waitForEngine(store, name, url, signal))
  return result
}

export async function engineUrlFromDriver(m: OpenMachine): Promise<string> {
  if (m.driver.engineUrl) return m.driver.engineUrl()
  return formatEngineUrl(await m.driver.ip(), m.driver.enginePort?.() ?? 2376)
}

/** Poll GET /_ping over TLS until it answers OK. */
export async function waitForEngine(store: Store, name: string, url: string, signal: AbortSignal): Promise<void> {
  const tls = await readTls(machineTlsFiles(store, name))
  let delay = 250
  while (!signal.aborted) {
    if (await enginePing(url, tls, 5_000)) return
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 2_000)
  }
  throw new MachineError('engine-unreachable', `The Docker engine at ${url} did not answer over TLS`, {
    hint: `check "machine ssh ${name} -- sudo journalctl -u docker"`,
  })
}
