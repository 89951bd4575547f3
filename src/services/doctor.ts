/**
 * `${programName()} doctor NAME`: why `docker` cannot reach a machine, one layer at a time, in the order a
 * connection needs them (store entry → driver → address → SSH → engine port → TLS → the engine's
 * answer → its clock), plus the user's docker environment. Every check looks and changes nothing:
 * no store file, pin or docker context is written (SSH connects read-only), so running it on a
 * broken machine cannot make it worse. A check whose premise failed is skipped, naming the one
 * that failed, so the first ✖ is the cause and not one of its echoes.
 */
import type { Config } from '@oclif/core'
import type { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { issuedBy, parseCertificate } from '../certs/certs.js'
import { parseEngineUrl } from '../core/engine-url.js'
import { MachineError, messageOf } from '../core/errors.js'
import type { HostConfig } from '../core/host-config.js'
import { validateMachineName } from '../core/names.js'
import { programName } from '../core/program-name.js'
import { capabilitiesOf, supports } from '../driver-kit/contract.js'
import { withTimeout } from '../driver-kit/wait.js'
import { connectSsh, HostKeyMismatchError, pinsFor, readKnownHosts } from '../ssh/index.js'
import { currentContextOf, dockerConfigDir } from '../store/docker-contexts.js'
import type { Store } from '../store/store.js'
import { activeContextMachine, machineContextIsCurrent } from './docker-context.js'
import { presentedCertificate, localRouteTo, socketProblem, tcpConnect } from './doctor-probes.js'
import { serverCertProblem, validityProblem, validUntil } from './doctor-tls.js'
import { engineGet, readTls, type EngineAnswer } from './engine.js'
import { clientTlsFiles, engineUrlOf, openLoaded, type OpenMachine } from './machine.js'
import { engineUrlFromDriver, sshTarget } from './provision.js'
import { stripPort } from './swarm-address.js'

export type CheckId = 'store' | 'driver' | 'address' | 'ssh' | 'engine-port' | 'tls-ca' | 'tls-client' | 'tls-server' | 'engine' | 'clock' | 'environment'

export interface CheckResult {
  id: CheckId
  title: string
  status: 'ok' | 'failed' | 'skipped'
  /** What the check saw (or, skipped, why it did not run). */
  saw: string
  /** Failed: what to do about it. */
  fix?: string
  /** Failed: the command that applies the fix, where there is one. */
  command?: string
}

export interface DoctorReport {
  machine: string
  ok: boolean
  checks: CheckResult[]
}

/** How far an engine's clock may be from ours: certificates' dates are judged by both. */
export const MAX_SKEW_S = 60

/** What the checks are given, and what they learn and hand on to the ones after them. */
interface Seen {
  name: string
  store: Store
  config?: Config
  env: NodeJS.ProcessEnv
  host?: HostConfig
  m?: OpenMachine
  url?: string
  engineHost?: string
  enginePort?: number
  ca?: X509Certificate
  versionAnswer?: EngineAnswer
  answeredAt?: number
}

type Outcome = { ok: true; saw: string } | { ok: false; saw: string; fix: string; command?: string } | { skip: string }

interface Check {
  id: CheckId
  title: string
  needs: CheckId[]
  /** The fix when the check fails in a way it did not foresee (a timeout, an error without a hint). */
  fix: (name: string) => string
  run(s: Seen, signal: AbortSignal, ms: number): Promise<Outcome>
}

const fail = (saw: string, fix: string, command?: string): Outcome => ({ ok: false, saw, fix, ...(command ? { command } : {}) })
const hintOf = (e: unknown): string | undefined => (e instanceof MachineError ? e.hint : undefined)
const messageOnly = (e: unknown): string => (e instanceof MachineError ? e.message : messageOf(e))
const envCommand = (name: string): string => `eval "$(${programName()} env ${name})"`
const regenCommand = (name: string): string => `${programName()} regenerate-certs ${name}`
const removeEntry = (name: string): string => `repair or remove the entry ("${programName()} rm -f ${name}")`

const CHECKS: Check[] = [
  {
    id: 'store',
    title: 'store entry',
    needs: [],
    fix: removeEntry,
    async run(s) {
      try {
        s.host = await s.store.load(s.name)
      } catch (e) {
        if (!(e instanceof MachineError)) throw e
        return fail(e.message, e.hint ?? removeEntry(s.name))
      }
      return { ok: true, saw: `config.json readable, create finished (driver ${s.host.DriverName})` }
    },
  },
  {
    id: 'driver',
    title: 'driver state',
    needs: ['store'],
    fix: (n) => `check the driver's own tools and credentials ("${programName()} status ${n}" asks the same)`,
    async run(s, signal) {
      const host = s.host!
      s.m = await openLoaded(s.store, host, { config: s.config, log: { info: () => {}, debug: () => {} }, signal, env: s.env })
      const state = await s.m.driver.state()
      if (state === 'Running') return { ok: true, saw: `the ${host.DriverName} driver reports Running` }
      const saw = `the ${host.DriverName} driver reports ${state || 'no state'}`
      if (supports(s.m.def, 'start')) return fail(saw, 'start the machine', `${programName()} start ${s.name}`)
      return fail(saw, `the ${host.DriverName} driver cannot start it: power the host on, and check that this computer can reach it`)
    },
  },
  {
    id: 'address',
    title: 'address and route',
    needs: ['driver'],
    fix: () => 'check the network between this computer and the machine (VPN, interface, routes)',
    async run(s, signal) {
      const url = engineUrlOf(s.host!)
      if (!url.startsWith('tcp://')) {
        return fail(`the config has no tcp:// engine URL (${url || 'none'})`, `provision the machine again to record its address`, `${programName()} provision ${s.name}`)
      }
      const { host, port } = parseEngineUrl(url)
      Object.assign(s, { url, engineHost: host, enginePort: port })
      // The address may have moved since it was saved (a cloud VM's new public IP, a local VM's
      // new port): docker, env and the certificate then still name the old one. Drivers without
      // SSH (none) record a URL and have nothing newer to say.
      if (capabilitiesOf(s.m!.def).ssh) {
        const now = await engineUrlFromDriver(s.m!)
        if (now !== url) {
          return fail(`the engine's address changed: the config (and "${programName()} env") say ${url}, the driver says ${now}`, `provision the machine (certificates for the new address, the new URL saved), then point docker at it again (${envCommand(s.name)})`, `${programName()} provision ${s.name}`)
        }
      }
      const ip = await s.m!.driver.ip().catch((e: unknown) => `unknown (${messageOnly(e)})`)
      // Some drivers answer ip() with the engine's host:port (none): the same address.
      const driverSays = stripPort(ip) === host ? '' : `; the driver says ${ip}`
      try {
        const local = await localRouteTo(host, signal)
        return { ok: true, saw: `engine at ${url}${driverSays}; routed from ${local}` }
      } catch (e) {
        if (signal.aborted) throw e
        const code = (e as NodeJS.ErrnoException).code
        return fail(`no local route to ${host}${code ? ` (${code})` : ''}${driverSays}`, `check the network between this computer and the machine: VPN, interface, routes ("ip route get ${host}")`)
      }
    },
  },
  {
    id: 'ssh',
    title: 'SSH port and host key',
    needs: ['address'],
    fix: () => 'check that sshd runs on the host and that a firewall or security group allows its port',
    async run(s, signal, ms) {
      if (!capabilitiesOf(s.m!.def).ssh) return { skip: `the ${s.host!.DriverName} driver has no SSH` }
      const target = sshTarget(s.store, s.name, await s.m!.driver.sshInfo())
      const pinned = pinsFor(await readKnownHosts(target.knownHostsPath), target.host, target.port).keys.length > 0
      try {
        const session = await connectSsh(target, { timeoutMs: Math.max(1_000, ms - 250), readOnly: true, signal })
        session.close()
      } catch (e) {
        if (signal.aborted) throw e
        // A changed key is reported, never accepted: the hint says how to check it out of band.
        if (e instanceof HostKeyMismatchError) return fail(e.message, e.hint!)
        return fail(messageOnly(e), hintOf(e) ?? 'check that sshd runs on the host and that a firewall or security group allows its port')
      }
      const key = pinned ? 'host key matches the pin in known_hosts' : 'no host key pinned yet (the next provision pins it)'
      return { ok: true, saw: `logged in as ${target.user}@${target.host}:${target.port}; ${key}` }
    },
  },
  {
    id: 'engine-port',
    title: 'engine port',
    needs: ['address'],
    fix: () => 'check that a firewall or security group allows the engine port',
    async run(s, signal) {
      const at = `${s.engineHost}:${s.enginePort}`
      try {
        await tcpConnect(s.engineHost!, s.enginePort!, signal)
      } catch (e) {
        if (signal.aborted) throw e
        const code = socketProblem(e)
        if (code === 'ECONNREFUSED') {
          return fail(`${at} refused the connection (ECONNREFUSED)`, 'the Docker engine is not listening: provisioning restarts it with its TLS settings', `${programName()} provision ${s.name}`)
        }
        return fail(`${at} could not be reached (${code})`, 'check that a firewall or security group allows the engine port')
      }
      return { ok: true, saw: `${at} accepts connections` }
    },
  },
  {
    id: 'tls-ca',
    title: 'TLS CA',
    needs: ['store'],
    fix: (n) => `restore the CA files, or make new certificates ("${regenCommand(n)}")`,
    async run(s) {
      const path = clientTlsFiles(s.store, s.host!).ca
      let ca: X509Certificate
      try {
        ca = parseCertificate(await readFile(path, 'utf8'), path, 'CA certificate')
      } catch (e) {
        return fail(messageOnly(e), `restore it, or make new certificates for the machine`, regenCommand(s.name))
      }
      const bad = validityProblem(ca)
      if (bad) return fail(`the CA certificate ${path} ${bad}`, bad.startsWith('expired') ? `a new CA is needed: move the store's ca.pem and ca-key.pem away, then make new certificates for every machine ("${programName()} regenerate-certs -f --client-certs NAME")` : "set this computer's clock right")
      s.ca = ca
      return { ok: true, saw: `${path}, ${validUntil(ca)}` }
    },
  },
  {
    id: 'tls-client',
    title: 'TLS client certificate',
    needs: ['tls-ca'],
    fix: (n) => `make a new client certificate ("${programName()} regenerate-certs --client-certs ${n}")`,
    async run(s) {
      const { cert: path } = clientTlsFiles(s.store, s.host!)
      const command = `${programName()} regenerate-certs --client-certs ${s.name}`
      let cert: X509Certificate
      try {
        cert = parseCertificate(await readFile(path, 'utf8'), path, 'client certificate')
      } catch (e) {
        return fail(messageOnly(e), 'make a new client certificate', command)
      }
      if (!issuedBy(cert, s.ca!)) return fail(`the client certificate ${path} is not signed by the CA ${clientTlsFiles(s.store, s.host!).ca}, so the engine refuses it`, 'make a new client certificate from the CA', command)
      const bad = validityProblem(cert)
      if (bad) return fail(`the client certificate ${path} ${bad}`, bad.startsWith('expired') ? 'make a new client certificate' : "set this computer's clock right", bad.startsWith('expired') ? command : undefined)
      return { ok: true, saw: `${path}, signed by the CA, ${validUntil(cert)}` }
    },
  },
  {
    id: 'tls-server',
    title: 'TLS server certificate',
    needs: ['engine-port', 'tls-ca'],
    fix: (n) => `make a new server certificate ("${regenCommand(n)}")`,
    async run(s, signal) {
      const tls = await readTls(clientTlsFiles(s.store, s.host!))
      let x: X509Certificate
      try {
        x = await presentedCertificate(s.engineHost!, s.enginePort!, tls, signal)
      } catch (e) {
        if (signal.aborted) throw e
        return fail(`no TLS handshake on ${s.engineHost}:${s.enginePort} (${socketProblem(e)})`, 'this port is not the Docker engine with --tlsverify: provisioning writes its TLS settings and restarts it', `${programName()} provision ${s.name}`)
      }
      const bad = serverCertProblem(x, s.ca!, s.engineHost!)
      if (bad) return fail(`the engine's certificate ${bad}`, 'make a new server certificate for the current address', regenCommand(s.name))
      return { ok: true, saw: `the engine's certificate is signed by the CA, covers ${s.engineHost}, ${validUntil(x)}` }
    },
  },
  {
    id: 'engine',
    title: 'engine answer',
    needs: ['tls-client', 'tls-server'],
    fix: (n) => `the engine may be overloaded or hung: read its log ("${programName()} ssh ${n} -- sudo journalctl -u docker -n 50")`,
    async run(s, signal, ms) {
      const tls = await readTls(clientTlsFiles(s.store, s.host!))
      // engine.ts's own bound, a little inside the check's: its error names the wait that hung.
      const callMs = Math.max(500, ms - 250)
      const o = { machine: s.name, signal }
      const unwell = `the engine answered but is unwell: read its log ("${programName()} ssh ${s.name} -- sudo journalctl -u docker -n 50")`
      try {
        const ping = await engineGet(s.url!, '/_ping', tls, callMs, o)
        if (ping.status !== 200) return fail(`GET /_ping answered HTTP ${ping.status}`, unwell)
        const v = await engineGet(s.url!, '/version', tls, callMs, o)
        s.answeredAt = Date.now()
        if (v.status !== 200) return fail(`GET /version answered HTTP ${v.status}`, unwell)
        s.versionAnswer = v
        const body = JSON.parse(v.body) as { Version?: unknown; ApiVersion?: unknown }
        return { ok: true, saw: `GET /_ping OK; Docker ${String(body.Version)} (API ${String(body.ApiVersion)})` }
      } catch (e) {
        if (signal.aborted) throw e
        return fail(messageOnly(e), hintOf(e) ?? unwell)
      }
    },
  },
  {
    id: 'clock',
    title: 'clock',
    needs: ['engine'],
    fix: () => 'set the right time on the machine or on this computer',
    async run(s) {
      const date = s.versionAnswer!.headers.date
      const theirs = date ? Date.parse(date) : NaN
      if (!Number.isFinite(theirs)) return { skip: 'the engine sent no Date header' }
      // The header drops the milliseconds: the engine's time was within the second after it.
      const skew = Math.round((theirs + 500 - s.answeredAt!) / 1000)
      const saw = `the engine's clock is ${Math.abs(skew)} s ${skew >= 0 ? 'ahead of' : 'behind'} this computer's`
      if (Math.abs(skew) <= MAX_SKEW_S) return { ok: true, saw: Math.abs(skew) <= 1 ? "the engine's clock agrees with this computer's" : saw }
      return fail(`${saw} (engine: ${new Date(theirs).toISOString()}, here: ${new Date(s.answeredAt!).toISOString()})`, `certificates are judged by the clock: turn on time sync on the machine ("${programName()} ssh ${s.name} -- sudo timedatectl set-ntp true") or set this computer's clock`)
    },
  },
  {
    id: 'environment',
    title: 'docker environment',
    needs: ['store'],
    fix: (n) => `point docker at the machine ("${envCommand(n)}")`,
    async run(s) {
      const url = engineUrlOf(s.host!)
      const certPath = s.store.dir(s.name)
      const env = s.env
      const command = envCommand(s.name)
      const fix = 'point docker at this machine'
      if (env.DOCKER_HOST) {
        if (env.DOCKER_HOST !== url) return fail(`DOCKER_HOST is ${env.DOCKER_HOST}, not this machine's ${url}`, fix, command)
        // Unset, docker reads ~/.docker/{ca,cert,key}.pem: not this machine's files.
        if (!env.DOCKER_CERT_PATH) return fail("DOCKER_CERT_PATH is not set, so docker would use the certificates in ~/.docker, not this machine's", fix, command)
        if (resolve(env.DOCKER_CERT_PATH) !== certPath) return fail(`DOCKER_CERT_PATH is ${env.DOCKER_CERT_PATH}, not this machine's ${certPath}`, fix, command)
        if (!env.DOCKER_TLS_VERIFY) return fail('DOCKER_TLS_VERIFY is not set, so docker would not use the machine\'s certificates', fix, command)
        return { ok: true, saw: `DOCKER_HOST is ${url}, with this machine's certificates` }
      }
      if (activeContextMachine(s.store, env) === s.name) {
        if (!machineContextIsCurrent(s.store, s.host!, env)) {
          return fail(`docker uses the context "${s.name}", but its address or certificates are not the machine's current ones`, 'write the context again', `${programName()} use ${s.name}`)
        }
        return { ok: true, saw: `docker uses the context "${s.name}" of this machine` }
      }
      const context = env.DOCKER_CONTEXT || currentContextOf(dockerConfigDir(env)) || 'default'
      const from = env.DOCKER_CONTEXT ? 'DOCKER_CONTEXT' : 'the docker config'
      return fail(`docker uses the context "${context}" (from ${from}), not this machine's, and DOCKER_HOST is not set`, fix, command)
    },
  },
]

export interface DoctorOptions {
  config?: Config
  env: NodeJS.ProcessEnv
  /** The bound of each check, in milliseconds. */
  timeoutMs: number
  signal?: AbortSignal
}

/** Run every check in order; nothing is written anywhere. */
export async function doctor(store: Store, name: string, o: DoctorOptions): Promise<DoctorReport> {
  // A bad name is bad input (one line, like every command), not a finding.
  validateMachineName(name)
  const s: Seen = { name, store, config: o.config, env: o.env }
  const results = new Map<CheckId, CheckResult & { cause?: string }>()
  for (const c of CHECKS) {
    const blocked = c.needs.map((id) => results.get(id)!).find((r) => r.status !== 'ok' && !(r.status === 'skipped' && !r.cause))
    if (blocked) {
      const cause = blocked.cause ?? blocked.title
      results.set(c.id, { id: c.id, title: c.title, status: 'skipped', saw: `skipped (${cause} failed)`, cause })
      continue
    }
    const bound = AbortSignal.timeout(o.timeoutMs)
    const signal = o.signal ? AbortSignal.any([o.signal, bound]) : bound
    let out: Outcome
    try {
      out = await withTimeout(c.run(s, signal, o.timeoutMs), o.timeoutMs, `The ${c.title} check`, o.signal)
    } catch (e) {
      if (o.signal?.aborted) throw e
      out = fail(bound.aborted ? `no answer within ${Math.round(o.timeoutMs / 1000)} s` : messageOnly(e), hintOf(e) ?? c.fix(name))
    }
    results.set(c.id, 'skip' in out ? { id: c.id, title: c.title, status: 'skipped', saw: out.skip } : { id: c.id, title: c.title, status: out.ok ? 'ok' : 'failed', saw: out.saw, ...(out.ok ? {} : { fix: out.fix, ...(out.command ? { command: out.command } : {}) }) })
  }
  const checks = [...results.values()].map(({ cause: _c, ...r }) => r)
  return { machine: name, ok: checks.every((c) => c.status !== 'failed'), checks }
}

const MARK = { ok: '✔', failed: '✖', skipped: '–' } as const

/** The report as a user reads it: one line per check, and under each failed one its fix. */
export function renderDoctor(r: DoctorReport): string {
  const lines: string[] = []
  for (const c of r.checks) {
    lines.push(`${MARK[c.status]} ${c.title}: ${c.saw}`)
    if (c.status === 'failed') lines.push(`  fix: ${c.fix}${c.command ? `: ${c.command}` : ''}`)
  }
  return `${lines.join('\n')}\n`
}
