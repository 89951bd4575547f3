import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Config } from '@oclif/core'
import { MachineError, messageOf } from '../core/errors.js'
import { isValidMachineName } from '../core/names.js'
import { NotSupportedError } from '../driver-kit/contract.js'
import { templatesDir } from '../driver-kit/templates.js'
import type { Store } from '../store/store.js'
import { containerAction, followLogs, listContainers, type ContainerAction } from './containers.js'
import { checkCreateRequest, driverForms } from './create-form.js'
import { FleetWatch } from './fleet.js'
import { Jobs, type Job } from './jobs.js'
import { envLines, MACHINE_OPERATIONS, offeredOperations, runCreate, runMachineOperation, type MachineOperation, type OperationContext } from './operations.js'
import { checkGivenToken, checkOrigin, checkToken, newToken, SECURITY_HEADERS, tokenCookie, type Gate } from './security.js'

/** POST /api/machines/NAME/OPERATION, for exactly the operations the page offers. */
const OPERATION_ROUTE = new RegExp(`^/api/machines/([^/]+)/(${MACHINE_OPERATIONS.join('|')})$`)

// `machine dashboard`'s HTTP server (node:http, no framework: a dozen routes). The page, its
// script and style are plain files in templates/dashboard/, read once at start: no build step,
// no CDN, works offline. See docs/dashboard.md for the routes and the security model.

export interface DashboardOptions {
  store: Store
  config?: Config
  env?: NodeJS.ProcessEnv
  /** 0: any free port. */
  port: number
  /** Tests: a known token instead of a random one. */
  token?: string
}

export interface Dashboard {
  url: string
  port: number
  token: string
  close(): Promise<void>
}

const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/dashboard.js': 'dashboard.js',
  '/dashboard.css': 'dashboard.css',
}
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' }

/** A request body of at most 64 KiB, parsed as JSON (a create form is a few hundred bytes). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > 65_536) throw new MachineError('too-large', 'Request body over 64 KiB')
    chunks.push(c)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text) return {}
  try {
    return JSON.parse(text)
  } catch {
    throw new MachineError('bad-json', 'Request body is not JSON')
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', ...headers })
  res.end(JSON.stringify(body))
}

/** The HTTP status an error deserves: a missing machine 404, a refusal of its state or a busy lock 409, bad input 400. */
function statusOf(e: unknown): number {
  const code = e instanceof MachineError ? e.code : e instanceof NotSupportedError ? 'not-supported' : ''
  if (code === 'machine-not-found') return 404
  if (code === 'machine-locked' || code === 'not-supported' || code.startsWith('already-')) return 409
  // A malformed %-escape in the path (decodeURIComponent) is bad input too.
  if (/^(invalid|bad|too)-/.test(code) || e instanceof URIError) return 400
  return 500
}

/** An error for the page: its one line and its fix. */
function sendError(res: ServerResponse, e: unknown): void {
  send(res, statusOf(e), { error: e instanceof MachineError ? e.message : messageOf(e), ...(e instanceof MachineError && e.hint ? { hint: e.hint } : {}) })
}

/** A server-sent events stream: `send(event, data)` until the page goes (then `onClose`). */
function eventStream(req: IncomingMessage, res: ServerResponse, onClose: () => void): (event: string, data: unknown) => void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' })
  res.write(': connected\n\n')
  // A comment now and then: proxies and the browser keep a quiet stream open.
  const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000)
  req.on('close', () => {
    clearInterval(beat)
    onClose()
  })
  return (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
}

function watchJob(req: IncomingMessage, res: ServerResponse, job: Job): void {
  let stop = () => {}
  const push = eventStream(req, res, () => stop())
  stop = job.watch((e) => {
    push(e.type, e)
    if (e.type === 'done') res.end()
  })
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const env = o.env ?? process.env
  const dir = join(templatesDir(), 'dashboard')
  const files = Object.fromEntries(Object.entries(STATIC).map(([path, file]) => [path, { body: readFileSync(join(dir, file)), type: TYPES[file.split('.').pop()!]! }]))
  const run = new AbortController()
  const ctx: OperationContext = { store: o.store, config: o.config, signal: run.signal, env }
  const fleet = new FleetWatch(o.store, { config: o.config, env })
  const jobs = new Jobs()
  const gate: Gate = { port: 0, token: o.token ?? newToken() }
  const openStreams = new Set<AbortController>()

  /** The job's id for the page, which follows it at /api/jobs/ID/events; the list is probed again when it ends. */
  const startJob = (res: ServerResponse, title: string, fn: Parameters<Jobs['start']>[1]): void => {
    const job = jobs.start(title, fn)
    void job.done.then(() => fleet.refresh().catch(() => undefined))
    send(res, 202, { job: job.id })
  }

  const machineName = (raw: string): string => {
    const name = decodeURIComponent(raw)
    if (!isValidMachineName(name)) throw new MachineError('invalid-name', `Invalid machine name ${JSON.stringify(name)}`)
    return name
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname
    const method = req.method ?? 'GET'
    const file = files[path]
    if (file && method === 'GET') {
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': file.type })
      return void res.end(file.body)
    }
    if (path === '/api/machines' && method === 'GET') {
      await fleet.ready()
      return send(res, 200, { machines: fleet.current() })
    }
    if (path === '/api/events' && method === 'GET') {
      await fleet.ready()
      let stop = () => {}
      const push = eventStream(req, res, () => stop())
      // The snapshot and the subscription in one synchronous step: no change falls between them.
      push('snapshot', { machines: fleet.current() })
      stop = fleet.listen((c) => push('fleet', c))
      return
    }
    if (path === '/api/drivers' && method === 'GET') return send(res, 200, { drivers: await driverForms(o.config) })
    if (path === '/api/machines' && method === 'POST') {
      const checked = await checkCreateRequest(o.store, await readJson(req), { config: o.config, env })
      if ('errors' in checked) return send(res, 400, { errors: checked.errors })
      return startJob(res, `create ${checked.name}`, (r) => runCreate(ctx, { name: checked.name, driver: checked.def.name, flags: checked.flags }, r))
    }
    const job = /^\/api\/jobs\/([0-9a-f-]{36})\/events$/.exec(path)
    if (job && method === 'GET') {
      const j = jobs.get(job[1]!)
      return j ? watchJob(req, res, j) : send(res, 404, { error: 'No such job' })
    }
    const op = OPERATION_ROUTE.exec(path)
    if (op && method === 'POST') {
      const name = machineName(op[1]!)
      // The route names only MACHINE_OPERATIONS.
      const action = op[2] as MachineOperation
      const body = (await readJson(req)) as { confirm?: unknown }
      // rm asks first on the page; the server insists the answer names the machine, so no stray request removes one.
      if (action === 'remove' && body.confirm !== name) return send(res, 400, { error: `Removing "${name}" needs {"confirm": "${name}"}` })
      if (!(await o.store.exists(name))) return send(res, 404, { error: `Machine "${name}" does not exist` })
      return startJob(res, `${action} ${name}`, (r) => runMachineOperation(ctx, name, action, r))
    }
    const offered = /^\/api\/machines\/([^/]+)\/operations$/.exec(path)
    if (offered && method === 'GET') return send(res, 200, { operations: await offeredOperations(o.store, machineName(offered[1]!), o.config) })
    const env_ = /^\/api\/machines\/([^/]+)\/env$/.exec(path)
    if (env_ && method === 'GET') return send(res, 200, await envLines(o.store, machineName(env_[1]!)))
    const list = /^\/api\/machines\/([^/]+)\/containers$/.exec(path)
    if (list && method === 'GET') {
      const host = await o.store.load(machineName(list[1]!))
      return send(res, 200, { containers: await listContainers(o.store, host, env) })
    }
    const logs = /^\/api\/machines\/([^/]+)\/containers\/([^/]+)\/logs$/.exec(path)
    if (logs && method === 'GET') {
      const host = await o.store.load(machineName(logs[1]!))
      const ac = new AbortController()
      openStreams.add(ac)
      const push = eventStream(req, res, () => {
        ac.abort()
        openStreams.delete(ac)
      })
      const tail = Math.min(Math.max(Number(url.searchParams.get('tail') ?? 200) || 200, 0), 5000)
      await followLogs(o.store, host, decodeURIComponent(logs[2]!), { tail, env, signal: ac.signal, onLine: (line, stream) => push('line', { line, stream }) })
        .then(() => push('end', {}))
        .catch((e: unknown) => push('failed', { error: messageOf(e) }))
      return void res.end()
    }
    const cop = /^\/api\/machines\/([^/]+)\/containers\/([^/]+)\/(start|stop|remove)$/.exec(path)
    if (cop && method === 'POST') {
      const host = await o.store.load(machineName(cop[1]!))
      await containerAction(o.store, host, decodeURIComponent(cop[2]!), cop[3] as ContainerAction, env)
      return send(res, 200, { ok: true })
    }
    send(res, 404, { error: 'Not found' })
  }

  const server: Server = createServer((req, res) => {
    const origin = checkOrigin(req, gate)
    if (!origin.ok) return send(res, origin.status, { error: origin.message })
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${gate.port}`)
    // The printed URL's token becomes the cookie, and the page is loaded again without it, so
    // the token leaves the address bar and the history.
    const given = url.searchParams.get('token')
    if (url.pathname === '/' && given !== null && req.method === 'GET') {
      const ok = checkGivenToken(given, gate)
      if (!ok.ok) return send(res, ok.status, { error: ok.message })
      res.writeHead(303, { ...SECURITY_HEADERS, 'Set-Cookie': tokenCookie(gate), Location: '/' })
      return void res.end()
    }
    const auth = checkToken(req, gate)
    if (!auth.ok) return send(res, auth.status, { error: auth.message })
    route(req, res, url).catch((e: unknown) => {
      if (!res.headersSent) sendError(res, e)
      else res.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new MachineError('port-in-use', `Port ${o.port} on 127.0.0.1 is in use`, { hint: 'pass another --port, or leave it out for a free one' }) : e),
    )
    server.listen(o.port, '127.0.0.1', () => resolve())
  })
  gate.port = (server.address() as AddressInfo).port
  return {
    port: gate.port,
    token: gate.token,
    url: `http://127.0.0.1:${gate.port}/?token=${gate.token}`,
    async close() {
      fleet.stop()
      run.abort(new MachineError('interrupted', 'The dashboard was stopped', { exitCode: 130 }))
      for (const s of openStreams) s.abort()
      // Creates roll back on the abort: wait for them, bounded.
      await Promise.race([Promise.allSettled(jobs.all().map((j) => j.done)), new Promise((r) => setTimeout(r, 60_000).unref())])
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
