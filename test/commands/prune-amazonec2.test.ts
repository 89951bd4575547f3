/**
 * `machine prune -d amazonec2`, in process against nock: the EC2 Query API as the SDK speaks it
 * (POST / with Action=…, XML answers, NextToken pages), a store that owns one machine's id.
 */
import { describe, expect, it } from 'vitest'
import { filtersOf, type Ec2Mock, type Params } from '../drivers/fixtures/amazonec2/ec2-mock.js'
import { errorXml, response, xml } from '../drivers/fixtures/amazonec2/ec2-xml.js'
import { useEc2Hooks } from '../drivers/fixtures/amazonec2/hooks.js'
import { instance } from '../drivers/fixtures/amazonec2/scenarios.js'
import { expectMockDone } from '../helpers/cloud-mock.js'
import { runPrune, storeMark as mark, storeOwning } from '../helpers/prune.js'
import { tempDir } from '../helpers/tmp.js'

let m: Ec2Mock
useEc2Hooks((mock) => (m = mock), () => undefined, () => {})

const OWNED = '5b0c6c2e-0000-4000-8000-00000000000a'
const LEAK = '5b0c6c2e-0000-4000-8000-00000000000b'
const LEAK2 = '5b0c6c2e-0000-4000-8000-00000000000c'
const ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLETESTONLY1',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYTESTONLYKEY',
  AWS_EC2_METADATA_DISABLED: 'true',
  MACHINE_POLL_INTERVAL_MS: '2',
}
const ARGS = ['-d', 'amazonec2', '--amazonec2-region', 'eu-west-1']

/** The answer's last page unless `next` names one more. */
const paged = (body: string, action: string, next?: string) => (next ? body.replace(`</${action}Response>`, `<nextToken>${next}</nextToken></${action}Response>`) : body)
const tagged = (p: Params) => filtersOf(p)['tag-key']?.[0] === 'machine-id'
const keyPairs = (keys: { name: string; id: string; machine: string }[]) =>
  response(
    'DescribeKeyPairs',
    `<keySet>${keys
      .map(
        (k) =>
          `<item><keyPairId>key-0${k.id.slice(-6)}</keyPairId><keyType>ed25519</keyType><tagSet><item><key>Name</key><value>${k.machine}</value></item><item><key>machine-id</key><value>${k.id}</value></item><item><key>machine-store</key><value>${mark}</value></item></tagSet><createTime>2026-12-01T10:00:00.000Z</createTime><keyName>${k.name}</keyName><keyFingerprint>1f:51:ae:28</keyFingerprint></item>`,
      )
      .join('')}</keySet>`,
  )
const inst = (id: string, machine: string, machineId: string, store = mark) => instance({ id, tags: { Name: machine, 'machine-id': machineId, 'machine-store': store }, groups: [{ id: 'sg-0leak000000000001', name: `${machine}-sg` }] })

/** The listing: instances (pages as given), security groups and key pairs tagged machine-id. */
function arrangeListing(o: { pages: ReturnType<typeof instance>[][]; groups?: Parameters<typeof xml.describeSecurityGroups>[0]; keys?: Parameters<typeof keyPairs>[0] }) {
  o.pages.forEach((page, i) =>
    m.on('DescribeInstances', paged(xml.describeInstances(page), 'DescribeInstances', i < o.pages.length - 1 ? `page-${i + 2}` : undefined), (p) => tagged(p) && p.NextToken === (i ? `page-${i + 1}` : undefined)),
  )
  m.on('DescribeSecurityGroups', xml.describeSecurityGroups(o.groups ?? []), tagged)
  m.on('DescribeKeyPairs', keyPairs(o.keys ?? []), tagged)
}

/** teardown.ts's calls for one leaked instance: terminate, then wait for "terminated". */
function arrangeTerminate(id: string) {
  const byId = (p: Params) => p['InstanceId.1'] === id
  m.on('TerminateInstances', xml.stateChange('TerminateInstances', id, 'shutting-down', 'running'), byId)
  m.on('DescribeInstances', xml.describeInstances([instance({ id, state: 'terminated', publicIp: undefined })]), byId)
}

describe('machine prune -d amazonec2', () => {
  it('lists the leaked machine (not the owned one) and deletes its instance, key pair and security group, in that order', async () => {
    const store = await storeOwning({ web1: ['amazonec2', OWNED] })
    arrangeListing({
      pages: [[inst('i-0owned00000000001', 'web1', OWNED), inst('i-0leak000000000001', 'old1', LEAK)]],
      groups: [{ id: 'sg-0leak000000000001', name: 'old1-sg', tags: { Name: 'old1', 'machine-id': LEAK, 'machine-store': mark } }],
      keys: [
        { name: 'web1-5b0c6c2e', id: OWNED, machine: 'web1' },
        { name: 'old1-5b0c6c2e', id: LEAK, machine: 'old1' },
      ],
    })
    arrangeTerminate('i-0leak000000000001')
    m.on('DeleteKeyPair', xml.deleteKeyPair(), (p) => p.KeyName === 'old1-5b0c6c2e')
    m.on('DeleteSecurityGroup', xml.deleteSecurityGroup('sg-0leak000000000001'), (p) => p.GroupId === 'sg-0leak000000000001')

    const r = await runPrune([...ARGS, '-y', '-s', store], ENV)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const table = r.stdout.split('\n')
    expect(table[0]).toMatch(/^DRIVER\s+KIND\s+NAME\s+MACHINE\s+STORE\s+REGION\s+AGE$/)
    expect(table.slice(1, 4).map((l) => l.split(/\s{2,}/).slice(0, 6))).toEqual([
      ['amazonec2', 'security-group', 'old1-sg (sg-0leak000000000001) (shared)', 'old1', 'this', 'eu-west-1'],
      ['amazonec2', 'key-pair', 'old1-5b0c6c2e', 'old1', 'this', 'eu-west-1'],
      ['amazonec2', 'instance', 'i-0leak000000000001', 'old1', 'this', 'eu-west-1a'],
    ])
    expect(r.stdout).not.toContain('web1')
    expect(r.stdout).toContain('3 resource(s) of 1 machine(s) not in this store')
    expect(r.stdout).toContain('; 2 owned by its machines left alone')
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Deleted 3 of 3 resource\(s\) \(a shared one still in use by another machine is kept/)
    expect(r.stdout).toContain('old1: Deleted security group old1-sg (sg-0leak000000000001)')
    // The instance first: its group can only go once nothing uses it.
    expect(m.actions().slice(3)).toEqual(['TerminateInstances', 'DescribeInstances', 'DeleteKeyPair', 'DeleteSecurityGroup'])
    expectMockDone(m)
  })

  it('follows NextToken through two pages of instances', async () => {
    const store = await storeOwning({})
    arrangeListing({ pages: [[inst('i-0leak000000000001', 'old1', LEAK)], [inst('i-0leak000000000002', 'old2', LEAK2)]] })
    arrangeTerminate('i-0leak000000000001')
    arrangeTerminate('i-0leak000000000002')
    const r = await runPrune([...ARGS, '-y', '-s', store], ENV)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/instance\s+i-0leak000000000001\s+old1/)
    expect(r.stdout).toMatch(/instance\s+i-0leak000000000002\s+old2/)
    expect(m.params('DescribeInstances', 1).NextToken).toBe('page-2')
    expect(r.stdout).toContain('Deleted 2 of 2 resource(s)')
    expectMockDone(m)
  })

  it('a resource that refuses deletion is one line; the other machine is still deleted; the exit is non-zero', async () => {
    const store = await storeOwning({})
    arrangeListing({ pages: [[inst('i-0leak000000000001', 'old1', LEAK), inst('i-0leak000000000002', 'old2', LEAK2)]] })
    m.on('TerminateInstances', { status: 403, body: errorXml('UnauthorizedOperation', 'You are not authorized to perform this operation.') }, (p) => p['InstanceId.1'] === 'i-0leak000000000001')
    arrangeTerminate('i-0leak000000000002')
    const r = await runPrune([...ARGS, '-y', '-s', store], ENV)
    expect(r.code).not.toBe(0)
    const refused = r.stderr.split('\n').filter((l) => l.startsWith('Could not delete'))
    expect(refused).toHaveLength(1)
    expect(refused[0]).toMatch(/^Could not delete amazonec2 machine old1 \(id 5b0c6c2e-0000-4000-8000-00000000000b\): could not delete instance i-0leak000000000001 \(.*not authorized/)
    expect(r.stderr).toContain('Error: Deleted 1 of 2 resource(s); 1 left: instance i-0leak000000000001')
    expect(m.actions()).toContain('TerminateInstances')
    expectMockDone(m)
  })

  it("another store's machines (and unmarked ones) are listed but deleted only with --all-stores", async () => {
    const store = await storeOwning({})
    const elsewhere = inst('i-0else000000000001', 'laptop1', LEAK, '0123456789abcdef')
    const unmarked = inst('i-0else000000000002', 'legacy1', LEAK2, '')
    arrangeListing({ pages: [[elsewhere, unmarked]] })
    const listed = await runPrune([...ARGS, '-y', '-s', store], ENV)
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(/instance\s+i-0else000000000001\s+laptop1\s+other\s/)
    expect(listed.stdout).toMatch(/instance\s+i-0else000000000002\s+legacy1\s+unmarked\s/)
    expect(listed.stdout).toContain('2 of them made from another store or computer (STORE other/unmarked): listed only; pass --all-stores to delete them too')
    expect(m.actions()).not.toContain('TerminateInstances')
    expectMockDone(m)

    arrangeListing({ pages: [[elsewhere, unmarked]] })
    arrangeTerminate('i-0else000000000001')
    arrangeTerminate('i-0else000000000002')
    const all = await runPrune([...ARGS, '-y', '--all-stores', '-s', store], ENV)
    expect(all.code).toBe(0)
    expect(all.stdout).toContain('Deleted 2 of 2 resource(s)')
    expectMockDone(m)
  })

  it('--json: the leaks and what was deleted, as data', async () => {
    const store = await storeOwning({})
    arrangeListing({ pages: [[inst('i-0leak000000000001', 'old1', LEAK)]] })
    arrangeTerminate('i-0leak000000000001')
    const r = await runPrune([...ARGS, '-y', '--json', '-s', store], ENV)
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    const leak = { driver: 'amazonec2', kind: 'instance', name: 'i-0leak000000000001', shared: false, store: 'this', machine: 'old1', machineId: LEAK, region: 'eu-west-1a', createdAt: '2026-11-24T10:00:00.000Z' }
    expect(out).toEqual({ ok: true, command: 'prune', data: { drivers: ['amazonec2'], leaks: [leak], owned: 0, deleted: [leak] } })
    expectMockDone(m)
  })

  it('without -d: asks only the clouds whose credentials are set up here (EC2 keys: no Google or Azure call)', async () => {
    const store = await storeOwning({})
    const home = await tempDir('prune-home-')
    arrangeListing({ pages: [[]] })
    const r = await runPrune(['--amazonec2-region', 'eu-west-1', '-s', store], { ...ENV, HOME: home, CLOUDSDK_CONFIG: home, GOOGLE_APPLICATION_CREDENTIALS: '', AZURE_SUBSCRIPTION_ID: '' })
    expect(r).toEqual({ code: 0, stdout: 'Nothing to prune in amazonec2: no resource made by machine was found\n', stderr: '' })
    expectMockDone(m)
  })

  it('a name tag with a newline or tab stays in its cell, escaped', async () => {
    const store = await storeOwning({})
    arrangeListing({ pages: [[inst('i-0leak000000000001', 'evil\nDeleted 0 of 0\tx', LEAK)]] })
    const r = await runPrune([...ARGS, '-n', '-s', store], ENV)
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')).toHaveLength(4)
    expect(r.stdout).toMatch(/instance\s+i-0leak000000000001\s+evil\\nDeleted 0 of 0\\tx\s+this\s/)
    expectMockDone(m)
  })

  it('nothing to prune: one line, exit 0, nothing deleted', async () => {
    const store = await storeOwning({ web1: ['amazonec2', OWNED] })
    arrangeListing({ pages: [[inst('i-0owned00000000001', 'web1', OWNED)]] })
    const r = await runPrune([...ARGS, '-s', store], ENV)
    expect(r).toEqual({ code: 0, stdout: 'Nothing to prune in amazonec2: all 1 tagged resource(s) belong to machines of this store\n', stderr: '' })
    expectMockDone(m)
  })

  it('without a terminal and without -y: the table, then one line naming -y, and nothing deleted', async () => {
    const store = await storeOwning({})
    arrangeListing({ pages: [[inst('i-0leak000000000001', 'old1', LEAK)]] })
    const r = await runPrune([...ARGS, '-s', store], ENV)
    expect(r.code).not.toBe(0)
    expect(r.stdout).toMatch(/instance\s+i-0leak000000000001\s+old1/)
    expect(r.stderr.trim()).toBe('Error: Refusing to delete 1 resource(s) without confirmation: pass -y to confirm')
    expect(m.actions()).not.toContain('TerminateInstances')
    expectMockDone(m)
  })
})
