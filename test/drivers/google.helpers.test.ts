/**
 * The google driver's pure helpers (image specs, gcloud config, firewall rule contents, error
 * classes) and the custom endpoint, which sends every request to the given host.
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import {
  fallbackProject,
  firewallAllowed,
  firewallRuleName,
  iniValue,
  networkProject,
  parseImage,
  parseScopes,
  sameAllowed,
} from '../../drivers/google/config.js'
import { classify, operationError } from '../../drivers/google/errors.js'
import { stateOf } from '../../drivers/google/driver.js'
import { firewall, GceMock, instance, makeTestDriver, operation, PROJECT, ZONE, type TestCtx, useGceHooks } from './fixtures/google/gce.js'
import { tempDir } from '../helpers/tmp.js'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

describe('google image specs', () => {
  it('accepts every way people write an image', () => {
    expect(parseImage('projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64', 'p')).toEqual({ project: 'ubuntu-os-cloud', family: 'ubuntu-2404-lts-amd64' })
    expect(parseImage('https://www.googleapis.com/compute/v1/projects/cos-cloud/global/images/cos-113-18244-85-49', 'p')).toEqual({ project: 'cos-cloud', image: 'cos-113-18244-85-49' })
    expect(parseImage('https://compute.googleapis.com/compute/v1/projects/debian-cloud/global/images/family/debian-12', 'p')).toEqual({ project: 'debian-cloud', family: 'debian-12' })
    // docker-machine's own default form
    expect(parseImage('ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20170721', 'p')).toEqual({ project: 'ubuntu-os-cloud', image: 'ubuntu-1604-xenial-v20170721' })
    expect(parseImage('global/images/my-golden', 'p')).toEqual({ project: 'p', image: 'my-golden' })
    expect(parseImage('my-golden', 'p')).toEqual({ project: 'p', image: 'my-golden' })
    expect(() => parseImage('projects/x/zones/y/disks/z', 'p')).toThrow(/is not an image/)
  })
})

describe('google project discovery', () => {
  let home = ''

  it('reads the active gcloud configuration, then the key file', async () => {
    home = await tempDir('gcloud-')
    const dir = join(home, '.config', 'gcloud')
    await mkdir(join(dir, 'configurations'), { recursive: true })
    await writeFile(join(dir, 'active_config'), 'work\n')
    await writeFile(join(dir, 'configurations', 'config_default'), '[core]\nproject = personal\n')
    await writeFile(join(dir, 'configurations', 'config_work'), '# comment\n[compute]\nproject = not-this\n[core]\nproject = team-proj\n')
    expect(await fallbackProject({ HOME: home })).toEqual({ project: 'team-proj', from: join(dir, 'configurations', 'config_work') })
    expect((await fallbackProject({ HOME: home, CLOUDSDK_ACTIVE_CONFIG_NAME: 'default' }))?.project).toBe('personal')
    const key = join(home, 'key.json')
    await writeFile(key, JSON.stringify({ type: 'service_account', project_id: 'from-key' }))
    expect((await fallbackProject({ HOME: join(home, 'nowhere'), GOOGLE_APPLICATION_CREDENTIALS: key }))?.project).toBe('from-key')
    expect(await fallbackProject({ HOME: join(home, 'nowhere') })).toBeUndefined()
    expect(iniValue('[core]\nproject =\n', 'core', 'project')).toBeUndefined()
  })

  it('reads gcloud\'s configuration file as gcloud writes it', () => {
    const file = '[core]\r\naccount = someone@example.com\r\n; disable_usage_reporting = True\r\nproject=p-1\r\n\r\n[compute]\r\nzone = europe-west1-b\r\n'
    expect(iniValue(file, 'core', 'project')).toBe('p-1')
    expect(iniValue(file, 'compute', 'zone')).toBe('europe-west1-b')
    expect(iniValue(file, 'compute', 'project')).toBeUndefined()
    expect(iniValue(file, 'core', 'disable_usage_reporting')).toBeUndefined()
    expect(iniValue('project = outside-any-section\n', 'core', 'project')).toBeUndefined()
  })
})

describe('google firewall contents', () => {
  it('always SSH and the engine port, plus open ports by protocol; one name per network and port set', () => {
    expect(firewallAllowed([])).toEqual([{ IPProtocol: 'tcp', ports: ['22', '2376'] }])
    expect(firewallAllowed(['2376/tcp', '80', '53/udp', '22'])).toEqual([
      { IPProtocol: 'tcp', ports: ['22', '80', '2376'] },
      { IPProtocol: 'udp', ports: ['53'] },
    ])
    const a = firewallRuleName('projects/p/global/networks/default', firewallAllowed(['80']))
    expect(a).toBe(firewallRuleName('projects/p/global/networks/default', firewallAllowed(['80/tcp'])))
    expect(a).not.toBe(firewallRuleName('projects/p/global/networks/other', firewallAllowed(['80'])))
    expect(a).not.toBe(firewallRuleName('projects/p/global/networks/default', firewallAllowed([])))
    expect(sameAllowed([{ IPProtocol: 'tcp', ports: ['2376', '22'] }], firewallAllowed([]))).toBe(true)
    expect(sameAllowed([{ IPProtocol: 'tcp', ports: ['22', '2376', '80'] }], firewallAllowed([]))).toBe(false)
    expect(networkProject('projects/host-proj/global/networks/shared', 'svc')).toBe('host-proj')
    expect(networkProject('default', 'svc')).toBe('svc')
    expect(parseScopes('cloud-platform, https://www.googleapis.com/auth/logging.write')).toEqual([
      'https://www.googleapis.com/auth/cloud-platform',
      'https://www.googleapis.com/auth/logging.write',
    ])
  })
})

describe('google error classes', () => {
  it('tells throttling, quota, permission, auth and missing apart', () => {
    expect(classify({ httpStatusCode: 429, message: "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'" })).toBe('throttled')
    expect(classify({ httpStatusCode: 403, message: 'Rate Limit Exceeded' })).toBe('throttled')
    expect(classify({ httpStatusCode: 403, message: "Quota 'CPUS' exceeded.  Limit: 8.0 in region us-central1." })).toBe('quota')
    expect(classify({ httpStatusCode: 403, message: "Required 'compute.instances.insert' permission" })).toBe('permission')
    expect(classify({ httpStatusCode: 401, message: 'Request had invalid authentication credentials.' })).toBe('auth')
    expect(classify(new Error('Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started'))).toBe('auth')
    expect(classify({ code: 5, message: 'not found' })).toBe('not-found')
    expect(classify({ httpStatusCode: 409, message: "The resource 'x' already exists" })).toBe('conflict')
    expect(classify({ httpStatusCode: 503, message: 'Backend Error' })).toBe('unavailable')
    expect(operationError({ error: { errors: [{ code: 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS', message: 'no room' }] } }, 'create instance x', 'p')?.code).toBe('google-capacity')
    expect(operationError({}, 'x', 'p')).toBeUndefined()
  })

  it('maps GCE statuses to machine states', () => {
    expect(['PROVISIONING', 'STAGING', 'RUNNING', 'STOPPING', 'SUSPENDING', 'SUSPENDED', 'TERMINATED', 'STOPPED', 'WEIRD'].map(stateOf)).toEqual([
      'Starting',
      'Starting',
      'Running',
      'Stopping',
      'Stopping',
      'Stopped',
      'Stopped',
      'Stopped',
      'Error',
    ])
  })
})

describe('google --google-endpoint', () => {
  let m: GceMock | undefined
  let t: TestCtx | undefined
  useGceHooks(() => ({ m, t }), () => (t = undefined))

  it('sends every request to the given endpoint, with an OAuth token from the key', async () => {
    const origin = 'http://127.0.0.1:18787'
    // Off the default endpoint the library exchanges its signed JWT for an access token.
    let grant = ''
    const token = nock('https://oauth2.googleapis.com')
      .post('/token', (b: Record<string, string>) => {
        grant = b.grant_type ?? ''
        return typeof b.assertion === 'string'
      })
      .reply(200, { access_token: 'ya29.c.b0AXv0zTtestonly', expires_in: 3599, token_type: 'Bearer' })
    m = new GceMock(origin, /^Bearer ya29\.c\.b0AXv0zTtestonly$/)
    t = await makeTestDriver({ 'google-project': PROJECT, 'google-endpoint': origin, 'google-machine-image': 'projects/my-images/global/images/base' })
    const rule = firewallRuleName(`projects/${PROJECT}/global/networks/default`, firewallAllowed([]))
    const insOp = operation({ type: 'insert', target: `projects/${PROJECT}/zones/${ZONE}/instances/web1`, zone: ZONE, status: 'DONE' })
    m.getFirewall(rule, firewall(rule, [{ IPProtocol: 'tcp', ports: ['22', '2376'] }])).insertInstance(200, insOp).getInstance(instance())
    await t.driver.create(new MemoryJournal())
    expect(m.calls.map((c) => c.call)).toEqual([`GET global/firewalls/${rule}`, `POST zones/${ZONE}/instances`, `GET zones/${ZONE}/instances/web1`])
    expect(t.ctx.config.Endpoint).toBe(origin)
    expect(grant).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer')
    expect(token.isDone()).toBe(true)
    expect(m.unmatched).toEqual([])
    expect(m.pending()).toEqual([])
  })
})
