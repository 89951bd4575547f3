/**
 * The network probes of `machine doctor`: each looks and changes nothing, and each is bounded by
 * the caller's time. Errors keep Node's codes (ECONNREFUSED, ENETUNREACH…) so a check can say
 * what the socket saw.
 */
import { createSocket } from 'node:dgram'
import { connect, isIP } from 'node:net'
import type { X509Certificate } from 'node:crypto'
import { abortReason } from '../driver-kit/wait.js'
import type { EngineTls } from './engine.js'

/** A socket error said as "ECONNREFUSED" (its code) or its message. */
export const socketProblem = (e: unknown): string => String((e as NodeJS.ErrnoException)?.code || (e as Error)?.message || e)

/**
 * A probe that holds one socket: `start` gets the settle functions; whichever comes first (an
 * answer, an error, the signal) settles it, and the socket is closed then, whatever happened.
 */
function probe<T>(signal: AbortSignal, close: () => void, start: (ok: (v: T) => void, ko: (e: unknown) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const settle = (f: () => void): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      close()
      f()
    }
    const onAbort = (): void => settle(() => reject(abortReason(signal)))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    start(
      (v) => settle(() => resolve(v)),
      (e) => settle(() => reject(e)),
    )
  })
}

/**
 * The local route to `host`: the source address the kernel would send from. A UDP connect()
 * looks the route up and sends nothing, so an address with no route fails here with
 * ENETUNREACH/EHOSTUNREACH (what `ip route get` would say) without touching the network.
 */
export function localRouteTo(host: string, signal: AbortSignal): Promise<string> {
  const sock = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4')
  return probe(signal, () => sock.close(), (ok, ko) => {
    sock.once('error', ko)
    // Port 9 (discard): any port does, nothing is sent. Node (24) calls back even when the
    // kernel refused the connect (no route, as in a network namespace with lo down), leaving
    // the socket unconnected: that is asked after.
    sock.connect(9, host, () => {
      try {
        sock.remoteAddress()
      } catch {
        return ko(new Error(`the kernel has no route to ${host}`))
      }
      ok(sock.address().address)
    })
  })
}

/** A TCP connection to host:port, closed at once: resolves when it was accepted. */
export function tcpConnect(host: string, port: number, signal: AbortSignal): Promise<void> {
  const s = connect({ host, port })
  return probe(signal, () => s.destroy(), (ok, ko) => {
    s.once('connect', () => ok(undefined))
    s.once('error', ko)
  })
}

/**
 * The certificate the engine presents, read in a TLS handshake that does not reject it (the
 * checks say what is wrong with it, rather than OpenSSL's one code). Our client certificate is
 * offered as docker offers it; with TLS 1.3 the server's certificate arrives before the engine
 * judges ours, so a refused client certificate does not hide the server's.
 */
export function presentedCertificate(host: string, port: number, tls: EngineTls, signal: AbortSignal): Promise<X509Certificate> {
  const { X509Certificate: X509 } = process.getBuiltinModule('node:crypto')
  const s = process.getBuiltinModule('node:tls').connect({ host, port, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) })
  return probe(signal, () => s.destroy(), (ok, ko) => {
    s.once('secureConnect', () => {
      const raw = s.getPeerCertificate(false)?.raw
      if (raw) ok(new X509(raw))
      else ko(new Error('the engine presented no certificate'))
    })
    s.once('error', ko)
  })
}
