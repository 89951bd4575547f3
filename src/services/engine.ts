import { readFile } from 'node:fs/promises'
import type { ClientRequest } from 'node:http'
import { connect, isIP, type Socket } from 'node:net'
import type { SecureContext, TLSSocket } from 'node:tls'
import { formatEngineUrl, parseEngineUrl } from '../core/engine-url.js'
import { MachineError } from '../core/errors.js'
import { abortReason, envMs } from '../driver-kit/wait.js'

export interface TlsFiles {
  ca: string
  cert: string
  key: string
}

export interface EngineTls {
  ca: string | Buffer
  cert: string | Buffer
  key: string | Buffer
}

/** Who is asked: the machine's name goes into every error, so a user with many sees which one. */
export interface EngineCallOptions {
  machine?: string
  /** Ends the call at once (Ctrl-C), with the signal's reason. */
  signal?: AbortSignal
}

/** One PEM file; anything else is named now, rather than as OpenSSL's "no start line" later. */
async function readPem(path: string): Promise<Buffer> {
  const b = await readFile(path)
  if (!b.includes('-----BEGIN ')) {
    throw new MachineError('bad-pem', `${path} is not a PEM certificate or key (no "-----BEGIN" line)`, { hint: 'run "machine regenerate-certs NAME" for the machine using it' })
  }
  return b
}

export const readTls = async (f: TlsFiles): Promise<EngineTls> => ({
  ca: await readPem(f.ca),
  cert: await readPem(f.cert),
  key: await readPem(f.key),
})

// node:tls, node:https and node:crypto take ~25 ms to load: `ls` over machines whose engines are
// down never needs them, so they are taken only once a dial has connected.
const builtin = {
  tls: () => process.getBuiltinModule('node:tls'),
  https: () => process.getBuiltinModule('node:https'),
  crypto: () => process.getBuiltinModule('node:crypto'),
}

// Machines usually share the store's CA and client certificate: one TLS context per distinct
// set of files instead of one per machine (parsing keys is most of a probe's CPU time).
const contexts = new Map<string, SecureContext>()
function contextFor(t: EngineTls): SecureContext {
  const id = builtin.crypto().createHash('sha1').update(t.ca).update('\0').update(t.cert).update('\0').update(t.key).digest('hex')
  let c = contexts.get(id)
  if (!c) {
    c = builtin.tls().createSecureContext({ ca: t.ca, cert: t.cert, key: t.key })
    contexts.set(id, c)
  }
  return c
}

/** An engine's answer; `headers` for what rides on them (the engine's Date, for doctor's clock check). */
export interface EngineAnswer {
  status: number
  body: string
  headers: import('node:http').IncomingHttpHeaders
}

/** The three waits of a call, each named in the error when it is the one that did not finish. */
type Phase = 'connect' | 'tls' | 'response'

const secs = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${+(ms / 1000).toFixed(1)} s`)

/** `Docker engine of machine "dev" at 127.0.0.1:2376`: what every error starts with. */
const engineAt = (host: string, port: number, machine?: string): string =>
  `Docker engine${machine ? ` of machine "${machine}"` : ''} at ${formatEngineUrl(host, port).slice('tcp://'.length)}`

// Without a machine name (an `ls` row, which names it already) the hint is the check itself.
const statusHint = (machine?: string): string => (machine ? `check that "${machine}" is running ("machine status ${machine}")` : 'check that the machine is running')

function timedOut(at: string, phase: Phase, ms: number, machine?: string): MachineError {
  const what = {
    connect: `did not accept a TCP connection within ${secs(ms)}`,
    tls: `accepted the connection but did not complete the TLS handshake within ${secs(ms)}`,
    response: `completed the TLS handshake but sent no HTTP response within ${secs(ms)}`,
  }[phase]
  const hint = {
    connect: `${statusHint(machine)} and that a firewall allows its port`,
    tls: 'check that this port is the Docker engine listening with --tlsverify (not another service, not plain HTTP)',
    response: machine ? `the engine may be overloaded or hung: check "machine ssh ${machine} -- sudo journalctl -u docker"` : 'the engine may be overloaded or hung: check its logs (journalctl -u docker)',
  }[phase]
  return new MachineError('engine-timeout', `${at} ${what}`, { hint })
}

const code = (e: unknown): string => String((e as NodeJS.ErrnoException)?.code ?? '')

/** A failed dial, said as what happened ("refused the connection (ECONNREFUSED)"). */
function dialFailed(at: string, e: unknown, machine?: string): MachineError {
  const c = code(e)
  const what =
    c === 'ECONNREFUSED'
      ? 'refused the connection (ECONNREFUSED)'
      : c === 'EHOSTUNREACH' || c === 'ENETUNREACH'
        ? `is unreachable (${c})`
        : c === 'ENOTFOUND' || c === 'EAI_AGAIN'
          ? `has a host name that does not resolve (${c})`
          : `could not be reached: ${(e as Error)?.message ?? String(e)}`
  return new MachineError('engine-unreachable', `${at} ${what}`, { hint: statusHint(machine), cause: e })
}

// OpenSSL's verdicts on the engine's certificate, and its alerts when the engine refuses ours.
const CERT_CODES = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_SIGNATURE_FAILURE|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID)$/

/** The engine's side closed the TCP connection before the TLS handshake could end. */
const peerClosed = (): Error => Object.assign(new Error('socket disconnected before the TLS handshake'), { code: 'ECONNRESET' })

/** The connection closed before an HTTP response (for buffered and streaming calls alike). */
function noResponse(at: string, e: unknown, machine?: string): MachineError {
  return new MachineError('engine-error', `${at} closed the connection without an HTTP response (${code(e) || (e as Error).message})`, { hint: statusHint(machine), cause: e })
}

/** The bound of one engine call (connect, TLS, answer): 20 s, or MACHINE_ENGINE_TIMEOUT_MS. */
export const engineTimeoutMs = (env: NodeJS.ProcessEnv = process.env): number => envMs(env, 'MACHINE_ENGINE_TIMEOUT_MS', 20_000, { min: 1, max: 3_600_000 })

/** A failed handshake: not TLS at all, a certificate we do not trust, or ours refused. */
function handshakeFailed(at: string, e: unknown, machine?: string): MachineError {
  const c = code(e)
  const regen = machine ? `run "machine regenerate-certs ${machine}"` : 'regenerate the certificates ("machine regenerate-certs NAME")'
  if (CERT_CODES.test(c)) {
    return new MachineError('engine-tls', `${at} presented a certificate that does not verify against the machine's CA (${c})`, { hint: regen, cause: e })
  }
  if (/ALERT/.test(c)) {
    return new MachineError('engine-tls', `${at} refused our client certificate (${c})`, { hint: regen, cause: e })
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|RECORD_LAYER|HTTP_REQUEST/.test(c)) {
    return new MachineError('engine-tls', `${at} did not answer with TLS (${c})`, {
      hint: 'check that this port is the Docker engine listening with --tlsverify (not another service, not plain HTTP)',
      cause: e,
    })
  }
  if (c === 'ECONNRESET' || /socket disconnected/i.test((e as Error)?.message ?? '')) {
    return new MachineError('engine-tls', `${at} closed the connection during the TLS handshake`, {
      hint: 'check that this port is the Docker engine listening with --tlsverify, and that it trusts the machine CA',
      cause: e,
    })
  }
  return new MachineError('engine-tls', `${at}: TLS handshake failed: ${(e as Error)?.message ?? String(e)}`, { hint: regen, cause: e })
}

/**
 * One Docker API call over mutual TLS, as the docker client makes it. The certificate is
 * verified against the machine's CA; the name checked is the URL's host (the SAN we put in).
 * `tls` may be a function so files are only read once the TCP dial succeeded.
 *
 * The whole call (TCP connect, TLS handshake, HTTP response) has one bound, `timeoutMs`: an
 * engine that accepts the connection and then says nothing must not hang `version` or `ls`.
 * When it expires (or `signal` aborts) every socket is destroyed, so nothing keeps the process
 * alive, and the error names the wait that did not finish.
 */
export async function engineGet(
  url: string,
  path: string,
  tls: EngineTls | (() => Promise<EngineTls>),
  timeoutMs: number,
  o: EngineCallOptions = {},
): Promise<EngineAnswer> {
  return engineRequest(url, 'GET', path, undefined, tls, timeoutMs, o)
}

/** Any Docker API call (GET, POST with a JSON body, DELETE), bounded and named as engineGet's. */
export async function engineRequest(
  url: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  json: unknown,
  tls: EngineTls | (() => Promise<EngineTls>),
  timeoutMs: number,
  o: EngineCallOptions = {},
): Promise<EngineAnswer> {
  const { host, port } = parseEngineUrl(url)
  const at = engineAt(host, port, o.machine)
  let phase: Phase = 'connect'
  let tcp: Socket | undefined
  let secure: TLSSocket | undefined
  let req: ClientRequest | undefined
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined

  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut(at, phase, timeoutMs, o.machine)), timeoutMs)
    if (o.signal) {
      onAbort = () => reject(abortReason(o.signal!))
      if (o.signal.aborted) onAbort()
      else o.signal.addEventListener('abort', onAbort, { once: true })
    }
  })

  const call = async (): Promise<EngineAnswer> => {
    tcp = connect({ host, port })
    const socket = tcp
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', (e) => reject(dialFailed(at, e, o.machine)))
    })
    phase = 'tls'
    // A port that closes at once (not the engine) may do so while the TLS files are read, before
    // TLS has the socket to notice: said now, not when the call's bound runs out.
    const closed = new Promise<never>((_, reject) => socket.once('close', () => reject(handshakeFailed(at, peerClosed(), o.machine))))
    closed.catch(() => undefined)
    const creds = typeof tls === 'function' ? await Promise.race([tls(), closed]) : tls
    secure = builtin.tls().connect({ socket, host, secureContext: contextFor(creds), ...(isIP(host) ? {} : { servername: host }) })
    const s = secure
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        s.once('secureConnect', resolve)
        s.once('error', (e) => reject(handshakeFailed(at, e, o.machine)))
      }),
      closed,
    ])
    phase = 'response'
    return new Promise((resolve, reject) => {
      // No agent: with `agent: false` Node makes a fresh https.Agent, which ignores
      // createConnection and dials again without our CA. Without one, our TLS socket is used.
      const payload = json === undefined ? undefined : JSON.stringify(json)
      const headers = payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) }
      req = builtin.https().request({ host, port, path, method, headers, createConnection: () => s }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
        res.on('error', reject)
      })
      req.on('error', (e) => reject(noResponse(at, e, o.machine)))
      req.end(payload)
    })
  }

  try {
    return await Promise.race([call(), bound])
  } finally {
    clearTimeout(timer)
    if (onAbort) o.signal?.removeEventListener('abort', onAbort)
    bound.catch(() => undefined)
    // The engine is asked once per call (no keep-alive): nothing may outlive the answer.
    req?.destroy()
    secure?.destroy()
    tcp?.destroy()
  }
}

/** Engine version via GET /version ("28.2.2"), or a MachineError saying why not. */
export async function engineVersion(url: string, tls: EngineTls | (() => Promise<EngineTls>), timeoutMs: number, o: EngineCallOptions = {}): Promise<string> {
  const res = await engineGet(url, '/version', tls, timeoutMs, o)
  const { host, port } = parseEngineUrl(url)
  const at = engineAt(host, port, o.machine)
  if (res.status !== 200) throw new MachineError('engine-error', `${at} answered HTTP ${res.status} to GET /version`, { hint: 'check that this port is the Docker engine' })
  let v: unknown
  try {
    v = (JSON.parse(res.body) as { Version?: unknown }).Version
  } catch {
    v = undefined
  }
  if (typeof v !== 'string' || !v) throw new MachineError('engine-error', `${at} sent no version in its answer to GET /version`, { hint: 'check that this port is the Docker engine' })
  return v
}

/** True when GET /_ping answers OK with our client certificate. */
export async function enginePing(url: string, tls: EngineTls, timeoutMs: number, o: EngineCallOptions = {}): Promise<boolean> {
  try {
    const res = await engineGet(url, '/_ping', tls, timeoutMs, o)
    return res.status === 200
  } catch {
    return false
  }
}

/** A streaming call's answer: read `res` to its end (or not), then close(). */
export interface EngineStream {
  status: number
  res: import('node:http').IncomingMessage
  close(): void
}

/**
 * A Docker API call whose bodies stream (`docker save` out of one engine into another's
 * `docker load`): nothing is held in memory. Connect and TLS are bounded as engineRequest's;
 * after that the bound is idleness — `idleMs` without a byte either way ends the call — since a
 * large image takes as long as it takes. `body` is piped as the request body (chunked).
 */
export async function engineStream(
  url: string,
  method: 'GET' | 'POST',
  path: string,
  tls: EngineTls | (() => Promise<EngineTls>),
  idleMs: number,
  o: EngineCallOptions & { body?: NodeJS.ReadableStream; contentType?: string } = {},
): Promise<EngineStream> {
  const { host, port } = parseEngineUrl(url)
  const at = engineAt(host, port, o.machine)
  let phase: Phase = 'connect'
  const tcp = connect({ host, port })
  let secure: TLSSocket | undefined
  let req: ClientRequest | undefined
  const close = (): void => {
    o.signal?.removeEventListener('abort', onAbort)
    req?.destroy()
    secure?.destroy()
    tcp.destroy()
  }
  const onAbort = (): void => close()
  o.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await new Promise<EngineStream>((resolve, reject) => {
      const fail = (e: unknown): void => {
        close()
        reject(e)
      }
      if (o.signal?.aborted) return fail(abortReason(o.signal))
      o.signal?.addEventListener('abort', () => reject(abortReason(o.signal!)), { once: true })
      // After the answer, an abort still closes every socket (onAbort, until close()).
      // Every socket read or write resets this: an engine that stops mid-image is named.
      tcp.setTimeout(idleMs, () => fail(timedOut(at, phase, idleMs, o.machine)))
      // on, not once: an error after the answer must not be an unhandled one.
      tcp.on('error', (e) => fail(phase === 'connect' ? dialFailed(at, e, o.machine) : e))
      // As engineRequest's: a close before the handshake ended is said at once.
      tcp.once('close', () => phase === 'tls' && fail(handshakeFailed(at, peerClosed(), o.machine)))
      tcp.once('connect', () => {
        phase = 'tls'
        const go = async (): Promise<void> => {
          const creds = typeof tls === 'function' ? await tls() : tls
          const s = builtin.tls().connect({ socket: tcp, host, secureContext: contextFor(creds), ...(isIP(host) ? {} : { servername: host }) })
          secure = s
          s.on('error', (e) => fail(phase === 'tls' ? handshakeFailed(at, e, o.machine) : e))
          s.once('secureConnect', () => {
            phase = 'response'
            const headers: Record<string, string> = o.body ? { 'Content-Type': o.contentType ?? 'application/x-tar', 'Transfer-Encoding': 'chunked' } : {}
            req = builtin.https().request({ host, port, path, method, headers, createConnection: () => s }, (res) => {
              resolve({ status: res.statusCode ?? 0, res, close })
            })
            req.on('error', (e) => fail(noResponse(at, e, o.machine)))
            if (o.body) {
              o.body.on('error', (e) => fail(e))
              o.body.pipe(req)
            } else req.end()
          })
        }
        go().catch(fail)
      })
    })
  } catch (e) {
    close()
    throw e
  }
}
