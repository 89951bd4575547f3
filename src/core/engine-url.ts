import { MachineError } from './errors.js'

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
