import { isLoopbackHost } from '../core/engine-url.js'
import { Socket } from 'node:net'
import type { Client, ConnectConfig } from 'ssh2'
import { MachineError } from '../core/errors.js'
import { fingerprintOf } from '../driver-kit/keys.js'
import { HostKeyMismatchError, HostKeyUnknownError, SshAuthError, SshUnreachableError, hostPort } from './errors.js'
import { readPrivateKey } from './keyfile.js'
import { blobType, parsePublicKeyLine, pinHostKeys, pinsFor, readKnownHosts, type HostKey } from './known-hosts.js'
import { Ssh2Session, type SshSession } from './session.js'
import { loadSsh2 } from '../driver-kit/ssh2-module.js'
import { abortReason, checkAborted, sleep } from '../driver-kit/wait.js'

export interface SshTarget {
  host: string
  port: number
  user: string
  /** Private key file (OpenSSH or PEM). Refused when group/other can read it, like OpenSSH. */
  keyPath: string
  /** The machine's own pin file, OpenSSH known_hosts format. */
  knownHostsPath: string
  /** Public host keys known in advance (injected via cloud-init): the first connection must present one; all are pinned. */
  hostKeys?: string[]
  /** "SHA256:…" the first connection must present; then pinned. */
  hostKeyFingerprint?: string
  /** With no pin and nothing known in advance: accept and pin the presented key. Default false → refuse. */
  trustOnFirstUse?: boolean
}

export interface ConnectOptions {
  /** Per attempt: TCP connect + handshake + authentication (default 15000). */
  timeoutMs?: number
  /** Keep retrying refused/reset/timed-out connections for this long while a host boots (default 0: one attempt). */
  retryForMs?: number
  /**
   * Also retry a refused key for this long (within retryForMs): on a booting host sshd can be up
   * a moment before cloud-init has installed the authorized key. Default 0: fail at once.
   * Host-key mismatches are never retried.
   */
  authRetryForMs?: number
  signal?: AbortSignal
  /**
   * Never write the pin file (machine doctor, which must change nothing): a key that would be
   * pinned (first use, injected keys, a fingerprint) is accepted for this connection only. A
   * pinned key that differs is refused as always.
   */
  readOnly?: boolean
  /** Debug lines; never carries key material. */
  log?: (line: string) => void
}

let connections = 0

/** TCP connections opened by this process (each attempt that reached the port counts). */
export function sshConnectionCount(): number {
  return connections
}

// ssh2's default host-key algorithm order; pinned key types are moved to the front so a host
// with several keys presents the one we can check (what OpenSSH does with known_hosts).
const HOST_KEY_ALGOS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']

function hostKeyAlgorithms(preferTypes: string[]): string[] {
  const first: string[] = []
  for (const t of preferTypes) {
    const algos = t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]
    for (const a of algos) if (HOST_KEY_ALGOS.includes(a) && !first.includes(a)) first.push(a)
  }
  return [...first, ...HOST_KEY_ALGOS.filter((a) => !first.includes(a))]
}

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN'])

/** An attempt that failed in a way a booting host produces: try again later. */
class RetryableError extends Error {}

export async function connectSsh(target: SshTarget, opts: ConnectOptions = {}): Promise<SshSession> {
  const log = opts.log ?? (() => undefined)
  const timeoutMs = opts.timeoutMs ?? 15_000
  const retryForMs = opts.retryForMs ?? 0
  const where = hostPort(target.host, target.port)
  const privateKey = await readPrivateKey(target.keyPath)
  let expected: HostKey[]
  try {
    expected = (target.hostKeys ?? []).filter((l) => l.trim() !== '').map(parsePublicKeyLine)
  } catch (e) {
    throw new MachineError('ssh-host-key-invalid', `invalid host key for ${where}: ${(e as Error).message}`, { cause: e })
  }
  const { Client } = await loadSsh2()

  const started = Date.now()
  const deadline = started + retryForMs
  let attempts = 0
  let delay = 500
  // A local VM's forwarded port costs nothing to try again and every second spent waiting past
  // its boot is create time; a remote host is not knocked on more than every 3 s.
  const maxDelay = isLoopbackHost(target.host) ? 1_000 : 3_000
  let firstAuthFailure: number | undefined
  for (;;) {
    checkAborted(opts.signal)
    attempts++
    const remaining = deadline - Date.now()
    const attemptTimeout = retryForMs > 0 ? Math.min(timeoutMs, Math.max(remaining, 1_000)) : timeoutMs
    log(`ssh: connecting to ${target.user}@${where} (attempt ${attempts})`)
    try {
      const client = await attempt(new Client(), target, expected, privateKey, attemptTimeout, opts.signal, log, opts.readOnly)
      return new Ssh2Session(client, where, log)
    } catch (e) {
      // The auth window starts at the first refusal, not at the first attempt: a slow boot
      // must not use it up before sshd even answers.
      if (e instanceof SshAuthError) firstAuthFailure ??= Date.now()
      const authRetry = e instanceof SshAuthError && Date.now() - (firstAuthFailure ?? 0) < (opts.authRetryForMs ?? 0)
      if (!(e instanceof RetryableError) && !authRetry) throw e
      const left = deadline - Date.now()
      if (left <= 0) {
        if (e instanceof SshAuthError) throw e
        throw new SshUnreachableError({ host: target.host, port: target.port, attempts, elapsedMs: Date.now() - started, lastError: (e as Error).message })
      }
      const wait = Math.min(delay, left)
      log(`ssh: ${where} not ready (${(e as Error).message}); retrying in ${wait}ms`)
      await sleep(wait, opts.signal)
      delay = Math.min(delay * 2, maxDelay)
    }
  }
}

function attempt(
  client: Client,
  target: SshTarget,
  expected: HostKey[],
  privateKey: Buffer,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  log: (line: string) => void,
  readOnly = false,
): Promise<Client> {
  const where = hostPort(target.host, target.port)
  return new Promise<Client>((resolve, reject) => {
    let verifyError: MachineError | undefined
    let toPin: HostKey[] = []
    let pinning: Promise<unknown> = Promise.resolve()
    let settled = false
    let knownText = ''

    // Our own socket, so a failed attempt can always be torn down: ssh2's destroy() is a no-op
    // once the peer has half-closed, which would leave the connection open.
    const sock = new Socket()
    sock.once('connect', () => {
      connections++
    })
    // What a port said before dropping us: sshd's throttling ("Exceeded MaxStartups") or another
    // service on the wrong port. Shown in the error; retried all the same (sshd may be booting).
    let before = ''
    const onEarlyData = (d: Buffer): void => {
      before = (before + d.toString('latin1')).slice(0, 200)
      if (/^SSH-/m.test(before) || before.length >= 200) sock.off('data', onEarlyData)
    }
    sock.on('data', onEarlyData)
    const said = (): string => {
      const text = before.split(/\r?\n/).map((l) => l.trim()).filter(Boolean)[0]
      return text && !text.startsWith('SSH-') ? ` (the port answered ${JSON.stringify(text.slice(0, 60))})` : ''
    }
    const finish = (err: unknown, ok?: Client): void => {
      if (settled) return
      settled = true
      if (err !== undefined) sock.destroy()
      signal?.removeEventListener('abort', onAbort)
      // From here on the session owns the client's events; a late error on a dead client must
      // not become an unhandled 'error' event.
      client.on('error', () => undefined)
      client.removeListener('error', onError).removeListener('close', onClose).removeListener('handshake', onHandshake)
      // A pin write started by the handshake must be finished (or failed) before we return.
      pinning.then(
        () => {
          if (err === undefined && ok) resolve(ok)
          else reject(err)
        },
        (pinErr: unknown) => {
          client.end()
          reject(err ?? new MachineError('known-hosts-write-failed', `cannot pin the host key of ${where} in ${target.knownHostsPath}: ${(pinErr as Error).message}`, { cause: pinErr }))
        },
      )
    }
    const onAbort = (): void => {
      client.destroy()
      finish(abortReason(signal!))
    }

    const verify = (key: Buffer): boolean => {
      const presented = fingerprintOf(key)
      const keyType = blobType(key)
      const pins = pinsFor(knownText, target.host, target.port)
      if (pins.revoked.some((k) => k.blob.equals(key))) {
        verifyError = new MachineError('host-key-revoked', `host key ${presented} of ${where} is marked @revoked in ${target.knownHostsPath}`)
        return false
      }
      if (pins.keys.length > 0) {
        if (pins.keys.some((k) => k.blob.equals(key))) {
          log(`ssh: host key ${presented} of ${where} matches the pin`)
          return true
        }
        verifyError = new HostKeyMismatchError({ host: target.host, port: target.port, expected: pins.keys.map((k) => fingerprintOf(k.blob)), presented, keyType, knownHostsPath: target.knownHostsPath, source: 'pinned' })
        return false
      }
      if (expected.length > 0) {
        if (expected.some((k) => k.blob.equals(key))) {
          log(`ssh: host key ${presented} of ${where} is the one injected at creation; pinning`)
          toPin = expected
          return true
        }
        verifyError = new HostKeyMismatchError({ host: target.host, port: target.port, expected: expected.map((k) => fingerprintOf(k.blob)), presented, keyType, knownHostsPath: target.knownHostsPath, source: 'host-keys' })
        return false
      }
      if (target.hostKeyFingerprint) {
        const want = target.hostKeyFingerprint.trim().replace(/=+$/, '')
        if (want === presented) {
          log(`ssh: host key ${presented} of ${where} matches the expected fingerprint; pinning`)
          toPin = [{ type: keyType, blob: key }]
          return true
        }
        verifyError = new HostKeyMismatchError({ host: target.host, port: target.port, expected: [want], presented, keyType, knownHostsPath: target.knownHostsPath, source: 'fingerprint' })
        return false
      }
      if (target.trustOnFirstUse) {
        log(`ssh: first connection to ${where}: trusting and pinning host key ${presented} (${keyType})`)
        toPin = [{ type: keyType, blob: key }]
        return true
      }
      verifyError = new HostKeyUnknownError({ host: target.host, port: target.port, presented, keyType, knownHostsPath: target.knownHostsPath })
      return false
    }

    // 'handshake' comes after the key exchange signature is verified: only then is the host
    // proven to hold the key, so only then is it pinned (before authentication, like OpenSSH).
    const onHandshake = (): void => {
      if (toPin.length > 0 && readOnly) {
        log(`ssh: not pinning the host key of ${where} (read-only connection)`)
        toPin = []
      }
      if (toPin.length > 0) {
        const keys = toPin
        toPin = []
        pinning = pinHostKeys(target.knownHostsPath, target.host, target.port, keys).then((added) => {
          for (const line of added) log(`ssh: pinned ${line.split(' ').slice(0, 2).join(' ')} in ${target.knownHostsPath}`)
        })
        pinning.catch(() => undefined)
      }
    }
    client.on('handshake', onHandshake)
    client.on('ready', () => finish(undefined, client))
    const onError = (err: Error & { level?: string; code?: string | number }): void => {
      client.destroy()
      if (verifyError) return finish(verifyError)
      if (err.level === 'client-authentication') {
        return finish(new SshAuthError({ host: target.host, port: target.port, user: target.user, keyPath: target.keyPath, cause: err }))
      }
      const code = typeof err.code === 'string' ? err.code : undefined
      if ((err.level === 'client-socket' && (code === undefined || RETRYABLE_CODES.has(code))) || err.level === 'client-timeout' || /before handshake|ECONNRESET|socket hang up/i.test(err.message)) {
        return finish(new RetryableError(`${code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message}${said()}`))
      }
      if (err.level === 'client-socket' || err.level === 'client-dns') {
        return finish(new SshUnreachableError({ host: target.host, port: target.port, attempts: 1, elapsedMs: 0, lastError: err.message }))
      }
      return finish(new MachineError('ssh-handshake-failed', `SSH handshake with ${where} failed: ${err.message}`, { cause: err }))
    }
    client.on('error', onError)
    // The server closed the connection before we were in (e.g. MaxStartups while it boots).
    const onClose = (): void => finish(verifyError ?? new RetryableError(`connection closed by the server before login${said()}`))
    client.on('close', onClose)

    signal?.addEventListener('abort', onAbort, { once: true })

    readKnownHosts(target.knownHostsPath)
      .then((text) => {
        knownText = text
        const pinned = pinsFor(text, target.host, target.port).keys
        const prefer = (pinned.length > 0 ? pinned : expected).map((k) => k.type)
        const config: ConnectConfig = {
          sock,
          host: target.host,
          port: target.port,
          username: target.user,
          privateKey,
          readyTimeout: timeoutMs,
          keepaliveInterval: 15_000,
          keepaliveCountMax: 4,
          hostVerifier: verify,
          algorithms: { serverHostKey: hostKeyAlgorithms(prefer) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
          // Only our key: never an agent, never a password prompt.
          tryKeyboard: false,
        }
        if (settled) return
        sock.connect({ host: target.host, port: target.port })
        client.connect(config)
      })
      .catch((e: unknown) =>
        finish(new MachineError('known-hosts-unreadable', `cannot read ${target.knownHostsPath}: ${(e as Error).message}`, { cause: e })),
      )
  })
}

