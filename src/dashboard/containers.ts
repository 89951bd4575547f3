import { MachineError } from '../core/errors.js'
import type { HostConfig } from '../core/host-config.js'
import { engineRequest, engineStream, engineTimeoutMs, readTls, type EngineAnswer } from '../services/engine.js'
import { clientTlsFiles, engineUrlOf } from '../services/machine.js'
import { EngineApiError, engineMessage } from '../services/swarm-api.js'
import type { Store } from '../store/store.js'

// A machine's containers, asked of its engine over the machine's mutual-TLS connection with the
// client certificate of the store (services/engine.ts, the calls `ls`, doctor and swarm make):
// the key stays in this process, the page only sees the answers.

export interface ContainerRow {
  id: string
  name: string
  image: string
  state: string
  status: string
  ports: string
}

/** A container id or name as the Engine API takes it in a path: nothing that could leave the path segment. */
const CONTAINER_REF = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

export function checkContainerRef(ref: string): string {
  if (!CONTAINER_REF.test(ref)) throw new MachineError('invalid-container', `"${ref.slice(0, 80)}" is not a container id or name`)
  return ref
}

interface Target {
  url: string
  tls: () => ReturnType<typeof readTls>
  machine: string
  timeoutMs: number
}

function targetOf(store: Store, host: HostConfig, env: NodeJS.ProcessEnv): Target {
  const url = engineUrlOf(host)
  if (!url.startsWith('tcp://')) throw new MachineError('no-engine-url', `Machine "${host.Name}" has no TCP engine URL`)
  return { url, tls: () => readTls(clientTlsFiles(store, host)), machine: host.Name, timeoutMs: engineTimeoutMs(env) }
}

/** An answer the engine refused, in its own words (as swarm's calls report theirs). */
const refused = (t: Target, what: string, a: EngineAnswer): MachineError => new EngineApiError(a.status, engineMessage(a.body), what, t.machine)

/** `docker ps -a`'s port column: "0.0.0.0:8080->80/tcp, 443/tcp". */
function portsText(ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>): string {
  const seen = new Set<string>()
  for (const p of ports) seen.add(p.PublicPort ? `${p.IP ?? '0.0.0.0'}:${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`)
  return [...seen].join(', ')
}

export async function listContainers(store: Store, host: HostConfig, env: NodeJS.ProcessEnv): Promise<ContainerRow[]> {
  const t = targetOf(store, host, env)
  const a = await engineRequest(t.url, 'GET', '/containers/json?all=1', undefined, t.tls, t.timeoutMs, { machine: t.machine })
  if (a.status !== 200) throw refused(t, 'the container list', a)
  const list = JSON.parse(a.body) as Array<{ Id: string; Names?: string[]; Image: string; State: string; Status: string; Ports?: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> }>
  return list.map((c) => ({
    id: c.Id,
    name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''),
    image: c.Image,
    state: c.State,
    status: c.Status,
    ports: portsText(c.Ports ?? []),
  }))
}

export type ContainerAction = 'start' | 'stop' | 'remove'

/** docker start / stop / rm -f: an engine's 304 (already so) counts as done. */
export async function containerAction(store: Store, host: HostConfig, ref: string, action: ContainerAction, env: NodeJS.ProcessEnv): Promise<void> {
  const t = targetOf(store, host, env)
  const id = encodeURIComponent(checkContainerRef(ref))
  const a =
    action === 'remove'
      ? await engineRequest(t.url, 'DELETE', `/containers/${id}?force=1`, undefined, t.tls, t.timeoutMs, { machine: t.machine })
      : await engineRequest(t.url, 'POST', `/containers/${id}/${action}`, undefined, t.tls, t.timeoutMs, { machine: t.machine })
  if (a.status !== 204 && a.status !== 304) throw refused(t, `to ${action} container ${ref}`, a)
}

/**
 * A container's logs, the last `tail` lines then each new one as it is written, told line by
 * line to `onLine` until `signal` aborts (the page closed its stream). A container without a TTY
 * sends dockerd's multiplexed frames (8-byte header: stream, 3 zero bytes, length); with a TTY,
 * raw bytes.
 */
export async function followLogs(store: Store, host: HostConfig, ref: string, o: { tail: number; env: NodeJS.ProcessEnv; signal: AbortSignal; onLine: (line: string, stream: 'stdout' | 'stderr') => void }): Promise<void> {
  const t = targetOf(store, host, o.env)
  const id = encodeURIComponent(checkContainerRef(ref))
  const inspect = await engineRequest(t.url, 'GET', `/containers/${id}/json`, undefined, t.tls, t.timeoutMs, { machine: t.machine, signal: o.signal })
  if (inspect.status !== 200) throw refused(t, `to show container ${ref}`, inspect)
  const tty = (JSON.parse(inspect.body) as { Config?: { Tty?: boolean } }).Config?.Tty === true
  // Idle for hours is normal for a quiet container: the page's closing ends the stream.
  const s = await engineStream(t.url, 'GET', `/containers/${id}/logs?follow=1&stdout=1&stderr=1&tail=${o.tail}`, t.tls, 24 * 3_600_000, { machine: t.machine, signal: o.signal })
  if (s.status !== 200) {
    s.close()
    throw new MachineError('engine-error', `The engine of "${t.machine}" refused to show the logs of ${ref} (HTTP ${s.status})`)
  }
  const partial = { stdout: '', stderr: '' }
  const text = (chunk: string, stream: 'stdout' | 'stderr') => {
    const lines = (partial[stream] + chunk).split('\n')
    partial[stream] = lines.pop() ?? ''
    for (const l of lines) o.onLine(l.replace(/\r$/, ''), stream)
  }
  let pending = Buffer.alloc(0)
  await new Promise<void>((resolve) => {
    s.res.on('data', (chunk: Buffer) => {
      if (tty) return text(chunk.toString('utf8'), 'stdout')
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 8) {
        const size = pending.readUInt32BE(4)
        if (pending.length < 8 + size) break
        text(pending.subarray(8, 8 + size).toString('utf8'), pending[0] === 2 ? 'stderr' : 'stdout')
        pending = pending.subarray(8 + size)
      }
    })
    s.res.on('end', resolve)
    s.res.on('close', resolve)
    s.res.on('error', resolve)
    o.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  s.close()
}
