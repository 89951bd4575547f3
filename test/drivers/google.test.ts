/**
 * google driver against nock: the Compute Engine REST API exactly as @google-cloud/compute 7
 * calls it (paths, query strings, JSON bodies), answered in GCE's JSON shapes. Credentials are
 * a service account key file with a fresh RSA key, so the library signs its own JWT: no token
 * or metadata server is contacted. Every test checks that each interceptor was used and that
 * nothing went unmatched.
 */
import { storeMarker } from '../../src/driver-kit/store-marker.js'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { MachineError } from '../../src/core/errors.js'
import type { DriverDefinition, JournalEntry } from '../../src/driver-kit/contract.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { flagName, optionHelp } from '../../src/driver-kit/options.js'
import { firewallAllowed, firewallRuleName } from '../../drivers/google/config.js'
import google from '../../drivers/google/index.js'
import {
  GceMock,
  IMAGE_PATH,
  INSTANCE_ID,
  instance,
  makeTestDriver,
  NAT_IP,
  NETWORK_IP,
  NEW_NAT_IP,
  operation,
  apiError,
  PROJECT,
  ZONE,
  firewall,
  type TestCtx,
  useGceHooks,
} from './fixtures/google/gce.js'
import { expectMockDone } from '../helpers/cloud-mock.js'

// As the registry sees it (options untyped): each option read as any OptionSpec.
const definition: DriverDefinition = google

const RULE = firewallRuleName(`projects/${PROJECT}/global/networks/default`, firewallAllowed([]))
const MACHINE_ID = '0d6f5c1e-7a0b-4c2d-9e8f-1a2b3c4d5e6f'
const OURS = { 'machine-name': 'web1', 'machine-id': MACHINE_ID, 'machine-firewall': RULE }

let m: GceMock
let t: TestCtx | undefined
useGceHooks(() => ({ m, t }), () => (t = undefined))

const expectAllUsed = () => expectMockDone(m)

async function rejection(p: Promise<unknown>): Promise<MachineError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e, 'expected the call to fail').toBeInstanceOf(MachineError)
  return e as MachineError
}

/** A driver whose config describes a created machine (what `machine create` saved). */
async function existing(flags: Record<string, unknown> = { 'google-project': PROJECT }) {
  t = await makeTestDriver(flags)
  Object.assign(t.ctx.config, { InstanceId: INSTANCE_ID, IPAddress: NAT_IP, MachineId: MACHINE_ID, FirewallRule: RULE, SSHKeyPath: join(t.dir, 'id_rsa') })
  return t
}

/** The journal `create` leaves behind. */
function createdJournal(): MemoryJournal {
  const j = new MemoryJournal()
  const where = { project: PROJECT, zone: ZONE, machineId: MACHINE_ID }
  for (const e of [
    { kind: 'firewall', id: RULE, data: { project: PROJECT, created: true } },
    { kind: 'disk', id: 'web1', data: where },
    { kind: 'instance', id: 'web1', data: { ...where, id: INSTANCE_ID } },
  ] satisfies JournalEntry[])
    void j.record(e)
  return j
}

/** Everything create asks for, for the default flags. */
function arrangeCreate(mock: GceMock, o: { firewallExists?: boolean } = {}) {
  const fwOp = operation({ type: 'insert', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
  const insOp = operation({ type: 'insert', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, targetId: INSTANCE_ID })
  mock.imageFamily()
  if (o.firewallExists) mock.getFirewall(RULE, firewall(RULE, [{ IPProtocol: 'tcp', ports: ['22', '2376'] }]))
  else mock.getFirewall(RULE, 404).insertFirewall(200, fwOp).waitGlobalOp({ ...fwOp, status: 'DONE', progress: 100 })
  mock
    .insertInstance(200, insOp)
    .waitZoneOp({ ...insOp }) // still RUNNING after one server-side wait
    .waitZoneOp({ ...insOp, status: 'DONE', progress: 100 })
    .getInstance(instance({ labels: OURS, tags: [RULE] }))
  return { fwOp, insOp }
}

/** What rm asks for after a full create. */
function arrangeRemove(mock: GceMock, o: { others?: Array<Record<string, unknown>> } = {}) {
  const delOp = operation({ type: 'delete', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
  mock.getInstance(instance({ labels: OURS, tags: [RULE] })).deleteInstance(200, delOp).waitZoneOp({ ...delOp, status: 'DONE' }).getDisk('web1', 404).aggregatedInstances(o.others ?? [])
  if (!o.others?.length) {
    const fwDel = operation({ type: 'delete', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
    mock.deleteFirewall(RULE, 200, fwDel).waitGlobalOp({ ...fwDel, status: 'DONE' })
  }
}

describe('google options', () => {
  it('has docker-machine\'s flag names and env vars, with current defaults', () => {
    const byFlag = Object.fromEntries(definition.options.map((o) => [flagName('google', o), o]))
    for (const f of [
      'project', 'zone', 'machine-type', 'machine-image', 'username', 'disk-size', 'disk-type', 'network', 'subnetwork', 'address',
      'preemptible', 'tags', 'scopes', 'use-internal-ip', 'use-internal-ip-only', 'use-existing', 'open-port', 'service-account',
    ]) {
      expect(byFlag[`google-${f}`], f).toBeDefined()
      expect(byFlag[`google-${f}`]!.env?.[0], f).toBe(`GOOGLE_${f.toUpperCase().replace(/-/g, '_')}`)
    }
    expect(byFlag['google-project']!.env).toEqual(['GOOGLE_PROJECT', 'CLOUDSDK_CORE_PROJECT'])
    expect(byFlag['google-zone']!.default).toBe('us-central1-a')
    expect(byFlag['google-machine-type']!.default).toBe('e2-small')
    expect(byFlag['google-machine-image']!.default).toBe('projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64')
    expect(byFlag['google-username']!.configKey).toBe('SSHUser')
    expect(optionHelp(byFlag['google-zone']!)).toContain('[env: GOOGLE_ZONE]')
    expect(definition.options.some((o) => o.secret)).toBe(false)
  })

  it('rejects bad values before anything is called', async () => {
    await expect(makeTestDriver({ 'google-project': PROJECT, 'google-open-port': ['80/icmp'] })).rejects.toThrow(/--google-open-port: "80\/icmp"/)
    await expect(makeTestDriver({ 'google-project': PROJECT, 'google-zone': 'central' })).rejects.toThrow(/--google-zone/)
    await expect(makeTestDriver({ 'google-project': PROJECT, 'google-tags': 'ok,Not_OK' })).rejects.toThrow(/"Not_OK" is not a valid network tag/)
  })
})

describe('google project and credentials', () => {
  it('takes the project from the gcloud configuration file when no flag or env var gives one', async () => {
    m = new GceMock()
    t = await makeTestDriver({})
    const cfgDir = join(t.dir, '.config', 'gcloud', 'configurations')
    await mkdir(cfgDir, { recursive: true })
    await writeFile(join(cfgDir, 'config_default'), '[core]\naccount = someone@example.com\nproject = from-gcloud\n\n[compute]\nzone = europe-west1-b\n')
    m.on('GET', `/compute/v1/projects/from-gcloud/zones/${ZONE}/instances/web1`, 404, apiError(404, `The resource 'projects/from-gcloud/zones/${ZONE}/instances/web1' was not found`, 'notFound'))
    await t.driver.preCreateCheck()
    expect(t.ctx.config.Project).toBe('from-gcloud')
    expectAllUsed()
  })

  it('prefers GOOGLE_PROJECT, then CLOUDSDK_CORE_PROJECT, over the gcloud file', async () => {
    m = new GceMock()
    t = await makeTestDriver({}, { env: { CLOUDSDK_CORE_PROJECT: 'from-cloudsdk' } })
    m.on('GET', `/compute/v1/projects/from-cloudsdk/zones/${ZONE}/instances/web1`, 404, apiError(404, `The resource 'projects/from-cloudsdk/zones/${ZONE}/instances/web1' was not found`, 'notFound'))
    await t.driver.preCreateCheck()
    expect(t.ctx.config.Project).toBe('from-cloudsdk')
    expectAllUsed()
  })

  it('says how to give a project when none can be found', async () => {
    m = new GceMock()
    t = await makeTestDriver({}, { env: { GOOGLE_APPLICATION_CREDENTIALS: '' } })
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.code).toBe('missing-option')
    expect(e.line).toMatch(/--google-project/)
    expect(m.calls).toEqual([])
  })

  it('reports missing Application Default Credentials in one line, with the fix', async () => {
    m = new GceMock()
    // No key file anywhere: not in the driver's env, not in the process env, no gcloud ADC file.
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', '')
    t = await makeTestDriver({ 'google-project': PROJECT }, { env: { GOOGLE_APPLICATION_CREDENTIALS: '' } })
    vi.stubEnv('HOME', t.dir)
    vi.stubEnv('CLOUDSDK_CONFIG', join(t.dir, 'no-gcloud'))
    try {
      const e = await rejection(t.driver.preCreateCheck())
      expect(e.code).toBe('google-credentials')
      expect(e.line).not.toContain('\n')
      expect(e.line).toMatch(/gcloud auth application-default login|GOOGLE_APPLICATION_CREDENTIALS/)
    } finally {
      vi.unstubAllEnvs()
    }
    expect(m.calls).toEqual([])
  })
})

describe('google create', () => {
  it('looks up the image family, makes the firewall rule and the instance, in order, and saves what SSH needs', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    m.getInstance(404)
    arrangeCreate(m)
    const journal = new MemoryJournal()

    await t.driver.preCreateCheck()
    await t.driver.create(journal)

    expect(m.names()).toEqual([
      `GET zones/${ZONE}/instances/web1`,
      'GET projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64',
      `GET global/firewalls/${RULE}`,
      'POST global/firewalls',
      'wait global insert',
      `POST zones/${ZONE}/instances`,
      'wait insert',
      'wait insert',
      `GET zones/${ZONE}/instances/web1`,
    ])
    expectAllUsed()

    // Firewall: SSH + engine port only, to instances carrying the rule's tag.
    const fw = m.find('POST global/firewalls')
    expect(RULE).toMatch(/^docker-machine-[0-9a-f]{10}$/)
    expect(fw.query.requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(fw.body).toMatchObject({
      name: RULE,
      network: `projects/${PROJECT}/global/networks/default`,
      direction: 'INGRESS',
      sourceRanges: ['0.0.0.0/0'],
      targetTags: [RULE],
      allowed: [{ IPProtocol: 'tcp', ports: ['22', '2376'] }],
    })

    // Instance: the image the family resolved to, labels, tag, key and cloud-init user data.
    const ins = m.find(`POST zones/${ZONE}/instances`)
    expect(ins.query.requestId).toMatch(/^[0-9a-f-]{36}$/)
    const body = ins.body as {
      name: string
      machineType: string
      labels: Record<string, string>
      tags: { items: string[] }
      disks: Array<{ boot: boolean; autoDelete: boolean; initializeParams: Record<string, unknown> }>
      networkInterfaces: Array<{ network: string; accessConfigs: Array<Record<string, unknown>> }>
      metadata: { items: Array<{ key: string; value: string }> }
      serviceAccounts: Array<{ email: string; scopes: string[] }>
      scheduling: Record<string, unknown>
    }
    expect(body.name).toBe('web1')
    expect(body.machineType).toBe(`zones/${ZONE}/machineTypes/e2-small`)
    expect(body.labels).toEqual({ 'machine-name': 'web1', 'machine-id': t.ctx.config.MachineId, 'machine-store': storeMarker(t.ctx.storePath), 'machine-firewall': RULE })
    expect(body.tags.items).toEqual([RULE])
    expect(body.disks[0]).toMatchObject({ boot: true, autoDelete: true })
    expect(body.disks[0]!.initializeParams).toMatchObject({ sourceImage: IMAGE_PATH, diskSizeGb: '10', diskType: `zones/${ZONE}/diskTypes/pd-balanced` })
    expect(body.networkInterfaces[0]).toMatchObject({ network: `projects/${PROJECT}/global/networks/default`, accessConfigs: [{ type: 'ONE_TO_ONE_NAT', name: 'External NAT' }] })
    expect(body.serviceAccounts).toEqual([{ email: 'default', scopes: expect.arrayContaining(['https://www.googleapis.com/auth/logging.write']) }])
    expect(body.scheduling).toMatchObject({ automaticRestart: true })

    const meta = Object.fromEntries(body.metadata.items.map((i) => [i.key, i.value]))
    const pub = (await readFile(join(t.ctx.machineDir, 'id_rsa.pub'), 'utf8')).trim()
    expect(pub).toMatch(/^ssh-rsa AAAA/)
    expect(meta['ssh-keys']).toBe(`docker-user:${pub}`)
    const userData = meta['user-data']!
    expect(userData.startsWith('#cloud-config\n')).toBe(true)
    const cloud = JSON.parse(userData.slice('#cloud-config\n'.length)) as {
      users: Array<{ name: string; ssh_authorized_keys: string[] }>
      ssh_keys: { ed25519_public: string; ed25519_private: string }
      write_files: Array<{ path: string; content: string }>
    }
    expect(cloud.users[0]).toMatchObject({ name: 'docker-user', ssh_authorized_keys: [pub] })
    expect(cloud.write_files[0]).toMatchObject({ path: '/etc/default/instance_configs.cfg', content: expect.stringContaining('set_host_keys = false') })

    // Saved config: docker-machine's base fields, the pinned host key, no secret.
    const c = t.ctx.config
    expect(c).toMatchObject({ IPAddress: NAT_IP, SSHUser: 'docker-user', SSHPort: 22, Project: PROJECT, Zone: ZONE, InstanceId: INSTANCE_ID, FirewallRule: RULE, SourceImage: IMAGE_PATH })
    expect(c.SSHKeyPath).toBe(join(t.ctx.machineDir, 'id_rsa'))
    expect(existsSync(String(c.SSHKeyPath))).toBe(true)
    expect(c.SSHHostKeys).toEqual([cloud.ssh_keys.ed25519_public])
    expect(cloud.ssh_keys.ed25519_private).toMatch(/BEGIN OPENSSH PRIVATE KEY/)
    const saved = JSON.stringify(c)
    expect(saved).not.toMatch(/PRIVATE KEY/)
    expect(saved).not.toContain(t.env.GOOGLE_APPLICATION_CREDENTIALS)

    // Journal: every resource, in creation order, before it was made.
    expect(journal.entries().map((e) => `${e.kind} ${e.id}`)).toEqual([`firewall ${RULE}`, 'disk web1', 'instance web1'])
    expect(journal.entries()[2]!.data).toMatchObject({ id: INSTANCE_ID, zone: ZONE, project: PROJECT })
  })

  it('reuses an existing rule for the same ports instead of making another', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    arrangeCreate(m, { firewallExists: true })
    const journal = new MemoryJournal()
    await t.driver.create(journal)
    expect(m.names()).not.toContain('POST global/firewalls')
    expect(journal.entries()[0]).toMatchObject({ kind: 'firewall', id: RULE, data: { created: false } })
    expectAllUsed()
  })

  it('opens exactly the asked ports: --google-open-port gets its own rule, never a wider shared one', async () => {
    m = new GceMock()
    t = await makeTestDriver({ 'google-project': PROJECT, 'google-open-port': ['8080/tcp', '53/udp', '8000-8100'] })
    const rule = firewallRuleName(`projects/${PROJECT}/global/networks/default`, firewallAllowed(['8080/tcp', '53/udp', '8000-8100']))
    expect(rule).not.toBe(RULE)
    const fwOp = operation({ type: 'insert', target: `projects/${PROJECT}/global/firewalls/${rule}` })
    const insOp = operation({ type: 'insert', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, status: 'DONE', targetId: INSTANCE_ID })
    m.imageFamily().getFirewall(rule, 404).insertFirewall(200, fwOp).waitGlobalOp({ ...fwOp, status: 'DONE' }).insertInstance(200, insOp).getInstance(instance({ tags: [rule] }))
    await t.driver.create(new MemoryJournal())
    expect(m.find('POST global/firewalls').body).toMatchObject({
      name: rule,
      targetTags: [rule],
      allowed: [
        { IPProtocol: 'tcp', ports: ['22', '2376', '8000-8100', '8080'] },
        { IPProtocol: 'udp', ports: ['53'] },
      ],
    })
    expect((m.find(`POST zones/${ZONE}/instances`).body as { tags: { items: string[] } }).tags.items).toEqual([rule])
    expectAllUsed()
  })

  it('a swarm master also gets its swarm port (from SwarmHost), in a rule of its own', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    Object.assign(t.ctx.config, { SwarmMaster: true, SwarmHost: 'tcp://0.0.0.0:3376' })
    const rule = firewallRuleName(`projects/${PROJECT}/global/networks/default`, firewallAllowed(['3376/tcp']))
    const fwOp = operation({ type: 'insert', target: `projects/${PROJECT}/global/firewalls/${rule}`, status: 'DONE' })
    const insOp = operation({ type: 'insert', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, status: 'DONE' })
    m.imageFamily().getFirewall(rule, 404).insertFirewall(200, fwOp).insertInstance(200, insOp).getInstance(instance({ tags: [rule] }))
    await t.driver.create(new MemoryJournal())
    expect(m.find('POST global/firewalls').body).toMatchObject({ name: rule, allowed: [{ IPProtocol: 'tcp', ports: ['22', '2376', '3376'] }] })
    expectAllUsed()
  })

  it('turns the other flags into the instance request', async () => {
    m = new GceMock()
    t = await makeTestDriver({
      'google-project': PROJECT,
      'google-machine-type': 'e2-medium',
      'google-machine-image': 'https://www.googleapis.com/compute/v1/projects/my-images/global/images/docker-base-v3',
      'google-username': 'ops',
      'google-disk-size': 40,
      'google-disk-type': 'pd-ssd',
      'google-subnetwork': 'apps',
      'google-address': 'docker-ip',
      'google-preemptible': true,
      'google-tags': 'web,ci',
      'google-scopes': 'cloud-platform',
      'google-service-account': 'runner@my-proj.iam.gserviceaccount.com',
    })
    const insOp = operation({ type: 'insert', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, status: 'DONE', targetId: INSTANCE_ID })
    // An explicit image needs no lookup; the named static address does.
    m.getAddress('docker-ip', NAT_IP).getFirewall(RULE, firewall(RULE, [{ IPProtocol: 'tcp', ports: ['22', '2376'] }])).insertInstance(200, insOp).getInstance(instance({ preemptible: true }))
    await t.driver.create(new MemoryJournal())
    expect(m.find(`POST zones/${ZONE}/instances`).body).toMatchObject({
      machineType: `zones/${ZONE}/machineTypes/e2-medium`,
      tags: { items: [RULE, 'web', 'ci'] },
      disks: [{ initializeParams: { sourceImage: 'projects/my-images/global/images/docker-base-v3', diskSizeGb: '40', diskType: `zones/${ZONE}/diskTypes/pd-ssd` } }],
      networkInterfaces: [{ subnetwork: `projects/${PROJECT}/regions/us-central1/subnetworks/apps`, accessConfigs: [{ natIP: NAT_IP }] }],
      serviceAccounts: [{ email: 'runner@my-proj.iam.gserviceaccount.com', scopes: ['https://www.googleapis.com/auth/cloud-platform'] }],
      scheduling: { preemptible: true, automaticRestart: false, onHostMaintenance: 'TERMINATE' },
      metadata: { items: [{ key: 'ssh-keys', value: expect.stringMatching(/^ops:ssh-rsa /) }, { key: 'user-data' }] },
    })
    expect(t.ctx.config.SSHUser).toBe('ops')
    expectAllUsed()
  })

  it('with --google-use-internal-ip-only makes no external address and uses the internal IP', async () => {
    m = new GceMock()
    t = await makeTestDriver({ 'google-project': PROJECT, 'google-use-internal-ip-only': true })
    const insOp = operation({ type: 'insert', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, status: 'DONE' })
    m.imageFamily().getFirewall(RULE, firewall(RULE, [{ IPProtocol: 'tcp', ports: ['22', '2376'] }])).insertInstance(200, insOp).getInstance(instance({ natIP: undefined }))
    await t.driver.create(new MemoryJournal())
    expect((m.find(`POST zones/${ZONE}/instances`).body as { networkInterfaces: Array<{ accessConfigs?: unknown[] }> }).networkInterfaces[0]!.accessConfigs ?? []).toEqual([])
    expect(t.ctx.config.IPAddress).toBe(NETWORK_IP)
    expectAllUsed()
  })

  it('refuses a name that already exists, and one GCE cannot take', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    m.getInstance(instance())
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.code).toBe('google-instance-exists')
    expect(e.line).toMatch(/--google-use-existing/)
    expectAllUsed()
    const bad = await makeTestDriver({ 'google-project': PROJECT }, { name: 'Web_1' })
    try {
      expect((await rejection(bad.driver.preCreateCheck())).code).toBe('invalid-name')
    } finally {
      await bad.cleanup()
    }
  })
})

describe('google failures', () => {
  it('401: one line saying the credentials were rejected, nothing made', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    m.on('GET', `/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/web1`, 401, apiError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.', 'authError', 'global', 'UNAUTHENTICATED'))
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.code).toBe('google-credentials')
    expect(e.line).not.toContain('\n')
    expect(e.line).toMatch(/invalid authentication credentials.*gcloud auth application-default login/)
    expectAllUsed()
  })

  it('403: permission denied names the project and the roles needed', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    m.on('GET', `/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/web1`, 403, apiError(403, `Required 'compute.instances.get' permission for 'projects/${PROJECT}/zones/${ZONE}/instances/web1'`, 'forbidden'))
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.code).toBe('google-permission')
    expect(e.line).toMatch(new RegExp(`Permission denied in project ${PROJECT}.*compute.instances.get.*roles/compute.instanceAdmin.v1`))
    expectAllUsed()
  })

  it('403 with the API disabled says how to enable it', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    m.on('GET', `/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/web1`, 403, apiError(403, `Compute Engine API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/compute.googleapis.com/overview?project=123456789012 then retry.`, 'accessNotConfigured', 'usageLimits'))
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.code).toBe('google-api-disabled')
    expect(e.hint).toBe(`run "gcloud services enable compute.googleapis.com --project ${PROJECT}"`)
    expectAllUsed()
  })

  it('quota exceeded on insert: clear error, and rollback removes the firewall rule it made', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    const fwOp = operation({ type: 'insert', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
    m.imageFamily().getFirewall(RULE, 404).insertFirewall(200, fwOp).waitGlobalOp({ ...fwOp, status: 'DONE' })
    m.insertInstance(403, apiError(403, "Quota 'CPUS' exceeded.  Limit: 8.0 in region us-central1.", 'quotaExceeded', 'usageLimits'))
    const journal = new MemoryJournal()
    const e = await rejection(t.driver.create(journal))
    expect(e.code).toBe('google-quota')
    expect(e.line).toMatch(/Quota 'CPUS' exceeded.*request more quota/)
    // Not retried: waiting does not give quota back.
    expect(m.names().filter((n) => n === `POST zones/${ZONE}/instances`)).toHaveLength(1)

    const delFw = operation({ type: 'delete', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
    m.getInstance(404).getDisk('web1', 404).aggregatedInstances([]).deleteFirewall(RULE, 200, delFw).waitGlobalOp({ ...delFw, status: 'DONE' })
    await t.driver.remove(journal)
    expect(journal.entries()).toEqual([])
    expectAllUsed()
  })

  it('quota and capacity errors reported by the operation', async () => {
    for (const [error, http, code] of [
      [{ code: 'QUOTA_EXCEEDED', message: "Quota 'IN_USE_ADDRESSES' exceeded.  Limit: 4.0 in region us-central1." }, 403, 'google-quota'],
      [{ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', message: `The zone 'projects/${PROJECT}/zones/${ZONE}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.` }, 503, 'google-capacity'],
    ] as const) {
      m = new GceMock()
      t = await makeTestDriver()
      const target = `projects/${PROJECT}/zones/${ZONE}/instances/web1`
      const insOp = operation({ type: 'insert', target, zone: ZONE })
      m.imageFamily().getFirewall(RULE, firewall(RULE, [{ IPProtocol: 'tcp', ports: ['22', '2376'] }])).insertInstance(200, insOp)
      m.waitZoneOp(operation({ type: 'insert', target, zone: ZONE, name: String(insOp.name), status: 'DONE', error, httpErrorStatusCode: http, httpErrorMessage: http === 403 ? 'FORBIDDEN' : 'SERVICE UNAVAILABLE' }))
      const e = await rejection(t.driver.create(new MemoryJournal()))
      expect(e.code).toBe(code)
      expect(e.line).toContain(error.message)
      expectAllUsed()
      m.dispose()
      await t.cleanup()
    }
    t = undefined
  })

  it('not found: a missing image family stops before anything is made', async () => {
    m = new GceMock()
    t = await makeTestDriver({ 'google-project': PROJECT, 'google-machine-image': 'projects/ubuntu-os-cloud/global/images/family/ubuntu-9904-lts' })
    m.imageFamily(404, apiError(404, "The resource 'projects/ubuntu-os-cloud/global/images/family/ubuntu-9904-lts' was not found", 'notFound'), 'ubuntu-9904-lts')
    const journal = new MemoryJournal()
    const e = await rejection(t.driver.create(journal))
    expect(e.code).toBe('google-not-found')
    expect(e.line).toMatch(/ubuntu-9904-lts' was not found/)
    expect(journal.entries()).toEqual([])
    expectAllUsed()
  })

  it('429 rateLimitExceeded is retried with backoff and the same request id, then succeeds', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    const rate = apiError(429, "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com' for consumer 'project_number:123456789012'.", 'rateLimitExceeded', 'usageLimits', 'RESOURCE_EXHAUSTED')
    const insOp = operation({ type: 'insert', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, status: 'DONE', targetId: INSTANCE_ID })
    m.imageFamily(429, rate).imageFamily()
    m.getFirewall(RULE, firewall(RULE, [{ IPProtocol: 'tcp', ports: ['22', '2376'] }]))
    m.insertInstance(429, rate).insertInstance(429, rate).insertInstance(200, insOp)
    m.on('GET', `/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/web1`, 403, apiError(403, 'Rate Limit Exceeded', 'rateLimitExceeded', 'usageLimits'))
    m.getInstance(instance())
    await t.driver.create(new MemoryJournal())
    const inserts = m.calls.filter((c) => c.call === `POST zones/${ZONE}/instances`)
    expect(inserts).toHaveLength(3)
    expect(new Set(inserts.map((c) => c.query.requestId)).size).toBe(1)
    expect(t.ctx.config.IPAddress).toBe(NAT_IP)
    expect(t.logs.filter((l) => /throttled.*retry/.test(l)).length).toBe(4)
    expectAllUsed()
  })

  it('failure after the instance exists: create fails, rollback deletes instance and rule', async () => {
    m = new GceMock()
    t = await makeTestDriver()
    const fwOp = operation({ type: 'insert', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
    const insOp = operation({ type: 'insert', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, targetId: INSTANCE_ID })
    m.imageFamily().getFirewall(RULE, 404).insertFirewall(200, fwOp).waitGlobalOp({ ...fwOp, status: 'DONE' })
    m.insertInstance(200, insOp).waitZoneOp({ ...insOp, status: 'DONE' })
    // Preempted before it ever ran.
    m.getInstance(instance({ status: 'TERMINATED', natIP: undefined, preemptible: true }))
    const journal = new MemoryJournal()
    const e = await rejection(t.driver.create(journal))
    expect(e.code).toBe('google-instance-stopped')
    expect(journal.entries().map((x) => x.kind)).toEqual(['firewall', 'disk', 'instance'])

    const labels = { 'machine-name': 'web1', 'machine-id': String(t.ctx.config.MachineId), 'machine-firewall': RULE }
    const delOp = operation({ type: 'delete', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
    const delFw = operation({ type: 'delete', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
    m.getInstance(instance({ status: 'TERMINATED', labels })).deleteInstance(200, delOp).waitZoneOp({ ...delOp, status: 'DONE' })
    m.getDisk('web1', 404).aggregatedInstances([]).deleteFirewall(RULE, 200, delFw).waitGlobalOp({ ...delFw, status: 'DONE' })
    await t.driver.remove(journal)
    expect(journal.entries()).toEqual([])
    expect(m.names().slice(-7)).toEqual([
      `GET zones/${ZONE}/instances/web1`,
      `DELETE zones/${ZONE}/instances/web1`,
      'wait delete',
      `GET zones/${ZONE}/disks/web1`,
      'GET aggregated/instances',
      `DELETE global/firewalls/${RULE}`,
      'wait global delete',
    ])
    expect(m.find('GET aggregated/instances').query.filter).toBe(`labels.machine-firewall = "${RULE}"`)
    expectAllUsed()
  })

  it('Ctrl-C while waiting for the instance stops waiting at once; rollback still runs', async () => {
    m = new GceMock()
    const ac = new AbortController()
    // A slow poll: the abort lands while the driver sleeps between two waits.
    t = await makeTestDriver({ 'google-project': PROJECT }, { signal: ac.signal, env: { MACHINE_POLL_INTERVAL_MS: '200' } })
    const insOp = operation({ type: 'insert', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, targetId: INSTANCE_ID })
    m.imageFamily().getFirewall(RULE, firewall(RULE, [{ IPProtocol: 'tcp', ports: ['22', '2376'] }])).insertInstance(200, insOp)
    m.waitZoneOp({ ...insOp }).waitZoneOp({ ...insOp })
    const journal = new MemoryJournal()
    const p = t.driver.create(journal)
    // Abort once the second wait has been answered.
    const started = Date.now()
    while (m.names().filter((n) => n === 'wait insert').length < 2 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 1))
    ac.abort()
    const e = await rejection(p)
    expect(e.code).toBe('interrupted')

    const labels = { 'machine-name': 'web1', 'machine-id': String(t.ctx.config.MachineId), 'machine-firewall': RULE }
    const delOp = operation({ type: 'delete', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
    m.getInstance(instance({ status: 'PROVISIONING', labels, natIP: undefined })).deleteInstance(200, delOp).waitZoneOp({ ...delOp, status: 'DONE' })
    // The shared rule is still used by another machine: kept.
    m.getDisk('web1', 404).aggregatedInstances([instance({ name: 'other', labels: { 'machine-firewall': RULE, 'machine-id': 'someone-else' } })])
    await t.driver.remove(journal)
    expect(journal.entries()).toEqual([])
    expect(t.logs).toContain(`Keeping firewall rule ${RULE}: still used by other`)
    expectAllUsed()
  })

  it('an operation that never finishes times out with the gcloud command to look at it', async () => {
    m = new GceMock()
    t = await makeTestDriver({ 'google-project': PROJECT }, { env: { MACHINE_OPERATION_TIMEOUT_MS: '40' } })
    const op = operation({ type: 'stop', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
    m.instanceAction('stop', op)
    for (let i = 0; i < 200; i++) m.waitZoneOp({ ...op })
    const e = await rejection(t.driver.stop())
    expect(e.code).toBe('google-timeout')
    expect(e.hint).toBe(`check it with "gcloud compute operations describe ${String(op.name)} --zone ${ZONE} --project ${PROJECT}"`)
    expect(m.unmatched).toEqual([])
  })
})

describe('google lifecycle', () => {
  it('maps every instance status to a machine state; a deleted instance has none', async () => {
    m = new GceMock()
    await existing()
    const cases: Array<[string, string]> = [
      ['PROVISIONING', 'Starting'],
      ['STAGING', 'Starting'],
      ['RUNNING', 'Running'],
      ['STOPPING', 'Stopping'],
      ['SUSPENDING', 'Stopping'],
      ['TERMINATED', 'Stopped'],
      ['STOPPED', 'Stopped'],
      ['SUSPENDED', 'Stopped'],
    ]
    for (const [status] of cases) m.getInstance(instance({ status }))
    m.getInstance(404)
    const got: string[] = []
    for (let i = 0; i < cases.length; i++) got.push(await t!.driver.state())
    expect(got).toEqual(cases.map(([, s]) => s))
    expect(await t!.driver.state()).toBe('')
    expectAllUsed()
  })

  it('ip: the external address, the internal one when asked, a clear error when stopped', async () => {
    m = new GceMock()
    await existing()
    m.getInstance(instance()).getInstance(instance({ status: 'TERMINATED', natIP: undefined }))
    expect(await t!.driver.ip()).toBe(NAT_IP)
    const e = await rejection(t!.driver.ip())
    expect(e.code).toBe('no-ip')
    expect(e.line).toBe('Instance web1 has no external IP address (it is TERMINATED): start it with "machine start web1"')
    expectAllUsed()
    m.dispose()
    await t!.cleanup()

    m = new GceMock()
    await existing({ 'google-project': PROJECT, 'google-use-internal-ip': true })
    m.getInstance(instance())
    expect(await t!.driver.ip()).toBe(NETWORK_IP)
    expectAllUsed()
  })

  it('sshInfo: current IP, user, key and the pinned host key', async () => {
    m = new GceMock()
    await existing()
    t!.ctx.config.SSHHostKeys = ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG4bRz0ZbZ7b0yq8f7Jc8m0m2p1Q0ZbZ7b0yq8f7Jc8m web1-host-key']
    t!.ctx.config.SSHUser = 'docker-user'
    m.getInstance(instance({ natIP: NEW_NAT_IP }))
    expect(await t!.driver.sshInfo()).toEqual({
      host: NEW_NAT_IP,
      port: 22,
      user: 'docker-user',
      keyPath: join(t!.dir, 'id_rsa'),
      hostKeys: t!.ctx.config.SSHHostKeys,
    })
    expect(t!.ctx.config.IPAddress).toBe(NEW_NAT_IP)
    expectAllUsed()
  })

  it('start: starts a stopped instance, waits, and picks up its new IP', async () => {
    m = new GceMock()
    await existing()
    const op = operation({ type: 'start', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
    m.getInstance(instance({ status: 'TERMINATED', natIP: undefined })).instanceAction('start', op).waitZoneOp({ ...op, status: 'DONE' })
    m.getInstance(instance({ status: 'STAGING', natIP: NEW_NAT_IP })).getInstance(instance({ natIP: NEW_NAT_IP }))
    await t!.driver.start()
    expect(m.names()).toEqual([`GET zones/${ZONE}/instances/web1`, `POST zones/${ZONE}/instances/web1/start`, 'wait start', `GET zones/${ZONE}/instances/web1`, `GET zones/${ZONE}/instances/web1`])
    expect(m.find(`POST zones/${ZONE}/instances/web1/start`).query.requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(t!.ctx.config.IPAddress).toBe(NEW_NAT_IP)
    expectAllUsed()
  })

  it('start: resumes a suspended instance', async () => {
    m = new GceMock()
    await existing()
    const op = operation({ type: 'resume', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, status: 'DONE' })
    m.getInstance(instance({ status: 'SUSPENDED' })).instanceAction('resume', op).getInstance(instance())
    await t!.driver.start()
    expect(m.names()).toContain(`POST zones/${ZONE}/instances/web1/resume`)
    expectAllUsed()
  })

  it('stop, restart (reset) and kill (stop discarding local SSDs) wait for their operations', async () => {
    m = new GceMock()
    await existing()
    const stop = operation({ type: 'stop', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
    const reset = operation({ type: 'reset', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
    const kill = operation({ type: 'stop', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
    m.instanceAction('stop', stop).waitZoneOp({ ...stop, status: 'DONE' })
    m.instanceAction('reset', reset).waitZoneOp({ ...reset }).waitZoneOp({ ...reset, status: 'DONE' })
    m.instanceAction('stop', kill).waitZoneOp({ ...kill, status: 'DONE' })
    await t!.driver.stop()
    await t!.driver.restart()
    await t!.driver.kill()
    expect(m.names()).toEqual([
      `POST zones/${ZONE}/instances/web1/stop`,
      'wait stop',
      `POST zones/${ZONE}/instances/web1/reset`,
      'wait reset',
      'wait reset',
      `POST zones/${ZONE}/instances/web1/stop`,
      'wait stop',
    ])
    const stops = m.calls.filter((c) => c.call === `POST zones/${ZONE}/instances/web1/stop`)
    expect(stops[0]!.query.discardLocalSsd).toBeUndefined()
    expect(stops[1]!.query.discardLocalSsd).toBe('true')
    expectAllUsed()
  })

  it('a failed operation on stop is one clear line', async () => {
    m = new GceMock()
    await existing()
    const op = operation({ type: 'stop', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
    const error = { code: 'RESOURCE_NOT_READY', message: `The resource 'projects/${PROJECT}/zones/${ZONE}/instances/web1' is not ready` }
    m.instanceAction('stop', op).waitZoneOp(operation({ type: 'stop', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, name: String(op.name), status: 'DONE', error, httpErrorStatusCode: 400, httpErrorMessage: 'BAD REQUEST' }))
    const e = await rejection(t!.driver.stop())
    expect(e.code).toBe('google-operation')
    expect(e.line).toMatch(/stop instance web1: The resource .* is not ready \[RESOURCE_NOT_READY\]/)
    expectAllUsed()
  })
})

describe('google rm', () => {
  it('deletes the instance (its boot disk goes with it) and the rule nobody else uses; again is a no-op', async () => {
    m = new GceMock()
    await existing()
    arrangeRemove(m)
    const journal = createdJournal()
    await t!.driver.remove(journal)
    expect(m.names()).toEqual([
      `GET zones/${ZONE}/instances/web1`,
      `DELETE zones/${ZONE}/instances/web1`,
      'wait delete',
      `GET zones/${ZONE}/disks/web1`,
      'GET aggregated/instances',
      `DELETE global/firewalls/${RULE}`,
      'wait global delete',
    ])
    expect(journal.entries()).toEqual([])
    expectAllUsed()
    await t!.driver.remove(journal)
    expect(m.calls).toHaveLength(7)
  })

  it('keeps the rule while another machine uses it', async () => {
    m = new GceMock()
    await existing()
    arrangeRemove(m, { others: [instance({ name: 'web2', id: '111', labels: { 'machine-firewall': RULE, 'machine-id': 'aaaa' } })] })
    const journal = createdJournal()
    await t!.driver.remove(journal)
    expect(m.names()).not.toContain(`DELETE global/firewalls/${RULE}`)
    expect(t!.logs).toContain(`Keeping firewall rule ${RULE}: still used by web2`)
    expect(journal.entries()).toEqual([])
    expectAllUsed()
  })

  it('never deletes a namesake instance it did not make', async () => {
    m = new GceMock()
    await existing()
    // The journal says web1 (id 8523…), but web1 is now someone else's instance.
    m.getInstance(instance({ id: '999', labels: {} })).getDisk('web1', 404).aggregatedInstances([])
    m.deleteFirewall(RULE, 404, apiError(404, `The resource 'projects/${PROJECT}/global/firewalls/${RULE}' was not found`, 'notFound'))
    const journal = createdJournal()
    await t!.driver.remove(journal)
    expect(m.names()).not.toContain(`DELETE zones/${ZONE}/instances/web1`)
    expect(t!.logs).toContain(`Instance web1 in ${ZONE} was not made by this machine; left alone`)
    expect(journal.entries()).toEqual([])
    expectAllUsed()
  })

  it('works from the saved config when the journal is gone', async () => {
    m = new GceMock()
    await existing()
    const delOp = operation({ type: 'delete', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE })
    const fwDel = operation({ type: 'delete', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
    m.getInstance(instance({ labels: OURS })).deleteInstance(200, delOp).waitZoneOp({ ...delOp, status: 'DONE' })
    m.aggregatedInstances([]).deleteFirewall(RULE, 200, fwDel).waitGlobalOp({ ...fwDel, status: 'DONE' })
    await t!.driver.remove(new MemoryJournal())
    expect(m.names()).toEqual([
      `GET zones/${ZONE}/instances/web1`,
      `DELETE zones/${ZONE}/instances/web1`,
      'wait delete',
      'GET aggregated/instances',
      `DELETE global/firewalls/${RULE}`,
      'wait global delete',
    ])
    expectAllUsed()
  })

  it('when a delete fails, says what is left and the gcloud command to delete it', async () => {
    m = new GceMock()
    await existing()
    m.getInstance(instance({ labels: OURS })).deleteInstance(403, apiError(403, `Required 'compute.instances.delete' permission for 'projects/${PROJECT}/zones/${ZONE}/instances/web1'`, 'forbidden'))
    m.getDisk('web1', 404).aggregatedInstances([instance({ labels: OURS })])
    const journal = createdJournal()
    const e = await rejection(t!.driver.remove(journal))
    expect(e.code).toBe('google-remove-incomplete')
    expect(e.line).toContain(`gcloud compute instances delete web1 --zone ${ZONE} --project ${PROJECT}`)
    expect(journal.entries().map((x) => x.kind)).toEqual(['instance'])
    expectAllUsed()
  })
})

describe('google --google-use-existing', () => {
  it('tags, keys and labels the existing instance; rm undoes that and leaves the instance', async () => {
    m = new GceMock()
    t = await makeTestDriver({ 'google-project': PROJECT, 'google-use-existing': true })
    const existingInst = instance({ tags: ['http-server'], labels: { team: 'a' }, metadata: [{ key: 'ssh-keys', value: 'alice:ssh-ed25519 AAAAC3Nza alice' }, { key: 'startup-script', value: 'echo hi' }] })
    const op = (type: string) => operation({ type, target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, status: 'DONE' })
    m.getInstance(existingInst)
    m.getFirewall(RULE, firewall(RULE, [{ IPProtocol: 'tcp', ports: ['22', '2376'] }]))
    m.getInstance(existingInst).instanceAction('setTags', op('setTags')).instanceAction('setMetadata', op('setMetadata')).instanceAction('setLabels', op('setLabels'))
    m.getInstance(instance({ tags: ['http-server', RULE] }))
    const journal = new MemoryJournal()
    await t.driver.preCreateCheck()
    await t.driver.create(journal)

    expect(m.names()).not.toContain(`POST zones/${ZONE}/instances`)
    expect(m.find(`POST zones/${ZONE}/instances/web1/setTags`).body).toEqual({ items: ['http-server', RULE], fingerprint: 'pFOxT0Q-lDQ=' })
    const pub = (await readFile(join(t.ctx.machineDir, 'id_rsa.pub'), 'utf8')).trim()
    expect(m.find(`POST zones/${ZONE}/instances/web1/setMetadata`).body).toEqual({
      fingerprint: 'mT2WJ3Xv8pE=',
      items: [{ key: 'startup-script', value: 'echo hi' }, { key: 'ssh-keys', value: `alice:ssh-ed25519 AAAAC3Nza alice\ndocker-user:${pub}` }],
    })
    expect(m.find(`POST zones/${ZONE}/instances/web1/setLabels`).body).toEqual({
      labels: { team: 'a', 'machine-name': 'web1', 'machine-id': t.ctx.config.MachineId, 'machine-firewall': RULE },
      labelFingerprint: '42WmSpB8rSM=',
    })
    // Nothing was injected into its cloud-init: no host key to pin in advance.
    expect(t.ctx.config.SSHHostKeys).toBeUndefined()
    expect(t.ctx.config.IPAddress).toBe(NAT_IP)
    expect(journal.entries().map((e) => e.kind)).toEqual(['firewall', 'instance-config'])
    expectAllUsed()

    m.calls.length = 0
    const labelled = instance({
      tags: ['http-server', RULE],
      labels: { team: 'a', 'machine-name': 'web1', 'machine-id': String(t.ctx.config.MachineId), 'machine-firewall': RULE },
      metadata: [{ key: 'startup-script', value: 'echo hi' }, { key: 'ssh-keys', value: `alice:ssh-ed25519 AAAAC3Nza alice\ndocker-user:${pub}` }],
    })
    const delFw = operation({ type: 'delete', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
    m.getInstance(labelled).instanceAction('setTags', op('setTags')).instanceAction('setMetadata', op('setMetadata')).instanceAction('setLabels', op('setLabels'))
    m.aggregatedInstances([]).deleteFirewall(RULE, 200, delFw).waitGlobalOp({ ...delFw, status: 'DONE' })
    await t.driver.remove(journal)
    expect(m.find(`POST zones/${ZONE}/instances/web1/setTags`).body).toMatchObject({ items: ['http-server'] })
    expect(m.find(`POST zones/${ZONE}/instances/web1/setMetadata`).body).toMatchObject({ items: [{ key: 'startup-script' }, { key: 'ssh-keys', value: 'alice:ssh-ed25519 AAAAC3Nza alice' }] })
    expect(m.find(`POST zones/${ZONE}/instances/web1/setLabels`).body).toMatchObject({ labels: { team: 'a' } })
    expect(m.names()).not.toContain(`DELETE zones/${ZONE}/instances/web1`)
    expect(journal.entries()).toEqual([])
    expectAllUsed()
  })

  it('fails its pre-create check when the instance does not exist', async () => {
    m = new GceMock()
    t = await makeTestDriver({ 'google-project': PROJECT, 'google-use-existing': true })
    m.getInstance(404)
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.code).toBe('google-not-found')
    expect(e.line).toMatch(/No instance web1 in zone us-central1-a/)
    expectAllUsed()
  })
})
