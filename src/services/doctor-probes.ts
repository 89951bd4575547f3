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
 * The local route to `host`: the source address the kernel would send from. A UDP connect()
 * looks the route up and sends nothing, so an address with no route fails here with
 * ENETUNREACH/EHOSTUNREACH (what `ip route get` would say) without touching the network.
 */
export function localRouteTo(host: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4')
    const done = (f: () => void): void => {
      signal.removeEventListener('abort', onAbort)
      sock.close()
      f()
    }
    const onAbort = (): void => done(() => reject(abortReason(signal)))
    signal.addEventListener('abort', onAbort, { once: true })
    sock.once('error', (e) => done(() => reject(e)))
    // Port 9 (discard): any port does, nothing is sent.
    sock.connect(9, host, () => {
      const local = sock.address().address
      done(() => resolve(local))
    })
  })
}

/** A TCP connection to host:port, closed at once: resolves when it was accepted. */
export function tcpConnect(host: string, port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port })
    const done = (f: () => void): void => {
      signal.removeEventListener('abort', onAbort)
      s.destroy()
      f()
    }
    const onAbort = (): void => done(() => reject(abortReason(signal)))
    signal.addEventListener('abort', onAbort, { once: true })
    s.once('connect', () => done(resolve))
    s.once('error', (e) => done(() => reject(e)))
  })
}

/**
 * The certificate the engine presents, read in a TLS handshake that does not reject it (the
 * checks say what is wrong with it, rather than OpenSSL's one code). Our client certificate is
 * offered as docker offers it; with TLS 1.3 the server's certificate arrives before the engine
 * judges ours, so a refused client certificate does not hide the server's.
 */
export function presentedCertificate(host: string, port: number, tls: EngineTls, signal: AbortSignal): Promise<X509Certificate> {
  const tlsMod = process.getBuiltinModule('node:tls')
  const { X509Certificate: X509 } = process.getBuiltinModule('node:crypto')
  return new Promise((resolve, reject) => {
    const s = tlsMod.connect({ host, port, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) })
    const done = (f: () => void): void => {
      signal.removeEventListener('abort', onAbort)
      s.destroy()
      f()
    }
    const onAbort = (): void => done(() => reject(abortReason(signal)))
    signal.addEventListener('abort', onAbort, { once: true })
    s.once('secureConnect', () => {
      const raw = s.getPeerCertificate(false)?.raw
      if (!raw) return done(() => reject(new Error('the engine presented no certificate')))
      done(() => resolve(new X509(raw)))
    })
    s.once('error', (e) => done(() => reject(e)))
  })
}
