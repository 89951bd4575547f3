/**
 * `machine prune -d google`, in process against nock: Compute Engine's REST API as
 * @google-cloud/compute calls it (aggregated lists with nextPageToken, operations), a service
 * account key file made for the test (the library signs its own JWTs: no token endpoint).
 */
import { describe, expect, it } from 'vitest'
import { GceMock, PROJECT, ZONE, aggregated, apiError, instance, operation, useGceHooks, writeKeyFile } from '../drivers/fixtures/google/gce.js'
import { runPrune, storeMark as mark, storeOwning } from '../helpers/prune.js'
import { tempDir } from '../helpers/tmp.js'
import { expectMockDone } from '../helpers/cloud-mock.js'

let m: GceMock | undefined
useGceHooks(() => ({ m }), () => (m = undefined))

const OWNED = '5b0c6c2e-0000-4000-8000-00000000000a'
const LEAK = '5b0c6c2e-0000-4000-8000-00000000000b'
const LEAK2 = '5b0c6c2e-0000-4000-8000-00000000000c'
const RULE = 'docker-machines-0f3a9c1d2e'
const base = `/compute/v1/projects/${PROJECT}`
const labels = (name: string, id: string, store = mark) => ({ 'machine-name': name, 'machine-id': id, 'machine-store': store, 'machine-firewall': RULE })
const vm = (name: string, id: string, n: number, store = mark) => instance({ name, id: String(8523971503412345000 + n), labels: labels(name, id, store), tags: [RULE] })
const ARGS = ['-d', 'google', '--google-project', PROJECT]

async function env(): Promise<Record<string, string>> {
  const dir = await tempDir('prune-google-')
  return { HOME: dir, GOOGLE_APPLICATION_CREDENTIALS: await writeKeyFile(dir), METADATA_SERVER_DETECTION: 'none', MACHINE_POLL_INTERVAL_MS: '5' }
}

const noDisks = { kind: 'compute#diskAggregatedList', id: `projects/${PROJECT}/aggregated/disks`, items: {}, selfLink: '' }

/** The listing: labelled instances, one page per list (each but the last with a nextPageToken), then disks. */
function arrangeListing(mock: GceMock, pages: Array<Array<Record<string, unknown>>>) {
  pages.forEach((p, i) => mock.on('GET', `${base}/aggregated/instances`, 200, { ...aggregated(p), ...(i < pages.length - 1 ? { nextPageToken: `page-${i + 2}` } : {}) }, `list instances ${i + 1}`))
  mock.on('GET', `${base}/aggregated/disks`, 200, noDisks, 'list disks')
}

/** remove.ts for one instance: read it (same id), delete it, wait for the operation. */
function arrangeDelete(mock: GceMock, inst: Record<string, unknown>) {
  const name = String(inst.name)
  const op = operation({ type: 'delete', target: `projects/${PROJECT}/zones/${ZONE}/instances/${name}`, zone: ZONE })
  mock.getInstance(inst, name).deleteInstance(200, op, name).waitZoneOp({ ...op, status: 'DONE' })
}

describe('machine prune -d google', () => {
  it('deletes the leaked instance and keeps the firewall rule the owned machine still uses', async () => {
    const store = await storeOwning({ web1: ['google', OWNED] })
    m = new GceMock()
    const leak = vm('old1', LEAK, 1)
    arrangeListing(m, [[vm('web1', OWNED, 0), leak]])
    arrangeDelete(m, leak)
    // The rule's users, asked after the instance is gone: web1 still carries its label.
    m.on('GET', `${base}/aggregated/instances`, 200, aggregated([vm('web1', OWNED, 0)]), 'rule users')
    const r = await runPrune([...ARGS, '-y', '-s', store], await env())
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const rows = r.stdout.split('\n').slice(1, 3).map((l) => l.split(/\s{2,}/).slice(0, 6))
    expect(rows).toEqual([
      ['google', 'firewall', `${RULE} (shared)`, 'old1', 'this', 'global'],
      ['google', 'instance', 'old1', 'old1', 'this', ZONE],
    ])
    expect(r.stdout).not.toMatch(/instance\s+web1/)
    expect(r.stdout).toContain(`old1: Keeping firewall rule ${RULE}: still used by web1`)
    expect(r.stdout).toContain('Deleted 2 of 2 resource(s) (a shared one still in use by another machine is kept')
    expect(m.names()).toEqual(['list instances 1', 'list disks', 'GET zones/us-central1-a/instances/old1', 'DELETE zones/us-central1-a/instances/old1', 'wait delete', 'rule users'])
    expect(m.find('list instances 1').query.filter).toBe('labels.machine-id:*')
    expectMockDone({ unmatched: m.unmatched, pending: () => m!.pending() })
  })

  it('follows nextPageToken through two pages, and deletes the rule once no instance uses it', async () => {
    const store = await storeOwning({})
    m = new GceMock()
    const [a, b] = [vm('old1', LEAK, 1), vm('old2', LEAK2, 2)]
    arrangeListing(m, [[a], [b]])
    arrangeDelete(m, a)
    m.on('GET', `${base}/aggregated/instances`, 200, aggregated([b]), 'rule users 1')
    arrangeDelete(m, b)
    m.on('GET', `${base}/aggregated/instances`, 200, aggregated([]), 'rule users 2')
    const fw = operation({ type: 'delete', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
    m.deleteFirewall(RULE, 200, fw).waitGlobalOp({ ...fw, status: 'DONE' })
    const r = await runPrune([...ARGS, '-y', '-s', store], await env())
    expect(r.code).toBe(0)
    expect(m.find('list instances 2').query.pageToken).toBe('page-2')
    expect(r.stdout).toMatch(/instance\s+old1/)
    expect(r.stdout).toMatch(/instance\s+old2/)
    expect(r.stdout).toContain(`old2: Deleting firewall rule ${RULE}`)
    expect(r.stdout).toContain('Deleted 4 of 4 resource(s)')
    expectMockDone({ unmatched: m.unmatched, pending: () => m!.pending() })
  })

  it('an instance that refuses deletion is one line; the other machine is still deleted; the exit is non-zero', async () => {
    const store = await storeOwning({})
    m = new GceMock()
    const [a, b] = [vm('old1', LEAK, 1), vm('old2', LEAK2, 2)]
    arrangeListing(m, [[a, b]])
    m.getInstance(a, 'old1').deleteInstance(403, apiError(403, "Required 'compute.instances.delete' permission for 'projects/my-proj/zones/us-central1-a/instances/old1'", 'forbidden'), 'old1')
    // old1 is still there: its rule is kept (listed as used by old1, then by old1 alone).
    m.on('GET', `${base}/aggregated/instances`, 200, aggregated([a, b]), 'rule users 1')
    arrangeDelete(m, b)
    m.on('GET', `${base}/aggregated/instances`, 200, aggregated([a]), 'rule users 2')
    const r = await runPrune([...ARGS, '-y', '-s', store], await env())
    expect(r.code).not.toBe(0)
    const refused = r.stderr.split('\n').filter((l) => l.startsWith('Could not delete'))
    expect(refused).toHaveLength(1)
    expect(refused[0]).toMatch(/^Could not delete google machine old1 \(id 5b0c6c2e-0000-4000-8000-00000000000b\): Could not delete instance old1 \(.*compute\.instances\.delete/)
    expect(r.stderr).toContain('Error: Deleted 3 of 4 resource(s)')
    expect(r.stderr).toContain('1 left: instance old1')
    expect(m.names()).toContain('DELETE zones/us-central1-a/instances/old2')
    expectMockDone({ unmatched: m.unmatched, pending: () => m!.pending() })
  })

  it("another store's instance is listed, not deleted; an adopted instance (--google-use-existing) is never listed", async () => {
    const store = await storeOwning({})
    m = new GceMock()
    const adopted = { ...vm('legacy-vm', LEAK2, 3), description: 'the user’s own instance' }
    arrangeListing(m, [[vm('laptop1', LEAK, 1, '0123456789abcdef'), adopted]])
    const r = await runPrune([...ARGS, '-y', '-s', store], await env())
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/instance\s+laptop1\s+laptop1\s+other\s/)
    expect(r.stdout).not.toContain('legacy-vm')
    expect(r.stdout).toContain('listed only; pass --all-stores to delete them too')
    expect(m.names()).toEqual(['list instances 1', 'list disks'])
    expectMockDone({ unmatched: m.unmatched, pending: () => m!.pending() })
  })

  it('an unattached disk left behind is deleted; an attached one is not listed (it goes with its instance)', async () => {
    const store = await storeOwning({})
    m = new GceMock()
    const disk = (name: string, users: string[]) => ({
      kind: 'compute#disk',
      id: '4412039485710293847',
      creationTimestamp: '2026-11-27T01:02:04.111-08:00',
      name,
      sizeGb: '10',
      zone: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}`,
      status: 'READY',
      labels: { 'machine-name': name, 'machine-id': LEAK, 'machine-store': mark },
      ...(users.length ? { users } : {}),
      selfLink: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}/disks/${name}`,
    })
    m.on('GET', `${base}/aggregated/instances`, 200, aggregated([]), 'list instances')
    m.on('GET', `${base}/aggregated/disks`, 200, { kind: 'compute#diskAggregatedList', items: { [`zones/${ZONE}`]: { disks: [disk('old3', []), disk('busy', [`projects/${PROJECT}/zones/${ZONE}/instances/busy`])] } } }, 'list disks')
    const op = operation({ type: 'delete', target: `projects/${PROJECT}/zones/${ZONE}/disks/old3`, zone: ZONE, status: 'DONE' })
    m.getDisk('old3', disk('old3', [])).on('DELETE', `${base}/zones/${ZONE}/disks/old3`, 200, op)
    const r = await runPrune([...ARGS, '-y', '-s', store], await env())
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/disk\s+old3\s+old3\s+this\s+us-central1-a\s/)
    expect(r.stdout).not.toContain('busy')
    expect(r.stdout).toContain('Deleted 1 of 1 resource(s)')
    expect(m.names()).toEqual(['list instances', 'list disks', 'GET zones/us-central1-a/disks/old3', 'DELETE zones/us-central1-a/disks/old3'])
    expectMockDone({ unmatched: m.unmatched, pending: () => m!.pending() })
  })

  it('nothing to prune: one line, exit 0', async () => {
    const store = await storeOwning({})
    m = new GceMock()
    arrangeListing(m, [[]])
    const r = await runPrune([...ARGS, '-s', store], await env())
    expect(r).toEqual({ code: 0, stdout: 'Nothing to prune in google: no resource made by machine was found\n', stderr: '' })
    expectMockDone({ unmatched: m.unmatched, pending: () => m!.pending() })
  })
})
