import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCA, createClientCert, createServerCert } from '../../src/certs/certs.js'
import { EngineApiError, swarmApi, type SwarmApi } from '../../src/services/swarm-api.js'
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engine.js'
import { fakeSwarmWorld } from '../helpers/fake-swarm.js'

// The swarm-mode Engine API calls, over mutual TLS, against fake engines that share one swarm
// world: init on one, join from the others with the manager's address and the right token.
describe('swarm API client', () => {
  const world = fakeSwarmWorld()
  const engines: FakeEngine[] = []
  const api: SwarmApi[] = []
  beforeAll(async () => {
    const ca = await createCA()
    const client = await createClientCert(ca)
    const server = await createServerCert(ca, 'e', ['127.0.0.1'])
    for (const h of ['m1', 'w1', 'w2']) {
      const e = await startFakeEngine({ caCert: ca.cert, serverCert: server.cert, serverKey: server.key, swarm: world, hostname: h })
      engines.push(e)
      api.push(swarmApi({ url: e.url, tls: { ca: ca.cert, cert: client.cert, key: client.key }, machine: h }, 5000))
    }
  })
  afterAll(() => Promise.all(engines.map((e) => e.stop())))
  const m1 = () => api[0]!
  const w1 = () => api[1]!
  const w2 = () => api[2]!

  it('reads an inactive node from GET /info', async () => {
    expect(await m1().info()).toMatchObject({ LocalNodeState: 'inactive', NodeID: '', ControlAvailable: false })
  })

  it('inits a swarm with the advertise address, and joins workers with the worker token', async () => {
    const id = await m1().init({ advertiseAddr: '192.0.2.10' })
    expect(id).toMatch(/^[0-9a-f]{25}$/)
    expect(await m1().info()).toMatchObject({ LocalNodeState: 'active', NodeID: id, NodeAddr: '192.0.2.10', ControlAvailable: true })
    const { JoinTokens } = await m1().inspect()
    expect(JoinTokens.Worker).toMatch(/^SWMTKN-1-/)
    await w1().join({ remoteAddrs: ['192.0.2.10:2377'], token: JoinTokens.Worker, advertiseAddr: '192.0.2.11' })
    expect(await w1().info()).toMatchObject({ LocalNodeState: 'active', ControlAvailable: false, RemoteManagers: [{ NodeID: id, Addr: '192.0.2.10:2377' }] })
    const nodes = await m1().nodes()
    expect(nodes.map((n) => [n.Description?.Hostname, n.Spec.Role, n.Status.State, n.Description?.Engine?.EngineVersion])).toEqual([
      ['m1', 'manager', 'ready', '28.2.2'],
      ['w1', 'worker', 'ready', '28.2.2'],
    ])
  })

  it('says what the engine refused, in its words: a bad token, an unknown manager, a second init', async () => {
    const bad = await w2().join({ remoteAddrs: ['192.0.2.10:2377'], token: 'SWMTKN-1-nope', advertiseAddr: '192.0.2.12' }).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(EngineApiError)
    expect((bad as EngineApiError).message).toBe('The engine of "w2" refused to join the swarm (HTTP 400): rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster')
    const nowhere = await w2().join({ remoteAddrs: ['192.0.2.99:2377'], token: 'x', advertiseAddr: '192.0.2.12' }).catch((e: unknown) => e)
    expect((nowhere as EngineApiError).engineMessage).toMatch(/dial tcp 192\.0\.2\.99:2377: connect: connection refused/)
    const again = await m1().init({ advertiseAddr: '192.0.2.10' }).catch((e: unknown) => e)
    expect((again as EngineApiError).status).toBe(503)
    expect((again as EngineApiError).engineMessage).toMatch(/already part of a swarm/)
    // A worker cannot read the tokens nor list nodes.
    expect(((await w1().inspect().catch((e: unknown) => e)) as EngineApiError).engineMessage).toMatch(/Worker nodes can't be used/)
  })

  it('drains a node (update with its version), it leaves, and a manager removes it', async () => {
    const node = (await m1().nodes()).find((n) => n.Description?.Hostname === 'w1')!
    await m1().updateNode(node, { ...node.Spec, Availability: 'drain' })
    const stale = await m1().updateNode(node, { ...node.Spec, Availability: 'active' }).catch((e: unknown) => e)
    expect((stale as EngineApiError).engineMessage).toMatch(/update out of sequence/)
    const refused = await m1().removeNode(node.ID, { force: false }).catch((e: unknown) => e)
    expect((refused as EngineApiError).engineMessage).toMatch(/is not down and can't be removed/)
    await w1().leave({ force: false })
    expect(world.dump()[Object.keys(world.dump())[0]!]).toEqual(['m1 manager active ready', 'w1 worker drain down'])
    await m1().removeNode(node.ID, { force: false })
    expect((await m1().nodes()).map((n) => n.Description?.Hostname)).toEqual(['m1'])
    expect(await w1().info()).toMatchObject({ LocalNodeState: 'inactive' })
  })

  it('a manager leaves only with force', async () => {
    expect(((await m1().leave({ force: false }).catch((e: unknown) => e)) as EngineApiError).engineMessage).toMatch(/Use `--force`/)
    await m1().leave({ force: true })
    expect(await m1().info()).toMatchObject({ LocalNodeState: 'inactive' })
  })

  it('waits longer for a leave than for other calls: dockerd answers it once the node’s swarm networks are torn down', async () => {
    const ca = await createCA()
    const client = await createClientCert(ca)
    const server = await createServerCert(ca, 'e', ['127.0.0.1'])
    const slowWorld = fakeSwarmWorld()
    const slow = await startFakeEngine({ caCert: ca.cert, serverCert: server.cert, serverKey: server.key, swarm: slowWorld, hostname: 's', swarmDelayMs: () => 600 })
    try {
      const s = swarmApi({ url: slow.url, tls: { ca: ca.cert, cert: client.cert, key: client.key }, machine: 's' }, 300)
      const info = await s.info().catch((e: unknown) => e)
      expect((info as Error).message).toBe(`Docker engine of machine "s" at 127.0.0.1:${slow.port} completed the TLS handshake but sent no HTTP response within 300 ms`)
      await s.init({ advertiseAddr: '192.0.2.20' })
      await s.leave({ force: true })
      expect(slow.requests().map((r) => r.split(' ').slice(0, 2).join(' '))).toEqual(['GET /info', 'POST /swarm/init', 'POST /swarm/leave?force=true'])
    } finally {
      await slow.stop()
    }
  })
})
