import { describe, expect, it } from 'vitest'
import { defaultSwarmOptions, type HostConfig, type SwarmOptions } from '../../src/core/host-config.js'
import { membersOf, swarmColumn } from '../../src/core/swarm-cluster.js'
import { checkSwarmFlags } from '../../src/core/swarm-flags.js'

const host = (Name: string, s: Partial<SwarmOptions> = {}) => ({ Name, HostOptions: { SwarmOptions: { ...defaultSwarmOptions(), ...s } } }) as unknown as HostConfig
const A = 'swarm://aaaaaaaaaaaaaaaaaaaaaaaaa'
const B = 'swarm://bbbbbbbbbbbbbbbbbbbbbbbbb'

describe('which saved machines form a swarm', () => {
  const hosts = [
    host('w10', { IsSwarm: true, Agent: true, Discovery: A }),
    host('m2', { IsSwarm: true, Master: true, Discovery: A }),
    host('m10', { IsSwarm: true, Master: true, Discovery: A }),
    host('w2', { IsSwarm: true, Agent: true, Discovery: A }),
    host('orphan', { IsSwarm: true, Agent: true, Discovery: B }),
    // docker-machine's classic Swarm: not a swarm-mode cluster of ours.
    host('classic', { IsSwarm: true, Master: true, Discovery: 'token://0123' }),
    host('plain'),
  ]

  it('names a cluster by its first manager (natural order), " (master)" on managers', () => {
    expect(Object.fromEntries(swarmColumn(hosts))).toEqual({ w10: 'm2', m2: 'm2 (master)', m10: 'm2 (master)', w2: 'm2', orphan: 'bbbbbbbbbbbb' })
  })

  it('lists members managers first, each group in natural order', () => {
    expect(membersOf(hosts, A)).toEqual([
      { name: 'm2', manager: true },
      { name: 'm10', manager: true },
      { name: 'w2', manager: false },
      { name: 'w10', manager: false },
    ])
  })
})

describe('create’s swarm flags', () => {
  it('plans a new swarm, a join as worker or manager, or nothing', () => {
    expect(checkSwarmFlags({})).toEqual({ plan: { kind: 'none' }, ignored: [] })
    expect(checkSwarmFlags({ 'swarm-master': true, swarm: true }).plan).toEqual({ kind: 'init' })
    expect(checkSwarmFlags({ swarm: true, 'swarm-addr': '192.0.2.7' }).plan).toEqual({ kind: 'join', manager: false, address: '192.0.2.7' })
    expect(checkSwarmFlags({ 'swarm-cluster': 's1', 'swarm-master': true }).plan).toEqual({ kind: 'join', manager: true, cluster: 's1' })
  })

  it('says which classic Swarm flags are moot, and refuses those that would mislead', () => {
    expect(checkSwarmFlags({ 'swarm-master': true, 'swarm-strategy': 'binpack', 'swarm-host': 'tcp://0.0.0.0:3376' }).ignored).toEqual([
      '--swarm-strategy binpack is ignored: swarm mode spreads tasks itself; place them with deploy.placement in the Compose file',
      expect.stringMatching(/^--swarm-host tcp:\/\/0\.0\.0\.0:3376 is ignored: a swarm is reached through a manager's own engine/),
    ])
    expect(() => checkSwarmFlags({ swarm: true, 'swarm-discovery': 'token://abc' })).toThrow('token:// discovery (Docker Hub’s hosted service for classic Swarm) no longer exists')
    expect(() => checkSwarmFlags({ 'swarm-master': true, 'swarm-opt': ['strategy=spread'] })).toThrow(/classic Swarm’s manage container/)
    expect(() => checkSwarmFlags({ 'swarm-addr': '192.0.2.7' })).toThrow(/this machine joins no swarm/)
    expect(() => checkSwarmFlags({ swarm: true, 'swarm-addr': 'a b' })).toThrow(/is not an address/)
  })
})
