import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

// The dashboard drives machines (start, rm, create) and their containers with the user's keys,
// so every request must come from the page the user opened, on this machine:
// - the server listens on 127.0.0.1 only;
// - the Host header must name that address (or localhost) and our port: a DNS-rebinding page
//   (evil.example resolving to 127.0.0.1) sends its own name and is refused;
// - a random token, printed once in the URL, is traded on first load for a cookie (HttpOnly, so
//   no script reads it; SameSite=Strict, so no other site's request carries it); every other
//   request needs the cookie or the token in a header;
// - a request with another Origin is refused, and a state-changing one must carry our Origin and
//   a JSON body (a cross-site form cannot send either).

/** A fresh token per run: 32 random bytes, URL-safe. */
export const newToken = (): string => randomBytes(32).toString('base64url')

/** The header a non-browser client (a script, the tests) may send the token in instead of the cookie. */
export const TOKEN_HEADER = 'x-machine-dashboard-token'

/** The cookie's name carries the port: cookies are per host, not per port, and two dashboards may run. */
export const cookieName = (port: number): string => `machine_dashboard_${port}`

export interface Gate {
  port: number
  token: string
}

export type Verdict = { ok: true } | { ok: false; status: number; message: string }

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The names this server answers to: the address it listens on, and localhost, with its port. */
const hostsOf = (port: number): string[] => [`127.0.0.1:${port}`, `localhost:${port}`]

/** Our own origins, as a browser sends them in Origin. */
export const originsOf = (port: number): string[] => hostsOf(port).map((h) => `http://${h}`)

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim()
  }
  return undefined
}

/** Host, Origin and Fetch-Metadata checks: the request comes from our page (or a non-browser client on this machine). */
export function checkOrigin(req: IncomingMessage, g: Gate): Verdict {
  const host = (req.headers.host ?? '').toLowerCase()
  if (!hostsOf(g.port).includes(host)) return { ok: false, status: 421, message: `This dashboard answers only to 127.0.0.1:${g.port} (Host "${host}" refused)` }
  const origin = req.headers.origin
  const changes = req.method !== 'GET' && req.method !== 'HEAD'
  if (origin !== undefined && !originsOf(g.port).includes(origin)) return { ok: false, status: 403, message: `Requests from ${origin} are refused` }
  // Fetch metadata (every current browser): a request another site started is refused even if it carried no Origin.
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return { ok: false, status: 403, message: 'Cross-site requests are refused' }
  if (changes) {
    // A browser always sends Origin with a POST from script; a form or a link cannot send JSON.
    if (origin === undefined && req.headers[TOKEN_HEADER] === undefined) return { ok: false, status: 403, message: 'A change needs the Origin header of this dashboard' }
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return { ok: false, status: 415, message: 'Changes are sent as application/json' }
  }
  return { ok: true }
}

/** A token as given (URL, cookie or header): 401 without one, 403 for a wrong one. */
export function checkGivenToken(given: string | undefined, g: Gate): Verdict {
  if (given === undefined || given === '') return { ok: false, status: 401, message: 'Open the dashboard with the URL it printed (it carries the token)' }
  return same(given, g.token) ? { ok: true } : { ok: false, status: 403, message: 'Wrong dashboard token: open the URL the running dashboard printed' }
}

/** The request's token, from the header or else the cookie. */
export function checkToken(req: IncomingMessage, g: Gate): Verdict {
  const header = req.headers[TOKEN_HEADER]
  return checkGivenToken(typeof header === 'string' ? header : cookieValue(req.headers.cookie, cookieName(g.port)), g)
}

/** The cookie that carries the token for the page's own requests (fetch, EventSource). */
export const tokenCookie = (g: Gate): string => `${cookieName(g.port)}=${g.token}; HttpOnly; SameSite=Strict; Path=/`

/** Headers on every answer: nothing framed, no script or style but ours, no referrer (the URL once carried the token). */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
}
