/**
 * amazonec2 and swarm mode, against nock (the EC2 Query API as the SDK speaks it): a machine made
 * for a cluster opens 2377/tcp, 7946/tcp+udp and 4789/udp in its security group from the group
 * itself (never from the world); the rm of the last instance in the group revokes them; nodes
 * advertise their private address.
 */
import { storeMarker } from '../../src/driver-kit/store-marker.js'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { MachineError } from '../../src/core/errors.js'
import type { JournalEntry } from '../../src/driver-kit/contract.js'
import { removeMachine } from '../../src/services/remove.js'
import { initSwarm, joinSwarm, leaveMachine } from '../../src/services/swarm.js'
import { cloudSwarm, expectCloudDone, recordingReporter, type CloudSwarm } from '../helpers/cloud-swarm.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { withClusterDefaults } from '../../src/driver-kit/options.js'
import { Ec2Mock, filtersOf, tagSpecOf, type Params } from './fixtures/amazonec2/ec2-mock.js'
import { xml, type FakeGroup } from './fixtures/amazonec2/ec2-xml.js'
import { useEc2Hooks } from './fixtures/amazonec2/hooks.js'
import { arrangeLookups, arrangeMaking, arrangeRemoval, byInstance, CREATE_ACTIONS, createArranged, definition, IDS, instance, makeTestDriver, PRIVATE_IP, PUBLIC_IP, TEST_ENV, type TestCtx } from './fixtures/amazonec2/scenarios.js'
import { expectMockDone } from '../helpers/cloud-mock.js'

let m: Ec2Mock
let t: TestCtx | undefined
useEc2Hooks((mock) => (m = mock), () => t, () => (t = undefined))

const MACHINE_ID = '5b0c6c2e-0000-4000-8000-000000000001'
const DESCRIPTION = 'swarm mode between cluster members (made by machine)'
/** The flags of `create --swarm…` (the driver's cluster defaults applied), or of a lone machine. */
const clusterFlags = (flags: Record<string, unknown> = {}) => withClusterDefaults('amazonec2', definition.options, flags, {})

/** The ingress rules of a request: protocol/port → their sources. */
function rulesOf(p: Params): Record<string, { cidrs: string[]; groups: string[]; descriptions: string[] }> {
  const out: Record<string, { cidrs: string[]; groups: string[]; descriptions: string[] }> = {}
  for (let i = 1; p[`IpPermissions.${i}.IpProtocol`] !== undefined; i++) {
    const pick = (what: string) => Object.keys(p).filter((k) => new RegExp(`^IpPermissions\\.${i}\\.${what}$`).test(k)).map((k) => p[k]!)
    expect(p[`IpPermissions.${i}.FromPort`]).toBe(p[`IpPermissions.${i}.ToPort`])
    out[`${p[`IpPermissions.${i}.FromPort`]}/${p[`IpPermissions.${i}.IpProtocol`]}`] = {
      cidrs: pick('IpRanges\\.\\d+\\.CidrIp'),
      groups: pick('Groups\\.\\d+\\.GroupId'),
      descriptions: pick('Groups\\.\\d+\\.Description'),
    }
  }
  return out
}

const fromGroupOnly = (descriptions: string[]) => ({ cidrs: [], groups: [IDS.sg], descriptions })
const SWARM_FROM_GROUP = {
  '2377/tcp': fromGroupOnly([DESCRIPTION]),
  '7946/tcp': fromGroupOnly([DESCRIPTION]),
  '7946/udp': fromGroupOnly([DESCRIPTION]),
  '4789/udp': fromGroupOnly([DESCRIPTION]),
}
const isSwarmRequest = (p: Params) => p.GroupId === IDS.sg && p['IpPermissions.1.Groups.1.GroupId'] === IDS.sg

describe('amazonec2 swarm ports at create', () => {
  /** create into an existing security group, `group` as EC2 describes it; the journal it leaves. */
  async function createInGroup(group: FakeGroup): Promise<MemoryJournal> {
    arrangeLookups(m)
    m.on('DescribeSecurityGroups', xml.describeSecurityGroups([group]))
      .on('ImportKeyPair', (p) => xml.importKeyPair(p.KeyName ?? ''))
      .on('RunInstances', (p) => xml.runInstances(instance({ state: 'pending', publicIp: undefined, clientToken: p.ClientToken })))
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'running' })]), byInstance(IDS.instance))
    const journal = new MemoryJournal()
    await t!.driver.preCreateCheck()
    await t!.driver.create(journal)
    return journal
  }

  it('a machine made for a cluster opens exactly the swarm ports, from its own security group only, and journals them', async () => {
    t = await makeTestDriver(clusterFlags())
    arrangeLookups(m)
    arrangeMaking(m).on('AuthorizeSecurityGroupIngress', xml.authorizeSecurityGroupIngress(IDS.sg, 4), isSwarmRequest)
    const journal = new MemoryJournal()
    await t.driver.preCreateCheck()
    await t.driver.create(journal)

    const actions = [...CREATE_ACTIONS]
    actions.splice(actions.indexOf('AuthorizeSecurityGroupIngress') + 1, 0, 'AuthorizeSecurityGroupIngress')
    expect(m.actions()).toEqual(actions)
    // SSH and the engine to the world as before; the swarm ports only from the group itself.
    expect(rulesOf(m.params('AuthorizeSecurityGroupIngress', 0))).toEqual({
      '22/tcp': { cidrs: ['0.0.0.0/0'], groups: [], descriptions: [] },
      '2376/tcp': { cidrs: ['0.0.0.0/0'], groups: [], descriptions: [] },
    })
    expect(m.params('AuthorizeSecurityGroupIngress', 1).GroupId).toBe(IDS.sg)
    expect(rulesOf(m.params('AuthorizeSecurityGroupIngress', 1))).toEqual(SWARM_FROM_GROUP)
    expect(t.ctx.config.SwarmPorts).toBe(true)
    // The instance names the group whose swarm rules it needs; its volume and NIC do not.
    expect(tagSpecOf(m.params('RunInstances'), 1)).toEqual({ type: 'instance', tags: { Name: 'web1', 'machine-id': t.ctx.config.MachineId, 'machine-store': storeMarker(t.ctx.storePath), 'machine-swarm': IDS.sg } })
    expect(tagSpecOf(m.params('RunInstances'), 2).tags).not.toHaveProperty('machine-swarm')
    expect(journal.entries().map((e) => [e.kind, e.id])).toContainEqual(['swarm-rules', IDS.sg])
    expect(journal.entries().find((e) => e.kind === 'swarm-rules')?.data?.rules).toEqual(['2377/tcp', '7946/tcp', '7946/udp', '4789/udp'])
    expectMockDone(m)
  })

  it('a lone machine (no --swarm*) opens no swarm port', async () => {
    t = await makeTestDriver()
    const journal = await createArranged(m, t.driver)
    expect(m.actions()).toEqual([...CREATE_ACTIONS])
    expect(Object.keys(rulesOf(m.params('AuthorizeSecurityGroupIngress')))).toEqual(['22/tcp', '2376/tcp'])
    expect(tagSpecOf(m.params('RunInstances'), 1).tags).not.toHaveProperty('machine-swarm')
    expect(journal.entries().map((e) => e.kind)).not.toContain('swarm-rules')
    expectMockDone(m)
  })

  it('AWS_SWARM_PORTS=false turns them off for a cluster machine', async () => {
    const env = { ...TEST_ENV, AWS_SWARM_PORTS: 'false' }
    t = await makeTestDriver(withClusterDefaults('amazonec2', definition.options, {}, env), env)
    await createArranged(m, t.driver)
    expect(m.actions()).toEqual([...CREATE_ACTIONS])
    expectMockDone(m)
  })

  it('in a group where an earlier machine opened them: nothing added, but journaled so the last rm closes them', async () => {
    t = await makeTestDriver(clusterFlags())
    const src = { groupId: IDS.sg, description: DESCRIPTION }
    const journal = await createInGroup({
      id: IDS.sg,
      name: 'docker-machine',
      rules: [['tcp', 22, 22], ['tcp', 2376, 2376], ['tcp', 2377, 2377, src], ['tcp', 7946, 7946, src], ['udp', 7946, 7946, src], ['udp', 4789, 4789, src]],
    })
    expect(m.actions()).not.toContain('AuthorizeSecurityGroupIngress')
    expect(journal.entries().find((e) => e.kind === 'swarm-rules')).toMatchObject({ id: IDS.sg, data: { rules: ['2377/tcp', '7946/tcp', '7946/udp', '4789/udp'] } })
    expectMockDone(m)
  })

  it('a group whose own rules already allow all traffic from itself is left alone (nothing added, nothing to revoke later)', async () => {
    t = await makeTestDriver(clusterFlags({ 'amazonec2-security-group': ['team-sg'] }))
    const journal = await createInGroup({ id: IDS.sg, name: 'team-sg', rules: [['tcp', 22, 22], ['tcp', 2376, 2376], ['-1', 0, 0, { groupId: IDS.sg }]] })
    expect(m.actions()).not.toContain('AuthorizeSecurityGroupIngress')
    expect(journal.entries().map((e) => e.kind)).not.toContain('swarm-rules')
    expectMockDone(m)
  })

  it('a read-only existing group gets no rule: create says which ports to allow by hand', async () => {
    t = await makeTestDriver(clusterFlags({ 'amazonec2-security-group': ['team-sg'], 'amazonec2-security-group-readonly': true }))
    const journal = await createInGroup({ id: IDS.sg, name: 'team-sg', rules: [['tcp', 22, 22]] })
    expect(m.actions()).not.toContain('AuthorizeSecurityGroupIngress')
    expect(journal.entries().map((e) => e.kind)).not.toContain('swarm-rules')
    expect(t.infos).toContain(
      `Security group ${IDS.sg} is read-only (--amazonec2-security-group-readonly): allow 2377/tcp, 7946/tcp, 7946/udp, 4789/udp between its instances yourself`,
    )
    expectMockDone(m)
  })
})

describe('amazonec2 swarm ports at rm', () => {
  async function existingClusterMachine() {
    t = await makeTestDriver(clusterFlags())
    Object.assign(t.ctx.config, { InstanceId: IDS.instance, IPAddress: PUBLIC_IP, PrivateIPAddress: PRIVATE_IP, MachineId: MACHINE_ID })
    const j = new MemoryJournal()
    await j.record({ kind: 'security-group', id: 'docker-machine', data: { vpcId: IDS.vpc, machineId: MACHINE_ID, groupId: IDS.sg } })
    await j.record({ kind: 'swarm-rules', id: IDS.sg, data: { rules: ['2377/tcp', '7946/tcp', '7946/udp', '4789/udp'], machineId: MACHINE_ID } })
    await j.record({ kind: 'key-pair', id: 'web1-5b0c6c2e', data: { machineId: MACHINE_ID } })
    await j.record({ kind: 'instance', id: IDS.instance, data: { machineId: MACHINE_ID } })
    return j
  }
  const usersOfGroup = (p: Params) => filtersOf(p)['instance.group-id']?.[0] === IDS.sg && !filtersOf(p)['tag:machine-swarm']
  // Only instances that need the rules count: those tagged with the group whose rules they use.
  const swarmUsersOfGroup = (p: Params) => filtersOf(p)['instance.group-id']?.[0] === IDS.sg && filtersOf(p)['tag:machine-swarm']?.[0] === IDS.sg

  it('the last instance in the group: its swarm rules are revoked (exactly those, from the group), then the group deleted', async () => {
    const j = await existingClusterMachine()
    arrangeRemoval(m).on('DescribeInstances', xml.describeInstances([]), swarmUsersOfGroup).on('RevokeSecurityGroupIngress', xml.revokeSecurityGroupIngress(), (p) => p.GroupId === IDS.sg)
    await t!.driver.remove(j)
    expect(m.actions()).toEqual(['TerminateInstances', 'DescribeInstances', 'DeleteKeyPair', 'DescribeInstances', 'RevokeSecurityGroupIngress', 'DeleteSecurityGroup'])
    expect(rulesOf(m.params('RevokeSecurityGroupIngress'))).toEqual({
      '2377/tcp': fromGroupOnly([]),
      '7946/tcp': fromGroupOnly([]),
      '7946/udp': fromGroupOnly([]),
      '4789/udp': fromGroupOnly([]),
    })
    expect(j.entries()).toEqual([])
    expect(t!.infos).toContain(`Closed 2377/tcp, 7946/tcp, 7946/udp, 4789/udp in security group ${IDS.sg}`)
    expectMockDone(m)
  })

  it('kept while another instance still uses the group', async () => {
    const j = await existingClusterMachine()
    m.on('TerminateInstances', xml.stateChange('TerminateInstances', IDS.instance, 'terminated', 'terminated'))
      .on('DeleteKeyPair', xml.deleteKeyPair())
      .on('DescribeInstances', xml.describeInstances([instance({ id: 'i-0feedfeedfeedfee1' })]), swarmUsersOfGroup)
      .fail('DeleteSecurityGroup', 400, 'DependencyViolation', `resource ${IDS.sg} has a dependent object`)
      .on('DescribeInstances', xml.describeInstances([instance({ id: 'i-0feedfeedfeedfee1' })]), usersOfGroup)
    await t!.driver.remove(j)
    expect(m.actions()).not.toContain('RevokeSecurityGroupIngress')
    expect(j.entries()).toEqual([])
    expect(t!.infos).toContain(`Swarm ports of security group ${IDS.sg} are still needed by i-0feedfeedfeedfee1; left in place`)
    expectMockDone(m)
  })

  it('revoked when the group is still used only by instances that are in no cluster (the group itself stays)', async () => {
    const j = await existingClusterMachine()
    const lone = instance({ id: 'i-0feedfeedfeedfee1' })
    m.on('TerminateInstances', xml.stateChange('TerminateInstances', IDS.instance, 'terminated', 'terminated'))
      .on('DeleteKeyPair', xml.deleteKeyPair())
      .on('DescribeInstances', xml.describeInstances([]), swarmUsersOfGroup)
      .on('RevokeSecurityGroupIngress', xml.revokeSecurityGroupIngress(), (p) => p.GroupId === IDS.sg)
      .fail('DeleteSecurityGroup', 400, 'DependencyViolation', `resource ${IDS.sg} has a dependent object`)
      .on('DescribeInstances', xml.describeInstances([lone]), usersOfGroup)
    await t!.driver.remove(j)
    expect(m.actions()).toEqual(['TerminateInstances', 'DeleteKeyPair', 'DescribeInstances', 'RevokeSecurityGroupIngress', 'DeleteSecurityGroup', 'DescribeInstances'])
    expect(t!.infos).toContain(`Security group docker-machine (${IDS.sg}) is still used by i-0feedfeedfeedfee1; left in place`)
    expect(j.entries()).toEqual([])
    expectMockDone(m)
  })

  it('rules already gone are fine', async () => {
    const j = await existingClusterMachine()
    arrangeRemoval(m)
      .on('DescribeInstances', xml.describeInstances([]), swarmUsersOfGroup)
      .fail('RevokeSecurityGroupIngress', 400, 'InvalidPermission.NotFound', 'The specified rule does not exist in this security group.')
    await t!.driver.remove(j)
    expect(j.entries()).toEqual([])
    expectMockDone(m)
  })
})

describe('amazonec2 clusterAddress', () => {
  it('is the instance private address, saved at create', async () => {
    t = await makeTestDriver(clusterFlags())
    Object.assign(t.ctx.config, { InstanceId: IDS.instance, IPAddress: PUBLIC_IP, PrivateIPAddress: PRIVATE_IP })
    expect(await t.driver.clusterAddress!()).toBe(PRIVATE_IP)
    expect(m.calls).toEqual([])
  })

  it('is looked up when the config does not have it yet', async () => {
    t = await makeTestDriver()
    Object.assign(t.ctx.config, { InstanceId: IDS.instance, IPAddress: PUBLIC_IP })
    m.on('DescribeInstances', xml.describeInstances([instance()]), byInstance(IDS.instance))
    expect(await t.driver.clusterAddress!()).toBe(PRIVATE_IP)
    expect(t.ctx.config.PrivateIPAddress).toBe(PRIVATE_IP)
    expectMockDone(m)
  })
})

describe('swarm join and leave of an existing amazonec2 machine (made without --swarm*)', () => {
  let w: CloudSwarm
  beforeAll(async () => {
    w = await cloudSwarm()
  }, 60_000)
  afterAll(() => w?.stop())

  const env = { ...TEST_ENV, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLETESTONLY1', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYTESTONLYKEY', AWS_EC2_METADATA_DISABLED: 'true' }
  /** As a lone create left it: in the default group (which existed), with its key pair and instance journaled. */
  const addLone = (name: string, config: Record<string, unknown> = {}, journal: JournalEntry[] = []) =>
    w.addMachine(name, 'amazonec2', { Region: 'eu-west-1', InstanceId: IDS.instance, IPAddress: PUBLIC_IP, PrivateIPAddress: PRIVATE_IP, SecurityGroupIds: [IDS.sg], MachineId: MACHINE_ID, ...config }, [
      { kind: 'key-pair', id: `${name}-5b0c6c2e`, data: { machineId: MACHINE_ID } },
      { kind: 'instance', id: IDS.instance, data: { machineId: MACHINE_ID, region: 'eu-west-1' } },
      ...journal,
    ])
  const running = (tags: Record<string, string> = {}) => xml.describeInstances([instance({ state: 'running', tags: { Name: 'a', ...tags } })])
  const lonelyGroup = { id: IDS.sg, name: 'docker-machine', rules: [['tcp', 22, 22], ['tcp', 2376, 2376]] } satisfies FakeGroup
  const join = (name: string) => joinSwarm(w.store, name, { cluster: 's1', manager: false, advertiseAddr: `192.0.2.${name.length + 10}` }, { reporter: recordingReporter(), env })
  const expectEc2Done = () => expectCloudDone(m, 'amazonaws')
  const swarmUsers = (p: Params) => filtersOf(p)['tag:machine-swarm']?.[0] === IDS.sg

  it('join opens the swarm ports from the group itself and tags the instance, before its engine joins; leave closes them as the last user', async () => {
    await addLone('a1')
    m.on('DescribeInstances', running(), byInstance(IDS.instance))
      .on('DescribeSecurityGroups', xml.describeSecurityGroups([lonelyGroup]), (p) => p['GroupId.1'] === IDS.sg)
      .on('AuthorizeSecurityGroupIngress', xml.authorizeSecurityGroupIngress(IDS.sg, 4), isSwarmRequest)
      .on('DescribeInstances', running(), byInstance(IDS.instance))
      .on('CreateTags', xml.createTags(), (p) => p['ResourceId.1'] === IDS.instance)
    const r = await join('a1')
    expect(r).toMatchObject({ name: 'a1', cluster: 's1', manager: false })
    expect(m.actions()).toEqual(['DescribeInstances', 'DescribeSecurityGroups', 'AuthorizeSecurityGroupIngress', 'DescribeInstances', 'CreateTags'])
    expect(rulesOf(m.params('AuthorizeSecurityGroupIngress'))).toEqual(SWARM_FROM_GROUP)
    expect(m.params('CreateTags')).toMatchObject({ 'ResourceId.1': IDS.instance, 'Tag.1.Key': 'machine-swarm', 'Tag.1.Value': IDS.sg })
    expect((await w.journal('a1')).find((e) => e.kind === 'swarm-rules')).toMatchObject({ id: IDS.sg, data: { rules: ['2377/tcp', '7946/tcp', '7946/udp', '4789/udp'] } })
    expect(w.nodes()).toContain('a1 worker active ready')
    expectEc2Done()

    m.dispose()
    m = new Ec2Mock()
    m.on('DeleteTags', xml.deleteTags(), (p) => p['ResourceId.1'] === IDS.instance && p['Tag.1.Key'] === 'machine-swarm')
      .on('DescribeInstances', xml.describeInstances([]), swarmUsers)
      .on('RevokeSecurityGroupIngress', xml.revokeSecurityGroupIngress(), (p) => p.GroupId === IDS.sg)
    await leaveMachine(w.store, 'a1', { force: false, drain: true }, { reporter: recordingReporter(), env })
    expect(m.actions()).toEqual(['DeleteTags', 'DescribeInstances', 'RevokeSecurityGroupIngress'])
    expect(Object.keys(rulesOf(m.params('RevokeSecurityGroupIngress')))).toEqual(['2377/tcp', '7946/tcp', '7946/udp', '4789/udp'])
    expect((await w.journal('a1')).map((e) => e.kind)).toEqual(['key-pair', 'instance'])
    expect(w.nodes()).not.toContain('a1 worker active ready')
    expectEc2Done()
  })

  it('leave keeps the rules another member of the group still uses', async () => {
    await addLone('a22', {}, [{ kind: 'swarm-rules', id: IDS.sg, data: { rules: ['2377/tcp', '7946/tcp', '7946/udp', '4789/udp'], machineId: MACHINE_ID } }])
    // Joined with the group's rules already ours (an earlier machine opened them): nothing opened, only its tag.
    const ours = { groupId: IDS.sg, description: DESCRIPTION }
    const group = { ...lonelyGroup, rules: [...lonelyGroup.rules, ['tcp', 2377, 2377, ours], ['tcp', 7946, 7946, ours], ['udp', 7946, 7946, ours], ['udp', 4789, 4789, ours]] } satisfies FakeGroup
    m.on('DescribeInstances', running(), byInstance(IDS.instance))
      .on('DescribeSecurityGroups', xml.describeSecurityGroups([group]))
      .on('DescribeInstances', running({ 'machine-swarm': IDS.sg }), byInstance(IDS.instance))
    await join('a22')
    // Already tagged, rules already there: nothing changed in EC2.
    expect(m.actions()).toEqual(['DescribeInstances', 'DescribeSecurityGroups', 'DescribeInstances'])
    expect((await w.journal('a22')).filter((e) => e.kind === 'swarm-rules')).toHaveLength(1)
    expectEc2Done()

    m.dispose()
    m = new Ec2Mock()
    const reporter = recordingReporter()
    m.on('DeleteTags', xml.deleteTags()).on('DescribeInstances', xml.describeInstances([instance({ id: 'i-0feedfeedfeedfee1' })]), swarmUsers)
    await leaveMachine(w.store, 'a22', { force: false, drain: true }, { reporter, env })
    expect(m.actions()).toEqual(['DeleteTags', 'DescribeInstances'])
    expect(reporter.infos).toContain(`Swarm ports of security group ${IDS.sg} are still needed by i-0feedfeedfeedfee1; left in place`)
    expectEc2Done()
  })

  it('EC2 refusing the rules: one line, the engine does not join, nothing recorded or tagged', async () => {
    await addLone('a333')
    m.on('DescribeInstances', running(), byInstance(IDS.instance))
      .on('DescribeSecurityGroups', xml.describeSecurityGroups([lonelyGroup]))
      .fail('AuthorizeSecurityGroupIngress', 403, 'UnauthorizedOperation', 'You are not authorized to perform this operation.')
    const e = await join('a333').catch((x: unknown) => x)
    expect(e).toBeInstanceOf(MachineError)
    expect((e as MachineError).message.split('\n')).toHaveLength(1)
    expect((e as MachineError).message).toBe("not allowed to call ec2:AuthorizeSecurityGroupIngress (UnauthorizedOperation): You are not authorized to perform this operation.")
    expect(m.actions()).toEqual(['DescribeInstances', 'DescribeSecurityGroups', 'AuthorizeSecurityGroupIngress'])
    expect(w.nodes().some((n) => n.startsWith('a333 '))).toBe(false)
    expect((await w.saved('a333')).HostOptions.SwarmOptions).toMatchObject({ IsSwarm: false, Discovery: '' })
    expect((await w.journal('a333')).map((x) => x.kind)).toEqual(['key-pair', 'instance'])
    expectEc2Done()
  })

  it('an engine join that fails after the ports were opened: they are closed again, and the machine is as it was', async () => {
    await addLone('a55555')
    // The manager stops answering on the swarm port just as the instance is tagged: the join that follows fails.
    const s1 = [...w.world.engines.entries()].find(([, e]) => e.hostname === 's1')![0]
    m.on('DescribeInstances', running(), byInstance(IDS.instance))
      .on('DescribeSecurityGroups', xml.describeSecurityGroups([lonelyGroup]))
      .on('AuthorizeSecurityGroupIngress', xml.authorizeSecurityGroupIngress(IDS.sg, 4), isSwarmRequest)
      .on('DescribeInstances', running(), byInstance(IDS.instance))
      .on('CreateTags', () => {
        w.world.setUp(s1, false)
        return xml.createTags()
      })
      .on('DeleteTags', xml.deleteTags(), (p) => p['ResourceId.1'] === IDS.instance && p['Tag.1.Key'] === 'machine-swarm')
      .on('DescribeInstances', xml.describeInstances([]), swarmUsers)
      .on('RevokeSecurityGroupIngress', xml.revokeSecurityGroupIngress(), (p) => p.GroupId === IDS.sg)
    const e = await join('a55555')
      .catch((x: unknown) => x)
      .finally(() => w.world.setUp(s1, true))
    expect((e as Error).message).toMatch(/^The engine of "a55555" refused .*connection refused/)
    expect((e as Error).message.split('\n')).toHaveLength(1)
    expect(m.actions()).toEqual([
      'DescribeInstances',
      'DescribeSecurityGroups',
      'AuthorizeSecurityGroupIngress',
      'DescribeInstances',
      'CreateTags',
      'DeleteTags',
      'DescribeInstances',
      'RevokeSecurityGroupIngress',
    ])
    expect(Object.keys(rulesOf(m.params('RevokeSecurityGroupIngress')))).toEqual(['2377/tcp', '7946/tcp', '7946/udp', '4789/udp'])
    expect((await w.journal('a55555')).map((x) => x.kind)).toEqual(['key-pair', 'instance'])
    expect((await w.saved('a55555')).HostOptions.SwarmOptions).toMatchObject({ IsSwarm: false, Discovery: '' })
    expect(w.nodes().some((n) => n.startsWith('a55555 '))).toBe(false)
    expectEc2Done()
  })

  it('rm of a member that joined later: the same close as leave (under the swarm lock), then the teardown, which has no rules left to revoke', async () => {
    await addLone('a666666')
    m.on('DescribeInstances', running(), byInstance(IDS.instance))
      .on('DescribeSecurityGroups', xml.describeSecurityGroups([lonelyGroup]))
      .on('AuthorizeSecurityGroupIngress', xml.authorizeSecurityGroupIngress(IDS.sg, 4), isSwarmRequest)
      .on('DescribeInstances', running(), byInstance(IDS.instance))
      .on('CreateTags', xml.createTags())
    await join('a666666')
    m.dispose()
    m = new Ec2Mock()
    m.on('DeleteTags', xml.deleteTags(), (p) => p['ResourceId.1'] === IDS.instance)
      .on('DescribeInstances', xml.describeInstances([]), swarmUsers)
      .on('RevokeSecurityGroupIngress', xml.revokeSecurityGroupIngress(), (p) => p.GroupId === IDS.sg)
      .on('TerminateInstances', xml.stateChange('TerminateInstances', IDS.instance, 'terminated', 'running'), byInstance(IDS.instance))
      .on('DeleteKeyPair', xml.deleteKeyPair())
    // rm reads credentials from the process environment, as the CLI does.
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v!)
    try {
      await removeMachine(w.store, 'a666666', { reporter: recordingReporter() })
    } finally {
      vi.unstubAllEnvs()
    }
    expect(m.actions()).toEqual(['DeleteTags', 'DescribeInstances', 'RevokeSecurityGroupIngress', 'TerminateInstances', 'DeleteKeyPair'])
    expect(await w.store.exists('a666666')).toBe(false)
    expect(w.nodes().some((n) => n.startsWith('a666666 '))).toBe(false)
    expectEc2Done()
  })

  it('swarm init of an existing machine opens them too, before its engine starts the swarm', async () => {
    await addLone('a7777777')
    m.on('DescribeInstances', running(), byInstance(IDS.instance))
      .on('DescribeSecurityGroups', xml.describeSecurityGroups([lonelyGroup]))
      .on('AuthorizeSecurityGroupIngress', xml.authorizeSecurityGroupIngress(IDS.sg, 4), isSwarmRequest)
      .on('DescribeInstances', running(), byInstance(IDS.instance))
      .on('CreateTags', xml.createTags())
    const reporter = recordingReporter()
    const r = await initSwarm(w.store, 'a7777777', { advertiseAddr: '192.0.2.77' }, { reporter, env })
    expect(r).toEqual({ name: 'a7777777', cluster: 'a7777777', advertiseAddr: '192.0.2.77' })
    expect(m.actions()).toEqual(['DescribeInstances', 'DescribeSecurityGroups', 'AuthorizeSecurityGroupIngress', 'DescribeInstances', 'CreateTags'])
    // The ports were open before the swarm started.
    const opening = reporter.infos.findIndex((l) => l.startsWith('Opening 2377/tcp, 7946/tcp, 7946/udp, 4789/udp between the instances of security group'))
    expect(opening).toBeGreaterThanOrEqual(0)
    expect(opening).toBeLessThan(reporter.infos.indexOf('Starting a swarm on "a7777777" (advertising 192.0.2.77)'))
    expect(Object.values(w.world.dump())).toContainEqual(['a7777777 manager active ready'])
    expectEc2Done()
  })

  it('the opt-out saved at create (AWS_SWARM_PORTS=false then) is kept: nothing opened, and said so', async () => {
    await addLone('a4444', { SwarmPorts: false })
    m.on('DescribeInstances', running(), byInstance(IDS.instance))
    const reporter = recordingReporter()
    await joinSwarm(w.store, 'a4444', { cluster: 's1', manager: false, advertiseAddr: '192.0.2.44' }, { reporter, env })
    expect(m.actions()).toEqual(['DescribeInstances'])
    expect(reporter.infos).toContain("Swarm ports not opened: --amazonec2-swarm-ports is off for this machine; allow 2377/tcp, 7946/tcp, 7946/udp, 4789/udp between the swarm's instances yourself")
    expect(w.nodes()).toContain('a4444 worker active ready')
    expectEc2Done()
  })
})
