/**
 * google and swarm mode, against nock (the Compute Engine REST API as @google-cloud/compute
 * calls it): a machine made for a cluster gets a firewall rule allowing 2377/tcp, 7946/tcp+udp
 * and 4789/udp whose sources and targets are one network tag, never the world; the instance
 * carries that tag; rm of the last instance labelled with it deletes the rule; nodes advertise
 * their internal IP.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MachineError } from '../../src/core/errors.js'
import { joinSwarm, leaveMachine } from '../../src/services/swarm.js'
import { cloudSwarm, expectCloudDone, recordingReporter, type CloudSwarm } from '../helpers/cloud-swarm.js'
import { tempDir } from '../helpers/tmp.js'
import type { DriverDefinition, JournalEntry } from '../../src/driver-kit/contract.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { withClusterDefaults } from '../../src/driver-kit/options.js'
import { firewallAllowed, firewallRuleName, swarmRuleName } from '../../drivers/google/config.js'
import google from '../../drivers/google/index.js'
import { apiError, firewall, GceMock, INSTANCE_ID, instance, makeTestDriver, NAT_IP, NETWORK_IP, operation, PROJECT, writeKeyFile, ZONE, type TestCtx, useGceHooks } from './fixtures/google/gce.js'
import { expectMockDone } from '../helpers/cloud-mock.js'

const definition: DriverDefinition = google
const NETWORK = `projects/${PROJECT}/global/networks/default`
const RULE = firewallRuleName(NETWORK, firewallAllowed([]))
const SWARM = swarmRuleName(NETWORK)
const MACHINE_ID = '0d6f5c1e-7a0b-4c2d-9e8f-1a2b3c4d5e6f'
const OURS = { 'machine-name': 'web1', 'machine-id': MACHINE_ID, 'machine-firewall': RULE, 'machine-swarm': SWARM }
const SWARM_ALLOWED = [
  { IPProtocol: 'tcp', ports: ['2377', '7946'] },
  { IPProtocol: 'udp', ports: ['4789', '7946'] },
]

let m: GceMock
let t: TestCtx | undefined
useGceHooks(() => ({ m, t }), () => (t = undefined))

/** The flags of `create --swarm…` (the driver's cluster defaults applied). */
const clusterFlags = (flags: Record<string, unknown> = {}) => withClusterDefaults('google', definition.options, { 'google-project': PROJECT, ...flags }, {})

/** create's calls: image, the usual rule (exists), the swarm rule (made unless it exists), the instance. */
function arrangeCreate(o: { swarm: boolean; swarmExists?: boolean }) {
  const insOp = operation({ type: 'insert', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, targetId: INSTANCE_ID })
  m.imageFamily().getFirewall(RULE, firewall(RULE, [{ IPProtocol: 'tcp', ports: ['22', '2376'] }]))
  if (o.swarm && o.swarmExists) m.getFirewall(SWARM, { ...firewall(SWARM, SWARM_ALLOWED), sourceRanges: undefined, sourceTags: [SWARM] })
  else if (o.swarm) {
    const fwOp = operation({ type: 'insert', target: `projects/${PROJECT}/global/firewalls/${SWARM}` })
    m.getFirewall(SWARM, 404).insertFirewall(200, fwOp).waitGlobalOp({ ...fwOp, status: 'DONE', progress: 100 })
  }
  m.insertInstance(200, insOp)
    .waitZoneOp({ ...insOp, status: 'DONE', progress: 100 })
    .getInstance(instance({ labels: o.swarm ? OURS : { ...OURS, 'machine-swarm': '' }, tags: o.swarm ? [RULE, SWARM] : [RULE] }))
}

type InstanceBody = { labels: Record<string, string>; tags: { items: string[] } }

describe('google swarm firewall at create', () => {
  it('a machine made for a cluster: a rule from and to its own tag with exactly the swarm ports, the instance tagged and labelled, journaled', async () => {
    m = new GceMock()
    t = await makeTestDriver(clusterFlags())
    arrangeCreate({ swarm: true })
    const journal = new MemoryJournal()
    await t.driver.create(journal)
    expect(m.names()).toEqual([
      'GET projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64',
      `GET global/firewalls/${RULE}`,
      `GET global/firewalls/${SWARM}`,
      'POST global/firewalls',
      'wait global insert',
      `POST zones/${ZONE}/instances`,
      'wait insert',
      `GET zones/${ZONE}/instances/web1`,
    ])
    expect(SWARM).toMatch(/^docker-machine-swarm-[0-9a-f]{10}$/)
    const fw = m.find('POST global/firewalls').body as Record<string, unknown>
    expect(fw).toMatchObject({ name: SWARM, network: NETWORK, direction: 'INGRESS', sourceTags: [SWARM], targetTags: [SWARM], allowed: SWARM_ALLOWED })
    // Never from the world.
    expect(fw.sourceRanges ?? []).toEqual([])
    const body = m.find(`POST zones/${ZONE}/instances`).body as InstanceBody
    expect(body.tags.items).toEqual([RULE, SWARM])
    expect(body.labels['machine-swarm']).toBe(SWARM)
    expect(journal.entries().map((e) => `${e.kind} ${e.id}`)).toEqual([`firewall ${RULE}`, `firewall ${SWARM}`, 'disk web1', 'instance web1'])
    expect(journal.entries()[1]!.data).toMatchObject({ project: PROJECT, created: true, label: 'machine-swarm' })
    expect(t.ctx.config).toMatchObject({ SwarmPorts: true, SwarmFirewallRule: SWARM, PrivateIPAddress: NETWORK_IP })
    expectMockDone(m)
  })

  it('a lone machine (no --swarm*) gets no swarm rule, tag or label', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    arrangeCreate({ swarm: false })
    const journal = new MemoryJournal()
    await t.driver.create(journal)
    expect(m.names()).not.toContain('POST global/firewalls')
    expect(m.names()).not.toContain(`GET global/firewalls/${SWARM}`)
    const body = m.find(`POST zones/${ZONE}/instances`).body as InstanceBody
    expect(body.tags.items).toEqual([RULE])
    expect(body.labels).not.toHaveProperty('machine-swarm')
    expect(journal.entries().map((e) => e.id)).not.toContain(SWARM)
    expectMockDone(m)
  })

  it('GOOGLE_SWARM_PORTS=false turns it off for a cluster machine', async () => {
    m = new GceMock()
    const env = { GOOGLE_SWARM_PORTS: 'false' }
    t = await makeTestDriver(withClusterDefaults('google', definition.options, { 'google-project': PROJECT }, env), { env })
    arrangeCreate({ swarm: false })
    await t.driver.create(new MemoryJournal())
    expect(m.names()).not.toContain(`GET global/firewalls/${SWARM}`)
    expect((m.find(`POST zones/${ZONE}/instances`).body as InstanceBody).tags.items).toEqual([RULE])
    expectMockDone(m)
  })

  it('the rule of the network made by an earlier machine is reused (journaled, not made again)', async () => {
    m = new GceMock()
    t = await makeTestDriver(clusterFlags())
    arrangeCreate({ swarm: true, swarmExists: true })
    const journal = new MemoryJournal()
    await t.driver.create(journal)
    expect(m.names()).not.toContain('POST global/firewalls')
    expect(journal.entries()[1]).toMatchObject({ kind: 'firewall', id: SWARM, data: { created: false, label: 'machine-swarm' } })
    expectMockDone(m)
  })
})

describe('google swarm firewall at rm', () => {
  async function existingClusterMachine() {
    t = await makeTestDriver(clusterFlags())
    Object.assign(t.ctx.config, { InstanceId: INSTANCE_ID, IPAddress: NAT_IP, MachineId: MACHINE_ID, FirewallRule: RULE, SwarmFirewallRule: SWARM, SSHKeyPath: join(t.dir, 'id_rsa') })
    const j = new MemoryJournal()
    const where = { project: PROJECT, zone: ZONE, machineId: MACHINE_ID }
    for (const e of [
      { kind: 'firewall', id: RULE, data: { project: PROJECT, created: false } },
      { kind: 'firewall', id: SWARM, data: { project: PROJECT, created: true, label: 'machine-swarm' } },
      { kind: 'disk', id: 'web1', data: where },
      { kind: 'instance', id: 'web1', data: { ...where, id: INSTANCE_ID } },
    ] satisfies JournalEntry[])
      await j.record(e)
    return j
  }

  function arrangeInstanceRemoval() {
    const delOp = operation({ type: 'delete', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
    m.getInstance(instance({ labels: OURS, tags: [RULE, SWARM] })).deleteInstance(200, delOp).waitZoneOp({ ...delOp, status: 'DONE' }).getDisk('web1', 404)
  }

  it('the last instance carrying the swarm tag: the swarm rule is deleted (looked up by its label)', async () => {
    m = new GceMock()
    const j = await existingClusterMachine()
    arrangeInstanceRemoval()
    const fwDel = operation({ type: 'delete', target: `projects/${PROJECT}/global/firewalls/${SWARM}` })
    m.aggregatedInstances([]).deleteFirewall(SWARM, 200, fwDel).waitGlobalOp({ ...fwDel, status: 'DONE' })
    const other = instance({ name: 'web2', id: '8523971503412345679', labels: { 'machine-name': 'web2', 'machine-firewall': RULE }, tags: [RULE] })
    m.aggregatedInstances([other])
    await t!.driver.remove(j)
    expect(m.names()).toEqual([
      `GET zones/${ZONE}/instances/web1`,
      `DELETE zones/${ZONE}/instances/web1`,
      'wait delete',
      `GET zones/${ZONE}/disks/web1`,
      'GET aggregated/instances',
      `DELETE global/firewalls/${SWARM}`,
      'wait global delete',
      'GET aggregated/instances',
    ])
    const lookups = m.calls.filter((c) => c.call === 'GET aggregated/instances').map((c) => c.query.filter)
    expect(lookups).toEqual([`labels.machine-swarm = "${SWARM}"`, `labels.machine-firewall = "${RULE}"`])
    expect(t!.logs).toContain(`Deleting firewall rule ${SWARM}`)
    expect(t!.logs).toContain(`Keeping firewall rule ${RULE}: still used by web2`)
    expect(j.entries()).toEqual([])
    expect(t!.ctx.config.SwarmFirewallRule).toBeUndefined()
    expectMockDone(m)
  })

  it('kept while another instance still carries the swarm label', async () => {
    m = new GceMock()
    const j = await existingClusterMachine()
    arrangeInstanceRemoval()
    const other = instance({ name: 'web2', id: '8523971503412345679', labels: { ...OURS, 'machine-name': 'web2' }, tags: [RULE, SWARM] })
    m.aggregatedInstances([other]).aggregatedInstances([other])
    await t!.driver.remove(j)
    expect(m.names().filter((n) => n.startsWith('DELETE global/firewalls'))).toEqual([])
    expect(t!.logs).toContain(`Keeping firewall rule ${SWARM}: still used by web2`)
    expect(j.entries()).toEqual([])
    expectMockDone(m)
  })
})

describe('google clusterAddress', () => {
  it('is the internal IP saved at create', async () => {
    m = new GceMock()
    t = await makeTestDriver(clusterFlags())
    Object.assign(t.ctx.config, { InstanceId: INSTANCE_ID, IPAddress: NAT_IP, PrivateIPAddress: NETWORK_IP })
    expect(await t.driver.clusterAddress!()).toBe(NETWORK_IP)
    expect(m.calls).toEqual([])
  })

  it('is read from the instance when not saved', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    Object.assign(t.ctx.config, { InstanceId: INSTANCE_ID, IPAddress: NAT_IP })
    m.getInstance(instance())
    expect(await t.driver.clusterAddress!()).toBe(NETWORK_IP)
    expect(t.ctx.config.PrivateIPAddress).toBe(NETWORK_IP)
    expectMockDone(m)
  })
})

describe('swarm join and leave of an existing google machine (made without --swarm*)', () => {
  let w: CloudSwarm
  let env: NodeJS.ProcessEnv
  beforeAll(async () => {
    w = await cloudSwarm()
    const dir = await tempDir('google-swarm-')
    env = { HOME: dir, GOOGLE_APPLICATION_CREDENTIALS: await writeKeyFile(dir), MACHINE_POLL_INTERVAL_MS: '5', METADATA_SERVER_DETECTION: 'none' }
  }, 60_000)
  afterAll(() => w?.stop())

  const expectGceDone = () => expectCloudDone(m, 'googleapis')
  /** Machine (and instance) `entry` as a lone create left it: the usual rule, its tag and labels. */
  const addLone = (entry: string, config: Record<string, unknown> = {}) =>
    w.addMachine(entry, 'google', { Project: PROJECT, Zone: ZONE, InstanceId: INSTANCE_ID, IPAddress: NAT_IP, PrivateIPAddress: NETWORK_IP, MachineId: MACHINE_ID, FirewallRule: RULE, ...config }, [
      { kind: 'firewall', id: RULE, data: { project: PROJECT, created: false } },
      { kind: 'instance', id: entry, data: { project: PROJECT, zone: ZONE, machineId: MACHINE_ID, id: INSTANCE_ID } },
    ])
  const lone = (n: string) => ({ 'machine-name': n, 'machine-id': MACHINE_ID, 'machine-firewall': RULE })
  const ours = (n: string) => ({ ...lone(n), 'machine-swarm': SWARM })
  const zoneOp = (type: string, n: string) => operation({ type, target: `projects/${PROJECT}/zones/${ZONE}/instances/${n}`, zone: ZONE })
  const done = (op: Record<string, unknown>) => ({ ...op, status: 'DONE', progress: 100 })
  const join = (entry: string) => joinSwarm(w.store, entry, { cluster: 's1', manager: false, advertiseAddr: `192.0.2.${entry.length + 20}` }, { reporter: recordingReporter(), env })

  it('join makes the network\'s swarm rule and tags and labels the instance, before its engine joins; leave takes them away with the rule', async () => {
    const n = 'g1'
    await addLone(n)
    m = new GceMock()
    const fwOp = operation({ type: 'insert', target: `projects/${PROJECT}/global/firewalls/${SWARM}` })
    const [tagOp, labelOp] = [zoneOp('setTags', n), zoneOp('setLabels', n)]
    m.getInstance(instance({ name: n, labels: lone(n), tags: [RULE] }), n)
      .getFirewall(SWARM, 404)
      .insertFirewall(200, fwOp)
      .waitGlobalOp(done(fwOp))
      .getInstance(instance({ name: n, labels: lone(n), tags: [RULE] }), n)
      .instanceAction('setTags', tagOp, n)
      .waitZoneOp(done(tagOp))
      .instanceAction('setLabels', labelOp, n)
      .waitZoneOp(done(labelOp))
    await join(n)
    expect(m.names()).toEqual([
      `GET zones/${ZONE}/instances/${n}`,
      `GET global/firewalls/${SWARM}`,
      'POST global/firewalls',
      'wait global insert',
      `GET zones/${ZONE}/instances/${n}`,
      `POST zones/${ZONE}/instances/${n}/setTags`,
      'wait setTags',
      `POST zones/${ZONE}/instances/${n}/setLabels`,
      'wait setLabels',
    ])
    expect(m.find('POST global/firewalls').body).toMatchObject({ name: SWARM, sourceTags: [SWARM], targetTags: [SWARM], allowed: SWARM_ALLOWED })
    expect(m.find(`POST zones/${ZONE}/instances/${n}/setTags`).body).toEqual({ items: [RULE, SWARM], fingerprint: 'pFOxT0Q-lDQ=' })
    expect((m.find(`POST zones/${ZONE}/instances/${n}/setLabels`).body as { labels: unknown }).labels).toEqual(ours(n))
    expect((await w.saved(n)).Driver.SwarmFirewallRule).toBe(SWARM)
    expect((await w.journal(n)).map((e) => `${e.kind} ${e.id}`)).toEqual([`firewall ${RULE}`, `instance ${n}`, `firewall ${SWARM}`])
    expect(w.nodes()).toContain(`${n} worker active ready`)
    expectGceDone()

    m.dispose()
    m = new GceMock()
    const [untagOp, unlabelOp] = [zoneOp('setTags', n), zoneOp('setLabels', n)]
    const fwDel = operation({ type: 'delete', target: `projects/${PROJECT}/global/firewalls/${SWARM}` })
    m.getInstance(instance({ name: n, labels: ours(n), tags: [RULE, SWARM] }), n)
      .instanceAction('setTags', untagOp, n)
      .waitZoneOp(done(untagOp))
      .instanceAction('setLabels', unlabelOp, n)
      .waitZoneOp(done(unlabelOp))
      .aggregatedInstances([])
      .deleteFirewall(SWARM, 200, fwDel)
      .waitGlobalOp(done(fwDel))
    await leaveMachine(w.store, n, { force: false, drain: true }, { reporter: recordingReporter(), env })
    expect(m.find(`POST zones/${ZONE}/instances/${n}/setTags`).body).toEqual({ items: [RULE], fingerprint: 'pFOxT0Q-lDQ=' })
    expect((m.find(`POST zones/${ZONE}/instances/${n}/setLabels`).body as { labels: unknown }).labels).toEqual(lone(n))
    expect(m.names()).toContain(`DELETE global/firewalls/${SWARM}`)
    expect((await w.saved(n)).Driver.SwarmFirewallRule).toBeUndefined()
    expect((await w.journal(n)).map((e) => e.id)).toEqual([RULE, n])
    expectGceDone()
  })

  it('leave keeps the rule another instance still carries; a join finding everything in place changes nothing', async () => {
    const n = 'g22'
    await addLone(n)
    m = new GceMock()
    m.getInstance(instance({ name: n, labels: lone(n), tags: [RULE] }), n)
      .getFirewall(SWARM, { ...firewall(SWARM, SWARM_ALLOWED), sourceRanges: undefined, sourceTags: [SWARM] })
      .getInstance(instance({ name: n, labels: ours(n), tags: [RULE, SWARM] }), n)
    await join(n)
    expect(m.names()).toEqual([`GET zones/${ZONE}/instances/${n}`, `GET global/firewalls/${SWARM}`, `GET zones/${ZONE}/instances/${n}`])
    expectGceDone()

    m.dispose()
    m = new GceMock()
    const [untagOp, unlabelOp] = [zoneOp('setTags', n), zoneOp('setLabels', n)]
    const other = instance({ name: 'web2', id: '8523971503412345679', labels: ours('web2'), tags: [RULE, SWARM] })
    m.getInstance(instance({ name: n, labels: ours(n), tags: [RULE, SWARM] }), n)
      .instanceAction('setTags', untagOp, n)
      .waitZoneOp(done(untagOp))
      .instanceAction('setLabels', unlabelOp, n)
      .waitZoneOp(done(unlabelOp))
      .aggregatedInstances([other])
    const reporter = recordingReporter()
    await leaveMachine(w.store, n, { force: false, drain: true }, { reporter, env })
    expect(m.names()).not.toContain(`DELETE global/firewalls/${SWARM}`)
    expect(reporter.infos).toContain(`Keeping firewall rule ${SWARM}: still used by web2`)
    expectGceDone()
  })

  it('the API refusing the rule: one line, the engine does not join, nothing recorded, the instance untouched', async () => {
    const n = 'g333'
    await addLone(n)
    m = new GceMock()
    m.getInstance(instance({ name: n, labels: lone(n), tags: [RULE] }), n)
      .getFirewall(SWARM, 404)
      .insertFirewall(403, apiError(403, "Required 'compute.firewalls.create' permission for 'projects/my-proj/global/firewalls/" + SWARM + "'", 'forbidden'))
    const e = await join(n).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(MachineError)
    expect((e as MachineError).message.split('\n')).toHaveLength(1)
    expect((e as MachineError).message).toContain(`create firewall rule ${SWARM}: Required 'compute.firewalls.create' permission`)
    expect(m.names()).toEqual([`GET zones/${ZONE}/instances/${n}`, `GET global/firewalls/${SWARM}`, 'POST global/firewalls'])
    expect(w.nodes().some((x) => x.startsWith(`${n} `))).toBe(false)
    expect((await w.saved(n)).HostOptions.SwarmOptions).toMatchObject({ IsSwarm: false })
    expect((await w.saved(n)).Driver.SwarmFirewallRule).toBeUndefined()
    expect((await w.journal(n)).map((x) => x.id)).toEqual([RULE, n])
    expectGceDone()
  })

  it('GOOGLE_SWARM_PORTS=false saved at create is kept: nothing opened, and said so', async () => {
    const n = 'g4444'
    await addLone(n, { SwarmPorts: false })
    m = new GceMock()
    m.getInstance(instance({ name: n, labels: lone(n), tags: [RULE] }), n)
    const reporter = recordingReporter()
    await joinSwarm(w.store, n, { cluster: 's1', manager: false, advertiseAddr: '192.0.2.44' }, { reporter, env })
    expect(m.names()).toEqual([`GET zones/${ZONE}/instances/${n}`])
    expect(reporter.infos).toContain("Swarm ports not opened: --google-swarm-ports is off for this machine; allow 2377/tcp, 7946/tcp, 7946/udp, 4789/udp between the swarm's instances yourself")
    expectGceDone()
  })
})
