/**
 * `machine doctor`'s certificate checks: pure judgements of X.509 certificates against the time
 * and the machine's CA (src/certs reads and parses them), each saying what it saw.
 */
import type { X509Certificate } from 'node:crypto'
import { certCoversHost, certSans, issuedBy } from '../certs/certs.js'

const day = (d: Date): string => d.toISOString().slice(0, 10)

/** Why `x` is not valid at `now` ("expired on 2024-01-01", "not valid before 2031-05-02"), or undefined. */
export function validityProblem(x: X509Certificate, now = Date.now()): string | undefined {
  const from = new Date(x.validFrom)
  const to = new Date(x.validTo)
  if (now > to.getTime()) return `expired on ${day(to)}`
  if (now < from.getTime()) return `is not valid before ${day(from)} (this computer's clock says ${day(new Date(now))})`
  return undefined
}

export const validUntil = (x: X509Certificate): string => `valid until ${day(new Date(x.validTo))}`

/** Why the engine's certificate would be refused by docker for `host`, or undefined. */
export function serverCertProblem(x: X509Certificate, ca: X509Certificate, host: string): string | undefined {
  if (!issuedBy(x, ca)) return 'is not signed by the machine\'s CA'
  const v = validityProblem(x)
  if (v) return v
  const pem = x.toString()
  if (!certCoversHost(pem, host)) {
    const { ips, dns } = certSans(pem)
    return `does not cover ${host} (it covers ${[...ips, ...dns].join(', ') || 'no address'})`
  }
  return undefined
}
