/**
 * A stand-in for `dockerd --tlsverify` on 127.0.0.1: HTTPS with the machine's server
 * certificate, and like dockerd it refuses any client without a certificate signed by the
 * machine CA. Answers `GET /_ping` and `GET /version` (also versioned, `/v1.47/version`), and,
 * given a `swarm` world shared by several fake engines, swarm mode (`GET /info`, `/swarm/*`,
 * `/nodes`), and given containers, the container calls (list, inspect, logs, start, stop,
 * remove), in the Docker Engine API's shapes and with dockerd's refusals.
 */
import { createServer } from 'node:https'
import { handleSwarm, type FakeSwarmWorld } from './fake-swarm.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'

export interface FakeEngineOptions {
  caCert: string | Buffer
  serverCert: string | Buffer
  serverKey: string | Buffer
  /** Engine version reported (default 28.2.2); a function is asked on every request (an engine that gets upgraded). */
  version?: string | (() => string)
  /** API version reported (default 1.50, the one Docker 28.2 speaks). */
  apiVersion?: string
  /** Listen on this port (default: a free one). */
  port?: number
  /** Swarm mode: the world (clusters, nodes) this engine shares with other fake engines. */
  swarm?: FakeSwarmWorld
  /** The host name the engine reports (GET /info Name, a node's Description.Hostname). */
  hostname?: string
  /** Images: GET /images/{name}/json, GET /images/get (docker save), POST /images/load (docker load). */
  images?: FakeImages
  /**
   * Milliseconds the swarm answer to "METHOD /path" waits, asked per request: an engine slow to
   * set up or tear down its swarm networks, or slow reads, so commands run at once are all
   * between their reads and their changes together.
   */
  swarmDelayMs?: (method: string, path: string) => number
  /** An engine in trouble (machine doctor's tests): every request answered with this HTTP status, or never answered. */
  fault?: { status: number } | 'hang'
  /** Milliseconds the engine's clock is ahead of ours (negative: behind), in its Date header. */
  clockOffsetMs?: number
  /** Containers (`GET /containers/json`, inspect, logs with follow, start/stop/remove): see fakeContainers(). */
  containers?: FakeContainers
}

/** One container of the fake engine, in the fields `docker ps` shows. */
export interface FakeContainer {
  id: string
  name: string
  image: string
  running: boolean
  ports?: Array<{ PrivatePort: number; PublicPort?: number; Type: string; IP?: string }>
  /** Log lines so far (stdout), each without its newline. */
  logs: string[]
}

/** An engine's containers, and a way to add a log line as a running container writes it (followers get it at once). */
export interface FakeContainers {
  byId: Map<string, FakeContainer>
  log(id: string, line: string): void
  /** Followers of a container's logs: each is told every new line. */
  followers: Map<string, Set<(line: string) => void>>
}

export function fakeContainers(list: FakeContainer[]): FakeContainers {
  const followers = new Map<string, Set<(line: string) => void>>()
  return {
    byId: new Map(list.map((c) => [c.id, c])),
    followers,
    log(id, line) {
      this.byId.get(id)?.logs.push(line)
      for (const f of followers.get(id) ?? []) f(line)
    },
  }
}

/** dockerd's multiplexed log frame: stream 1 (stdout), 3 zero bytes, the length, the bytes. */
function frame(line: string): Buffer {
  const body = Buffer.from(`${line}\n`)
  const head = Buffer.alloc(8)
  head[0] = 1
  head.writeUInt32BE(body.length, 4)
  return Buffer.concat([head, body])
}

// The Engine API's container calls the dashboard makes, with dockerd's answers and refusals.
function containers(store: FakeContainers, req: IncomingMessage, res: ServerResponse, path: string, json: (status: number, body: unknown) => void): void {
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '')
  if (path === '/containers/json' && req.method === 'GET') {
    const all = query.get('all') === '1' || query.get('all') === 'true'
    const list = [...store.byId.values()].filter((c) => all || c.running)
    return json(
      200,
      list.map((c) => ({ Id: c.id, Names: [`/${c.name}`], Image: c.image, State: c.running ? 'running' : 'exited', Status: c.running ? 'Up 5 minutes' : 'Exited (0) 1 minute ago', Ports: c.ports ?? [] })),
    )
  }
  const m = /^\/containers\/([^/]+)(?:\/(json|logs|start|stop))?$/.exec(path)
  const c = m ? ([...store.byId.values()].find((x) => x.id === m[1] || x.id.startsWith(m[1]!) || x.name === m[1]) ?? null) : null
  if (!m) return json(404, { message: 'page not found' })
  if (!c) return json(404, { message: `No such container: ${m[1]}` })
  const op = m[2]
  if (op === 'json' && req.method === 'GET') return json(200, { Id: c.id, Name: `/${c.name}`, Config: { Image: c.image, Tty: false }, State: { Running: c.running } })
  if (op === 'start' && req.method === 'POST') {
    if (c.running) return void (res.writeHead(304), res.end())
    c.running = true
    return void (res.writeHead(204), res.end())
  }
  if (op === 'stop' && req.method === 'POST') {
    if (!c.running) return void (res.writeHead(304), res.end())
    c.running = false
    return void (res.writeHead(204), res.end())
  }
  if (op === undefined && req.method === 'DELETE') {
    if (c.running && query.get('force') !== '1' && query.get('force') !== 'true') {
      return json(409, { message: `cannot remove container "/${c.name}": container is running: stop the container before removing or force remove` })
    }
    store.byId.delete(c.id)
    return void (res.writeHead(204), res.end())
  }
  if (op === 'logs' && req.method === 'GET') {
    if (query.get('stdout') !== '1' && query.get('stderr') !== '1') return json(400, { message: 'Bad parameters: you must choose at least one stream' })
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' })
    const tail = query.get('tail')
    const past = tail && tail !== 'all' ? c.logs.slice(-Number(tail)) : c.logs
    for (const l of past) res.write(frame(l))
    if (query.get('follow') !== '1' && query.get('follow') !== 'true') return void res.end()
    const follow = (l: string) => res.write(frame(l))
    const set = store.followers.get(c.id) ?? new Set()
    store.followers.set(c.id, set.add(follow))
    res.on('close', () => set.delete(follow))
    return
  }
  json(404, { message: 'page not found' })
}

/** An engine's images by name: their ID and content (the fake's "tar" carries both). */
export type FakeImages = Map<string, { id: string; content: Buffer; /** save sends half of it, as an engine that died mid-image */ cut?: boolean }>

export interface FakeEngine {
  port: number
  /** tcp://127.0.0.1:<port>, as DOCKER_HOST / the machine's URL. */
  url: string
  /** "METHOD /path CN-or-O-of-client-cert" of every request served, oldest first. */
  requests(): string[]
  stop(): Promise<void>
}

const MIN_API = '1.24'

const apiNumber = (v: string): number => {
  const [maj, min] = v.split('.').map(Number)
  return (maj ?? 0) * 1000 + (min ?? 0)
}

// The fake's save format: per image a line "FAKEIMG <name> <id> <length>\n" and <length> bytes;
// load reads it as it arrives, and refuses anything else as dockerd refuses a bad tar (HTTP 200,
// then an error in its JSON stream).
function images(store: FakeImages, req: IncomingMessage, res: ServerResponse, path: string, json: (status: number, body: unknown) => void): void {
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '')
  const inspect = /^\/images\/(.+)\/json$/.exec(path)
  if (inspect && req.method === 'GET') {
    const i = store.get(decodeURIComponent(inspect[1]!))
    return i ? json(200, { Id: i.id, RepoTags: [decodeURIComponent(inspect[1]!)], Size: i.content.length }) : json(404, { message: `No such image: ${decodeURIComponent(inspect[1]!)}` })
  }
  if (path === '/images/get' && req.method === 'GET') {
    const names = query.getAll('names')
    const missing = names.find((n) => !store.has(n))
    if (missing) return json(404, { message: `reference does not exist` })
    res.writeHead(200, { 'Content-Type': 'application/x-tar' })
    for (const n of names) {
      const i = store.get(n)!
      res.write(`FAKEIMG ${n} ${i.id} ${i.content.length}\n`)
      res.write(i.cut ? i.content.subarray(0, i.content.length >> 1) : i.content)
    }
    return void res.end()
  }
  if (path === '/images/load' && req.method === 'POST') {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let b = Buffer.concat(chunks)
      const loaded: string[] = []
      while (b.length) {
        const nl = b.indexOf(10)
        const m = nl > 0 ? /^FAKEIMG (\S+) (\S+) (\d+)$/.exec(b.subarray(0, nl).toString()) : null
        if (!m || b.length < nl + 1 + Number(m[3])) {
          res.writeHead(200, { 'Content-Type': 'application/json' })
          return void res.end(`${JSON.stringify({ errorDetail: { message: 'unexpected EOF' }, error: 'unexpected EOF' })}\n`)
        }
        store.set(m[1]!, { id: m[2]!, content: Buffer.from(b.subarray(nl + 1, nl + 1 + Number(m[3]))) })
        loaded.push(m[1]!)
        b = b.subarray(nl + 1 + Number(m[3]))
      }
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(loaded.map((n) => `${JSON.stringify({ stream: `Loaded image: ${n}\n` })}\n`).join(''))
    })
    return
  }
  json(404, { message: 'page not found' })
}

export async function startFakeEngine(o: FakeEngineOptions): Promise<FakeEngine> {
  const versionNow = (): string => (typeof o.version === 'function' ? o.version() : (o.version ?? '28.2.2'))
  const api = o.apiVersion ?? '1.50'
  const seen: string[] = []
  // This engine's identity in the swarm world (an object, so the world can key on it).
  const self = {}
  const server = createServer({ ca: o.caCert, cert: o.serverCert, key: o.serverKey, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const version = versionNow()
    const peer = (req.socket as TLSSocket).getPeerCertificate()
    const who = peer?.subject?.CN || peer?.subject?.O || '?'
    seen.push(`${req.method} ${req.url} ${Array.isArray(who) ? who.join(',') : who}`)
    const common = {
      ...(o.clockOffsetMs ? { Date: new Date(Date.now() + o.clockOffsetMs).toUTCString() } : {}),
      'Api-Version': api,
      'Docker-Experimental': 'false',
      Ostype: 'linux',
      Server: `Docker/${version} (linux)`,
      'Cache-Control': 'no-cache, no-store, must-revalidate',
    }
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { ...common, 'Content-Type': 'application/json' })
      res.end(body === undefined ? '' : `${JSON.stringify(body)}\n`)
    }
    if (o.fault === 'hang') return
    if (o.fault) return json(o.fault.status, { message: 'fault injected by the test' })
    const m = /^(?:\/v(\d+\.\d+))?(\/[^?]*)/.exec(req.url ?? '/')
    const asked = m?.[1]
    const path = m?.[2] ?? '/'
    if (asked && apiNumber(asked) > apiNumber(api)) {
      return json(400, { message: `client version ${asked} is too new. Maximum supported API version is ${api}` })
    }
    if (path === '/_ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { ...common, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '2' })
      return res.end(req.method === 'HEAD' ? undefined : 'OK')
    }
    if (o.swarm && /^\/(info|swarm|nodes)(\/|$)/.test(path)) {
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (c: string) => (body += c))
      req.on('end', () => {
        const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '')
        // The world is read when the answer goes, as a slow engine's would be.
        const answer = () => {
          const a = handleSwarm(o.swarm!, self, req.method ?? 'GET', path, query, body)
          if (a) json(a.status, a.body)
          else json(404, { message: 'page not found' })
        }
        const wait = o.swarmDelayMs?.(req.method ?? 'GET', path) ?? 0
        if (wait > 0) setTimeout(answer, wait)
        else answer()
      })
      return
    }
    if (o.images && path.startsWith('/images/')) return images(o.images, req, res, path, json)
    if (o.containers && path.startsWith('/containers/')) return containers(o.containers, req, res, path, json)
    if (path === '/version' && req.method === 'GET') {
      const details = { ApiVersion: api, Arch: 'amd64', BuildTime: '2025-05-30T12:07:26.000000000+00:00', Experimental: 'false', GitCommit: '45873be', GoVersion: 'go1.24.3', KernelVersion: '6.8.0-60-generic', MinAPIVersion: MIN_API, Os: 'linux' }
      return json(200, {
        Platform: { Name: 'Docker Engine - Community' },
        Components: [
          { Name: 'Engine', Version: version, Details: details },
          { Name: 'containerd', Version: '1.7.27', Details: { GitCommit: '05044ec0a9a75232cad458027ca83437aae3f4da' } },
          { Name: 'runc', Version: '1.2.5', Details: { GitCommit: 'v1.2.5-0-g59923ef' } },
          { Name: 'docker-init', Version: '0.19.0', Details: { GitCommit: 'de40ad0' } },
        ],
        Version: version,
        ApiVersion: api,
        MinAPIVersion: MIN_API,
        GitCommit: '45873be',
        GoVersion: 'go1.24.3',
        Os: 'linux',
        Arch: 'amd64',
        KernelVersion: '6.8.0-60-generic',
        BuildTime: '2025-05-30T12:07:26.000000000+00:00',
      })
    }
    json(404, { message: 'page not found' })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  o.swarm?.attach(self, { hostname: o.hostname ?? `fake-${port}`, engineVersion: versionNow })
  return {
    port,
    url: `tcp://127.0.0.1:${port}`,
    requests: () => [...seen],
    stop: () =>
      new Promise<void>((resolve) => {
        // A stopped engine is a node that is down to its swarm (its state stays with it).
        o.swarm?.setUp(self, false)
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
