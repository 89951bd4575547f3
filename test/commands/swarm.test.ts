import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServerCert } from '../../src/certs/certs.js'
import { readTls } from '../../src/services/engine.js'
import { swarmApi } from '../../src/services/swarm-api.js'
import { expectCleanFailure, runCli, snapshot, tempStore } from '../helpers/cli.js'
import { startFakeEngine, type FakeEngine, type FakeEngineOptions } from '../helpers/fake-engine.js'
import { fakeSwarmWorld, type FakeSwarmWorld } from '../helpers/fake-swarm.js'

// Swarm mode through the BUILT binary: `none` machines recording fake TLS engines on 127.0.0.1
// that share one swarm world (test/helpers/fake-swarm.ts). Each node advertises a documentation
// address (192.0.2.x, --swarm-addr): the fakes never dial it, it only names the node to its swarm.

const col = (out: string, name: string): string | undefined =>
  out
    .split('\n')
    .find((l) => l.startsWith(`${name} `))
    ?.split(/\s{3,}/)[5]

/**
 * A store whose first create made its CA, that CA, and a server certificate from it for the
 * fake engines on 127.0.0.1.
 */
async function storeWithEngineCert() {
  const store = await tempStore()
  expect((await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', 'seed'], { store })).code).toBe(0)
  const ca = { cert: await readFile(join(store, 'certs', 'ca.pem'), 'utf8'), key: await readFile(join(store, 'certs', 'ca-key.pem'), 'utf8') }
  return { store, ca, server: await createServerCert(ca, 'engines', ['127.0.0.1']) }
}

/**
 * A store of `none` machines on fake engines of one fake swarm, created in order with their
 * swarm flags (the first starts the swarm), advertising 192.0.2.<addrBase + i>; the engines go
 * into `engines`.
 */
async function noneSwarm(engines: Map<string, FakeEngine>, flagsOf: Record<string, string[]>, addrBase: number, extra: Partial<FakeEngineOptions> = {}): Promise<{ store: string; world: FakeSwarmWorld }> {
  const { store, ca, server } = await storeWithEngineCert()
  const world = fakeSwarmWorld()
  for (const [i, [n, flags]] of Object.entries(flagsOf).entries()) {
    engines.set(n, await startFakeEngine({ caCert: ca.cert, serverCert: server.cert, serverKey: server.key, swarm: world, hostname: n, ...extra }))
    const r = await runCli(['create', '-d', 'none', '--url', engines.get(n)!.url, ...flags, '--swarm-addr', `192.0.2.${addrBase + i}`, n], { store })
    expect(r.code, r.stderr).toBe(0)
  }
  return { store, world }
}

describe('swarm mode on machines, through the engine API', () => {
  let store: string
  let world: FakeSwarmWorld
  const engines = new Map<string, FakeEngine>()
  const url = (n: string) => engines.get(n)!.url
  const cluster = () => Object.values(world.dump()).find((nodes) => nodes.some((n) => n.startsWith('s1 ')))!

  beforeAll(async () => {
    const seeded = await storeWithEngineCert()
    store = seeded.store
    const { ca, server } = seeded
    world = fakeSwarmWorld()
    for (const n of ['s1', 's2', 's3', 's4', 'x1', 'rogue']) {
      engines.set(n, await startFakeEngine({ caCert: ca.cert, serverCert: server.cert, serverKey: server.key, swarm: world, hostname: n }))
    }
  })
  afterAll(() => Promise.all([...engines.values()].map((e) => e.stop())))

  it('create --swarm-master starts a swarm; --swarm and --swarm-cluster join it after the machine is made', async () => {
    const m = await runCli(['create', '-d', 'none', '--url', url('s1'), '--swarm-master', '--swarm-addr', '192.0.2.1', 's1'], { store })
    expect(m.stderr).toBe('')
    expect(m.code).toBe(0)
    expect(m.stdout).toContain('Starting a swarm on "s1" (advertising 192.0.2.1)')
    // --swarm alone: the only swarm of the store. docker-machine's --swarm-image is accepted, said to be moot.
    const w = await runCli(['create', '-d', 'none', '--url', url('s2'), '--swarm', '--swarm-addr', '192.0.2.2', '--swarm-image', 'swarm:1.2.9', 's2'], { store })
    expect(w.code).toBe(0)
    expect(w.stderr).toBe('--swarm-image swarm:1.2.9 is ignored: swarm mode is built into the engine, no swarm image runs\n')
    expect(w.stdout).toContain('Joining "s2" to the swarm of "s1" as a worker (advertising 192.0.2.2)')
    expect((await runCli(['create', '-d', 'none', '--url', url('s3'), '--swarm-cluster', 's1', '--swarm-addr', '192.0.2.3', 's3'], { store })).code).toBe(0)
    expect(cluster()).toEqual(['s1 manager active ready', 's2 worker active ready', 's3 worker active ready'])
  })

  it('a join that fails after the machine is made rolls the create back', async () => {
    // An engine already in a swarm machine knows nothing of (made here straight through the API).
    const files = { ca: join(store, 'certs', 'ca.pem'), cert: join(store, 'certs', 'cert.pem'), key: join(store, 'certs', 'key.pem') }
    await swarmApi({ url: url('rogue'), tls: await readTls(files), machine: 'rogue' }, 5000).init({ advertiseAddr: '192.0.2.66' })
    const r = await runCli(['create', '-d', 'none', '--url', url('rogue'), '--swarm-cluster', 's1', '--swarm-addr', '192.0.2.5', 'r1'], { store })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/^Error: The engine of "r1" is already in a swarm that machine did not record \(node [0-9a-f]+, active\): leave it first/)
    expect(existsSync(join(store, 'machines', 'r1'))).toBe(false)
    expect(cluster()).toEqual(['s1 manager active ready', 's2 worker active ready', 's3 worker active ready'])
  })

  it('stores docker-machine’s SwarmOptions shape, and no join token anywhere', async () => {
    const cfg = JSON.parse(await readFile(join(store, 'machines', 's2', 'config.json'), 'utf8'))
    expect(cfg.HostOptions.SwarmOptions).toMatchObject({ IsSwarm: true, Master: false, Agent: true, Address: '192.0.2.2', Host: 'tcp://0.0.0.0:3376', Image: 'swarm:latest' })
    expect(cfg.HostOptions.SwarmOptions.Discovery).toMatch(/^swarm:\/\/[0-9a-f]{25}$/)
    const master = JSON.parse(await readFile(join(store, 'machines', 's1', 'config.json'), 'utf8')).HostOptions.SwarmOptions
    expect(master).toMatchObject({ IsSwarm: true, Master: true, Agent: false, Discovery: cfg.HostOptions.SwarmOptions.Discovery })
    for (const [path, text] of Object.entries(await snapshot(store))) expect(text, path).not.toContain('SWMTKN')
  })

  it('ls shows the SWARM column as docker-machine did, and --filter swarm= selects a cluster (both paths)', async () => {
    for (const env of [{}, { MACHINE_NO_FAST_PATH: '1' }]) {
      const r = await runCli(['ls'], { store, env })
      expect(r.code).toBe(0)
      expect([col(r.stdout, 's1'), col(r.stdout, 's2'), col(r.stdout, 's3')]).toEqual(['s1 (master)', 's1', 's1'])
      const f = await runCli(['ls', '--filter', 'swarm=s1', '--format', '{{.Name}}:{{.Swarm}}'], { store, env })
      expect(f.stdout).toBe('s1:s1 (master)\ns2:s1\ns3:s1\n')
    }
  })

  it('env --swarm points at a manager of the machine’s swarm, in docker-machine’s format', async () => {
    for (const env of [{ SHELL: '/bin/bash' }, { SHELL: '/bin/bash', MACHINE_NO_FAST_PATH: '1' }]) {
      const r = await runCli(['env', '--swarm', 's2'], { store, env })
      expect(r.stderr).toBe('')
      expect(r.stdout.split('\n').slice(0, 4)).toEqual([
        'export DOCKER_TLS_VERIFY="1"',
        `export DOCKER_HOST="${url('s1')}"`,
        `export DOCKER_CERT_PATH="${join(store, 'machines', 's1')}"`,
        'export DOCKER_MACHINE_NAME="s1"',
      ])
      expect(r.stdout).toMatch(/# eval "\$\(.* env --swarm s2\)"\n$/)
    }
    const c = await runCli(['config', '--swarm', 's2'], { store })
    expect(c.stdout.trimEnd().split('\n').pop()).toBe(`-H=${url('s1')}`)
  })

  it('swarm join adds an existing machine as a manager; swarm ls lists the nodes', async () => {
    expect((await runCli(['create', '-d', 'none', '--url', url('s4'), 's4'], { store })).code).toBe(0)
    const j = await runCli(['swarm', 'join', 's4', '--cluster', 's1', '--manager', '--advertise-addr', '192.0.2.4', '--debug'], { store })
    // The manager token went from one engine to the other, and nowhere else.
    expect(`${j.stdout}${j.stderr}`).not.toContain('SWMTKN')
    expect(j.stdout).toContain('"s4" joined the swarm of "s1" as a manager')
    const ls = await runCli(['swarm', 'ls'], { store })
    expect(ls.code).toBe(0)
    const lines = ls.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^CLUSTER\s+MACHINE\s+ROLE\s+AVAILABILITY\s+STATUS\s+ENGINE\s+ADDRESS$/)
    expect(lines.slice(1).map((l) => l.split(/\s{3,}/))).toEqual([
      ['s1', 's1', 'manager (leader)', 'active', 'ready', '28.2.2', '192.0.2.1'],
      ['s1', 's2', 'worker', 'active', 'ready', '28.2.2', '192.0.2.2'],
      ['s1', 's3', 'worker', 'active', 'ready', '28.2.2', '192.0.2.3'],
      ['s1', 's4', 'manager', 'active', 'ready', '28.2.2', '192.0.2.4'],
    ])
    const json = JSON.parse((await runCli(['swarm', 'ls', '--cluster', 's2', '--json'], { store })).stdout)
    expect(json.data).toHaveLength(4)
    expect(col((await runCli(['ls'], { store })).stdout, 's4')).toBe('s1 (master)')
  })

  it('rm of a worker drains it, it leaves, and its node is removed before the entry goes', async () => {
    const r = await runCli(['rm', '-y', 's3'], { store })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Successfully removed s3')
    expect(cluster()).toEqual(['s1 manager active ready', 's2 worker active ready', 's4 manager active ready'])
    // The drain went through a manager, before the leave.
    const m = engines.get('s1')!.requests().concat(engines.get('s4')!.requests())
    expect(m.some((l) => /^POST \/nodes\/[0-9a-f]+\/update\?version=\d+ /.test(l))).toBe(true)
    expect(m.some((l) => /^DELETE \/nodes\/[0-9a-f]+\?force=true /.test(l))).toBe(true)
  })

  it('a manager leaves (demoted first, as another manager stays); the last one needs -f and says why', async () => {
    const l = await runCli(['swarm', 'leave', 's4'], { store })
    expect(l.stderr).toBe('')
    expect(l.code).toBe(0)
    expect(cluster()).toEqual(['s1 manager active ready', 's2 worker active ready'])
    const f = await expectCleanFailure(['rm', '-y', 's1'], store)
    expect(f.code).toBe('last-manager')
    expect(f.line).toMatch(
      /^Error: "s1" is the last manager of its swarm, which still has 1 other node \(s2\): without it they have no cluster: remove or make another one a manager first \(".*(machine|run\.js) swarm join NAME --cluster s1 --manager" for a new one\), or pass -f$/,
    )
    expect(cluster()).toEqual(['s1 manager active ready', 's2 worker active ready'])
  })

  it('refuses, in one line and changing nothing: a swarm that does not exist, a machine in another swarm, a stopped manager', async () => {
    expect((await expectCleanFailure(['swarm', 'join', 'seed', '--cluster', 'nosuch'], store)).line).toMatch(/^Error: There is no machine "nosuch", so no swarm of that name to join: /)
    // Through a worker's name, the swarm is found; the joining engine itself does not answer.
    expect((await expectCleanFailure(['swarm', 'join', 'seed', '--cluster', 's2'], store)).line).toMatch(/^Error: The machine "seed" does not answer: .*ECONNREFUSED/)
    const member = await expectCleanFailure(['swarm', 'join', 's2', '--cluster', 's1'], store)
    expect(member.line).toMatch(/^Error: Machine "s2" is already in the swarm of "s1": leave it first with ".*(machine|run\.js) swarm leave s2"$/)
    expect((await expectCleanFailure(['swarm', 'join', 'seed', '--cluster', 'seed'], store)).code).toBe('usage')
    expect((await expectCleanFailure(['swarm', 'leave', 'seed'], store)).code).toBe('not-in-swarm')
    // Every manager stopped (s4 is one, or was).
    await engines.get('s1')!.stop()
    await engines.get('s4')!.stop()
    const stopped = await expectCleanFailure(['create', '-d', 'none', '--url', url('x1'), '--swarm-cluster', 's1', 'x1'], store)
    expect(stopped.code).toBe('no-reachable-manager')
    expect(stopped.line).toMatch(/^Error: No manager of the swarm of "s1" answers: The manager "s1" does not answer: .*ECONNREFUSED.*: start one with ".*(machine|run\.js) start s1" and try again$/)
    expect((await expectCleanFailure(['env', '--swarm', 's2'], store)).code).toBe('no-reachable-manager')
    // A stopped last manager: the store says who else is in its swarm.
    const last = await expectCleanFailure(['rm', '-y', 's1'], store)
    expect(last.line).toMatch(/^Error: "s1" is the last manager of its swarm, which still has 1 other node \(s2\)/)
  })
})

describe('removing swarm nodes whose engines are down, and the last manager', () => {
  let store: string
  let world: FakeSwarmWorld
  const engines = new Map<string, FakeEngine>()
  const nodes = () => Object.values(world.dump())[0]

  beforeAll(async () => {
    ;({ store, world } = await noneSwarm(engines, { m1: ['--swarm-master'], w1: ['--swarm'], w2: ['--swarm'] }, 20))
  })
  afterAll(() => Promise.all([...engines.values()].map((e) => e.stop())))

  it('rm of a node whose engine does not answer: a manager removes it from the list', async () => {
    await engines.get('w1')!.stop()
    expect(nodes()).toEqual(['m1 manager active ready', 'w1 worker active down', 'w2 worker active ready'])
    const r = await runCli(['rm', '-y', 'w1'], { store })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('The engine of "w1" does not answer; its node is removed from the swarm\'s list instead')
    expect(nodes()).toEqual(['m1 manager active ready', 'w2 worker active ready'])
  })

  it('rm -f of the last manager: it leaves, the others keep their record, named by the cluster ID', async () => {
    expect((await runCli(['rm', '-y', 'm1'], { store })).code).not.toBe(0)
    const r = await runCli(['rm', '-y', '-f', 'm1'], { store })
    expect(r.code, r.stderr).toBe(0)
    expect(nodes()).toEqual(['m1 manager active down', 'w2 worker active ready'])
    const ls = await runCli(['ls', '--format', '{{.Name}}:{{.Swarm}}'], { store })
    expect(ls.stdout).toMatch(/^seed:\nw2:[0-9a-f]{12}\n$/)
    // Nothing left to lead it: w2 leaves on its own (a worker needs no manager to leave).
    const l = await runCli(['swarm', 'leave', 'w2'], { store })
    expect(l.code, l.stderr).toBe(0)
    expect((await runCli(['ls', '--format', '{{.Name}}:{{.Swarm}}'], { store })).stdout).toBe('seed:\nw2:\n')
  })
})

describe('two managers removed at the same moment', () => {
  let store: string
  let world: FakeSwarmWorld
  const engines = new Map<string, FakeEngine>()
  // Slow engines during the removals: both commands are then reading the swarm at once.
  let readDelayMs = 0
  const nodes = () => Object.values(world.dump())[0]

  beforeAll(async () => {
    const slow = { swarmDelayMs: (method: string) => (method === 'GET' ? readDelayMs : 0) }
    ;({ store, world } = await noneSwarm(engines, { m1: ['--swarm-master'], m2: ['--swarm-master', '--swarm-cluster', 'm1'], w1: ['--swarm'] }, 30, slow))
  })
  afterAll(() => Promise.all([...engines.values()].map((e) => e.stop())))

  it('exactly one goes; the other is refused as the last manager, in one line, and the cluster keeps a manager', async () => {
    expect(nodes()).toEqual(['m1 manager active ready', 'm2 manager active ready', 'w1 worker active ready'])
    // Each alone would pass the check (the other manager stays); together, the swarm's lock
    // makes the second decide on what the first left (without it, both leave: measured).
    readDelayMs = 300
    const [a, b] = await Promise.all([runCli(['rm', '-y', 'm1'], { store }), runCli(['rm', '-y', 'm2'], { store })])
    readDelayMs = 0
    const results = { m1: a, m2: b }
    const gone = (Object.keys(results) as Array<keyof typeof results>).filter((n) => results[n].code === 0)
    expect(gone, `${a.stderr}${b.stderr}`).toHaveLength(1)
    const kept = gone[0] === 'm1' ? 'm2' : 'm1'
    const refused = results[kept]
    expect(refused.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(
      new RegExp(`^Error: "${kept}" is the last manager of its swarm, which still has 1 other node \\(w1\\): without it they have no cluster: .*, or pass -f\\n$`),
    )
    // Nothing lost: the refused manager still leads w1, and is still recorded as its master.
    expect(nodes()).toEqual([`${kept} manager active ready`, 'w1 worker active ready'])
    expect(existsSync(join(store, 'machines', gone[0]!))).toBe(false)
    const ls = await runCli(['ls', '--format', '{{.Name}}:{{.Swarm}}'], { store })
    expect(ls.stdout).toBe(`${kept}:${kept} (master)\nseed:\nw1:${kept}\n`)
    expect((await readdir(join(store, '.locks'))).filter((f) => f.startsWith('_swarm.'))).toEqual([])
  })
})
