/**
 * A store with a swarm (manager "s1", a `none` machine recording a fake TLS engine on 127.0.0.1),
 * beside which a test puts a cloud machine as its create would have left it: a config.json of
 * that driver whose engine is another fake engine of the same swarm world, and its journal. The
 * swarm service then runs in the test's process, so the test's nock answers the cloud's API
 * while the engines answer over real TLS on loopback.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { createServerCert } from '../../src/certs/certs.js'
import type { HostConfig } from '../../src/core/host-config.js'
import type { JournalEntry } from '../../src/driver-kit/contract.js'
import type { Reporter } from '../../src/services/reporter.js'
import { Store } from '../../src/store/store.js'
import { runCli, tempStore } from './cli.js'
import { expectMockDone } from './cloud-mock.js'
import { startFakeEngine, type FakeEngine } from './fake-engine.js'
import { fakeSwarmWorld, type FakeSwarmWorld } from './fake-swarm.js'

export interface CloudSwarm {
  store: Store
  world: FakeSwarmWorld
  /** Every node of the swarm of s1: "hostname role availability state". */
  nodes(): string[]
  /** Save `name` as a `driver` machine whose engine is a fresh fake engine; `journal` as its create left it. */
  addMachine(name: string, driver: string, config: Record<string, unknown>, journal?: JournalEntry[]): Promise<void>
  /** The config.json of `name` as saved. */
  saved(name: string): Promise<HostConfig>
  /** The journal of `name` as saved (none: []). */
  journal(name: string): Promise<JournalEntry[]>
  stop(): Promise<void>
}

export async function cloudSwarm(): Promise<CloudSwarm> {
  const path = await tempStore()
  const seed = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', 'seed'], { store: path })
  expect(seed.code, seed.stderr).toBe(0)
  const ca = { cert: await readFile(join(path, 'certs', 'ca.pem'), 'utf8'), key: await readFile(join(path, 'certs', 'ca-key.pem'), 'utf8') }
  const server = await createServerCert(ca, 'engines', ['127.0.0.1'])
  const world = fakeSwarmWorld()
  const engines: FakeEngine[] = []
  const engine = async (hostname: string) => {
    const e = await startFakeEngine({ caCert: ca.cert, serverCert: server.cert, serverKey: server.key, swarm: world, hostname })
    engines.push(e)
    return e
  }
  const s1 = await engine('s1')
  const made = await runCli(['create', '-d', 'none', '--url', s1.url, '--swarm-master', '--swarm-addr', '192.0.2.1', 's1'], { store: path })
  expect(made.code, made.stderr).toBe(0)
  const store = new Store(path)
  return {
    store,
    world,
    nodes: () => Object.values(world.dump()).find((n) => n.some((x) => x.startsWith('s1 '))) ?? [],
    async addMachine(name, driver, config, journal = []) {
      const e = await engine(name)
      const base = await store.load('seed')
      const dir = await store.reserve(name)
      const host: HostConfig = {
        ...base,
        Name: name,
        DriverName: driver,
        Driver: { MachineName: name, StorePath: path, SSHUser: 'docker-user', SSHPort: 22, SSHKeyPath: join(dir, 'id_rsa'), ...config, EngineURL: e.url },
      }
      await store.save(host)
      if (journal.length) await writeFile(join(dir, 'journal.json'), `${JSON.stringify({ resources: journal }, null, 2)}\n`, { mode: 0o600 })
    },
    saved: (name) => store.load(name),
    journal: async (name) => {
      const text = await readFile(join(store.dir(name), 'journal.json'), 'utf8').catch(() => '{"resources":[]}')
      return (JSON.parse(text) as { resources: JournalEntry[] }).resources
    },
    stop: async () => {
      await Promise.all(engines.map((e) => e.stop()))
    },
  }
}

/** A reporter that keeps what the user would read: progress lines and notes, each in order. */
export function recordingReporter(): Reporter & { infos: string[]; notes: string[] } {
  const infos: string[] = []
  const notes: string[] = []
  const r: Reporter & { infos: string[]; notes: string[] } = {
    infos,
    notes,
    info: (l) => infos.push(l),
    note: (l) => notes.push(l),
    warn: (l) => notes.push(l),
    debug: () => {},
    step: async (title, _o, fn) => {
      infos.push(title)
      return fn(new AbortController().signal, () => {})
    },
    record: () => ({ lines: [], stop: () => {} }),
    // One machine of several: its lines in the same lists, named as the terminal names them.
    scoped: (name) => ({ ...r, info: (l) => infos.push(`${name}: ${l}`), note: (l) => notes.push(`${name}: ${l}`), warn: (l) => notes.push(`${name}: ${l}`) }),
  }
  return r
}

/**
 * expectMockDone for a cloud's API alone: the engines' requests (TLS to 127.0.0.1, let through by
 * onlyLoopback) are no interceptor's, so nock reports them unmatched; only those to `host` count.
 */
export function expectCloudDone(m: { readonly unmatched: string[]; pending(): string[] }, host: string): void {
  expectMockDone({ unmatched: m.unmatched.filter((u) => u.includes(host)), pending: () => m.pending() })
}
