import { MachineError } from './errors.js'

/** tcp://HOST:PORT, with an IPv6 address in brackets. */
export const formatEngineUrl = (host: string, port: number): string => `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`

/** host and port of a tcp:// engine URL (IPv6 brackets removed). */
export function parseEngineUrl(url: string): { host: string; port: number } {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new MachineError('invalid-url', `Invalid engine URL "${url}"`)
  }
  if (u.protocol !== 'tcp:') throw new MachineError('invalid-url', `Only tcp:// engine URLs can be reached over TLS, got "${url}"`)
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 2376) }
}
