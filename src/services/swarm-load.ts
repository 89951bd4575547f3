import { MachineError, messageOf } from '../core/errors.js'
import type { HostConfig } from '../core/host-config.js'
import { programName } from '../core/program-name.js'
import { inSwarm, membersOf, swarmColumn } from '../core/swarm-cluster.js'
import { envMs } from '../driver-kit/wait.js'
import type { Store } from '../store/store.js'
import { engineRequest, engineStream, engineTimeoutMs } from './engine.js'
import { clusterNameOf, engineTargetOf, type SwarmContext } from './swarm.js'
import { engineMessage, type EngineTarget } from './swarm-api.js'

// `machine swarm load IMAGE…`: a local image onto every node of a swarm, with no registry —
// `docker save` (GET /images/get) of one engine piped into `docker load` (POST /images/load) of
// each other node, over each machine's TLS connection, never held in memory. A node that has
// the same image ID already is skipped; a node that fails is named and the others go on.

const prog = (): string => programName()

export interface LoadNodeResult {
  machine: string
  /** 'loaded' | 'present' (same image ID there) | 'failed' */
  result: 'loaded' | 'present' | 'failed'
  bytes?: number
  error?: string
}

export interface LoadResult {
  cluster: string
  source: string
  images: string[]
  nodes: LoadNodeResult[]
}

/** The image's ID on an engine (GET /images/{name}/json), or undefined when it has none of that name. */
async function imageId(t: EngineTarget, image: string, c: SwarmContext): Promise<string | undefined> {
  const res = await engineRequest(t.url, 'GET', `/images/${encodeURIComponent(image)}/json`, undefined, t.tls, engineTimeoutMs(c.env), { machine: t.machine, signal: c.signal })
  if (res.status === 404) return undefined
  if (res.status !== 200) throw new MachineError('engine-error', `The engine of "${t.machine}" answered HTTP ${res.status} when asked for image ${image}`)
  const id = (JSON.parse(res.body) as { Id?: unknown }).Id
  return typeof id === 'string' ? id : undefined
}

/** The IDs of `images` on an engine, or which of them it lacks. */
async function imagesOn(t: EngineTarget, images: string[], c: SwarmContext): Promise<{ ids: string[] } | { missing: string[] }> {
  const found = await Promise.all(images.map((i) => imageId(t, i, c)))
  const missing = images.filter((_, j) => !found[j])
  return missing.length ? { missing } : { ids: found as string[] }
}

async function clusterOf(store: Store, hosts: HostConfig[], name: string | undefined): Promise<string> {
  const col = swarmColumn(hosts)
  if (name) {
    const h = hosts.find((x) => x.Name === name)
    if (!h) throw new MachineError('no-such-cluster', `There is no machine "${name}", so no swarm of that name`, { hint: `name a swarm from "${prog()} ls" (SWARM column)` })
    if (!inSwarm(h.HostOptions.SwarmOptions)) throw new MachineError('not-in-swarm', `Machine "${name}" is not in a swarm`, { hint: `start one with "${prog()} swarm init ${name}"` })
    return clusterNameOf(store, h)
  }
  const clusters = [...new Set([...col.values()].map((v) => v.replace(/ \(master\)$/, '')))].sort()
  if (clusters.length === 1) return clusters[0]!
  if (clusters.length === 0) throw new MachineError('no-such-cluster', 'No machine in this store is in a swarm', { hint: `start one with "${prog()} swarm init NAME"` })
  throw new MachineError('usage', `This store has several swarms (${clusters.join(', ')})`, { hint: 'name the one to load into with --cluster NAME' })
}

/**
 * `swarm load IMAGE… [--cluster NAME] [--from MACHINE]`. The source is --from, else the first
 * manager of the swarm (its master first) that has every image; each other member of the swarm
 * in this store gets one `docker save` stream of the images it lacks, one node after another
 * (two TCG guests or two uplinks would only share the bandwidth).
 */
export async function loadImages(store: Store, images: string[], o: { cluster?: string; from?: string }, c: SwarmContext): Promise<LoadResult> {
  if (images.length === 0) throw new MachineError('usage', 'Name at least one image to load', { hint: `e.g. "${prog()} swarm load myapp:1.0"` })
  const hosts = (await store.loadAll()).flatMap((e) => (e.host ? [e.host] : []))
  const cluster = await clusterOf(store, hosts, o.cluster)
  const discovery = hosts.find((h) => h.Name === cluster)!.HostOptions.SwarmOptions.Discovery
  const members = membersOf(hosts, discovery)
  const hostOf = (n: string): HostConfig => hosts.find((h) => h.Name === n)!

  // The source and the IDs of the images on it.
  let source: HostConfig
  let ids: string[]
  if (o.from) {
    const h = hosts.find((x) => x.Name === o.from)
    if (!h) throw new MachineError('machine-not-found', `There is no machine "${o.from}" to load the images from`, { hint: `see "${prog()} ls"` })
    const on = await imagesOn(engineTargetOf(store, h), images, c)
    if ('missing' in on) {
      throw new MachineError('no-such-image', `Image ${on.missing.join(', ')} is not on "${h.Name}"`, { hint: `load or pull it there first (eval "$(${prog()} env ${h.Name})"; docker load / docker pull)` })
    }
    source = h
    ids = on.ids
  } else {
    const managers = members.filter((m) => m.manager).sort((a, b) => Number(b.name === cluster) - Number(a.name === cluster))
    const why: string[] = []
    let pick: { host: HostConfig; ids: string[] } | undefined
    for (const m of managers) {
      const h = hostOf(m.name)
      try {
        const on = await imagesOn(engineTargetOf(store, h), images, c)
        if (!('missing' in on)) {
          pick = { host: h, ids: on.ids }
          break
        }
        why.push(`"${m.name}" has no ${on.missing.join(', ')}`)
      } catch (e) {
        why.push(messageOf(e))
      }
    }
    if (!pick) {
      throw new MachineError('no-such-image', `No manager of the swarm of "${cluster}" has ${images.join(', ')} (${why.join('; ')})`, {
        hint: `load or pull it on "${cluster}" first (eval "$(${prog()} env ${cluster})"; docker load / docker pull), or name the machine that has it with --from`,
      })
    }
    source = pick.host
    ids = pick.ids
  }
  c.reporter.info(`Loading ${images.join(', ')} from "${source.Name}" onto the swarm of "${cluster}"`)

  const idleMs = envMs(c.env ?? process.env, 'MACHINE_IMAGE_IDLE_MS', 120_000, { min: 1, max: 3_600_000 })
  const from = engineTargetOf(store, source)
  const nodes: LoadNodeResult[] = []
  for (const m of members.filter((x) => x.name !== source.Name)) {
    const to = engineTargetOf(store, hostOf(m.name))
    try {
      const have = await Promise.all(images.map((i) => imageId(to, i, c)))
      const lacking = images.filter((_, j) => have[j] !== ids[j])
      if (lacking.length === 0) {
        c.reporter.info(`"${m.name}" has ${images.join(', ')} already (same image ID)`)
        nodes.push({ machine: m.name, result: 'present' })
        continue
      }
      const bytes = await c.reporter.step(`Loading ${lacking.join(', ')} onto "${m.name}"`, { timeoutMs: 24 * 3_600_000, signal: c.signal }, (signal, report) =>
        stream(from, to, lacking, idleMs, signal, report),
      )
      nodes.push({ machine: m.name, result: 'loaded', bytes })
    } catch (e) {
      const error = messageOf(e)
      c.reporter.note(`"${m.name}": ${error}`)
      nodes.push({ machine: m.name, result: 'failed', error })
    }
  }
  const failed = nodes.filter((n) => n.result === 'failed')
  if (failed.length) {
    const rest = failed.length < nodes.length ? ` (the other nodes have ${images.length > 1 ? 'them' : 'it'})` : ''
    throw new MachineError('load-failed', `${images.join(', ')} could not be loaded onto ${failed.map((n) => `"${n.machine}"`).join(', ')}${rest}`, {
      hint: `fix what each line above says ("${prog()} start ${failed[0]!.machine}" if it is stopped) and run this again: the nodes that have it are skipped`,
    })
  }
  return { cluster, source: source.Name, images, nodes }
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`

/** One `docker save` of `images` from `from`, piped into `docker load` of `to`; the bytes carried. */
async function stream(from: EngineTarget, to: EngineTarget, images: string[], idleMs: number, signal: AbortSignal, report: (d: string) => void): Promise<number> {
  const q = images.map((i) => `names=${encodeURIComponent(i)}`).join('&')
  const save = await engineStream(from.url, 'GET', `/images/get?${q}`, from.tls, idleMs, { machine: from.machine, signal })
  let load: Awaited<ReturnType<typeof engineStream>> | undefined
  try {
    if (save.status !== 200) throw new MachineError('engine-error', `The engine of "${from.machine}" refused to save ${images.join(', ')} (HTTP ${save.status}): ${engineMessage(await text(save.res))}`)
    let bytes = 0
    let shown = Date.now()
    // At most one report every 2 s: without a terminal each one is a line of the log.
    save.res.on('data', (b: Buffer) => {
      bytes += b.length
      if (Date.now() - shown >= 2000) {
        shown = Date.now()
        report(`${mb(bytes)} sent`)
      }
    })
    // A 'data' listener starts the flow: held until the load's request takes it (pipe resumes).
    save.res.pause()
    // The source failing mid-image ends the load at once (else it would wait for its idle bound).
    save.res.once('error', () => load?.close())
    save.res.once('aborted', () => load?.close())
    load = await engineStream(to.url, 'POST', '/images/load?quiet=1', to.tls, idleMs, { machine: to.machine, signal, body: save.res })
    const answer = await text(load.res)
    if (load.status !== 200) throw new MachineError('engine-error', `The engine of "${to.machine}" refused the images (HTTP ${load.status}): ${engineMessage(answer)}`)
    // dockerd answers 200 and then says in its JSON stream when the tar was bad.
    const error = answer
      .split('\n')
      .map((l) => {
        try {
          return (JSON.parse(l) as { error?: string }).error
        } catch {
          return undefined
        }
      })
      .find((e) => e)
    if (error) throw new MachineError('engine-error', `The engine of "${to.machine}" could not load the images: ${error}`)
    report(`${mb(bytes)} loaded`)
    return bytes
  } finally {
    load?.close()
    save.close()
  }
}

/** A (short) answer read to its end; one cut off (an idle bound, an engine gone) is an error, not a hang. */
const text = (r: NodeJS.ReadableStream): Promise<string> =>
  new Promise((resolve, reject) => {
    let s = ''
    let ended = false
    r.setEncoding('utf8')
    r.on('data', (c: string) => (s += c))
    r.on('end', () => ((ended = true), resolve(s)))
    r.on('error', reject)
    r.on('close', () => ended || reject(new Error('the engine closed the connection before its answer ended')))
  })
