import { isIPv6 } from 'node:net'
import { MachineError } from './errors.js'

/** tcp://HOST:PORT, with an IPv6 address in brackets. */
export const formatEngineUrl = (host: string, port: number): string => `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`

/** A host name or address that reaches this computer only (an engine or SSH behind a local forward). */
export const isLoopbackHost = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host)

const URL_HINT = 'write it as tcp://HOST:PORT, e.g. tcp://192.168.99.100:2376'

/** host and port of a tcp:// engine URL (IPv6 brackets removed). */
export function parseEngineUrl(url: string): { host: string; port: number } {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new MachineError('invalid-url', `Invalid engine URL ${JSON.stringify(url)}`, { hint: URL_HINT })
  }
  if (u.protocol !== 'tcp:') throw new MachineError('invalid-url', `Only tcp:// engine URLs can be reached over TLS, got ${JSON.stringify(url)}`, { hint: URL_HINT })
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 2376) }
}

// A DNS name or IPv4 address: dot-separated labels of letters, digits, '-' and '_' (seen in
// real internal names), no label starting or ending with '-'.
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`)

/**
 * Why `value` is not a usable tcp://HOST:PORT engine URL, or undefined when it is. Parsed by
 * hand rather than with WHATWG URL, which silently drops tabs and newlines, trims spaces and
 * accepts user info, paths and "$(…)" in hosts; the URL is copied verbatim into DOCKER_HOST and
 * shell lines, so it must be exactly scheme, host, port and at most a trailing "/".
 */
export function engineUrlProblem(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f-\u009f\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]/.test(value)) return 'it contains whitespace or a control character'
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(value)
  if (!m) return 'it is not a URL'
  if (m[1] !== 'tcp') return `the scheme must be tcp, not ${m[1]}`
  let rest = m[2]!
  if (/[?#]/.test(rest)) return 'it has a query or fragment'
  const slash = rest.indexOf('/')
  if (slash >= 0) {
    if (rest.slice(slash) !== '/') return 'it has a path'
    rest = rest.slice(0, slash)
  }
  if (rest.includes('@')) return 'it has user info'
  let host: string
  let port: string | undefined
  const v6 = /^\[([^\]]*)\](?::(.*))?$/s.exec(rest)
  if (v6) {
    host = v6[1]!
    port = v6[2]
    if (!isIPv6(host)) return `the host [${host}] is not an IPv6 address`
  } else {
    const colon = rest.lastIndexOf(':')
    host = colon >= 0 ? rest.slice(0, colon) : rest
    port = colon >= 0 ? rest.slice(colon + 1) : undefined
    if (!host) return 'it has no host'
    if (host.includes(':')) return 'an IPv6 host must be in brackets, e.g. tcp://[::1]:2376'
    if (host.length > 253 || !HOSTNAME.test(host)) return `the host ${JSON.stringify(host)} is not a host name or IP address`
  }
  if (port === undefined || port === '') return 'it has no port'
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `the port ${JSON.stringify(port)} is not a number from 1 to 65535`
  return undefined
}

/** Throws invalid-url naming the value, what is wrong and the right form. `what` names its source (a flag). */
export function checkEngineUrl(value: string, what = '--url'): void {
  const problem = engineUrlProblem(value)
  if (problem) throw new MachineError('invalid-url', `Invalid ${what} ${JSON.stringify(value)} (${problem})`, { hint: URL_HINT })
}
