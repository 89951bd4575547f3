/**
 * `machine prune -d azure`, in process against nock: Resource Manager's JSON as the SDKs send
 * and read it (subscription listings by resource type with nextLink pages, our tag checked here, DELETE as a long-running
 * operation), a fake token credential injected in place of any sign-in.
 */
import { describe, expect, it } from 'vitest'
import { API, ARM, type ArmMock, armError, LOCATION, listed, rgPath, SUB } from '../drivers/fixtures/azure/arm.js'
import { names, paths } from '../drivers/fixtures/azure/flows.js'
import { useArmHooks } from '../drivers/fixtures/azure/hooks.js'
import { runPrune, storeMark as mark, storeOwning } from '../helpers/prune.js'

let arm: ArmMock
useArmHooks({ tempPrefix: 'prune-azure-', credential: { getToken: async () => ({ token: 'fake', expiresOnTimestamp: Date.now() + 3600e3 }) }, nockDone: true }, (mock) => {
  arm = mock
})

const OWNED = '5b0c6c2e-0000-4000-8000-00000000000a'
const LEAK = '5b0c6c2e-0000-4000-8000-00000000000b'
const LEAK2 = '5b0c6c2e-0000-4000-8000-00000000000c'
const RG = 'docker-machine'
const ENV = { MACHINE_POLL_INTERVAL_MS: '1' }
const ARGS = ['-d', 'azure', '--azure-subscription-id', SUB]
const tags = (machine: string, id: string) => ({ 'machine-name': machine, 'machine-id': id, 'managed-by': 'machine', 'machine-store': mark })

/** What create makes for a machine (that the listing shows): NSG, IP, NIC, OS disk, VM. */
const made = (machine: string, id: string, only?: string[]) =>
  [
    listed(RG, 'Microsoft.Network', 'networkSecurityGroups', `${machine}-firewall`, tags(machine, id)),
    listed(RG, 'Microsoft.Network', 'publicIPAddresses', `${machine}-ip`, tags(machine, id)),
    listed(RG, 'Microsoft.Network', 'networkInterfaces', `${machine}-nic`, tags(machine, id)),
    listed(RG, 'Microsoft.Compute', 'disks', `${machine}-os-disk`, tags(machine, id)),
    listed(RG, 'Microsoft.Compute', 'virtualMachines', machine, tags(machine, id)),
  ].filter((r) => !only || only.includes(String(r.type).split('/')[1] ?? ''))

const TYPES = ['Microsoft.Network/networkSecurityGroups', 'Microsoft.Network/virtualNetworks', 'Microsoft.Compute/availabilitySets', 'Microsoft.Network/publicIPAddresses', 'Microsoft.Network/networkInterfaces', 'Microsoft.Compute/disks', 'Microsoft.Compute/virtualMachines']
const queries: Record<string, string>[] = []
/**
 * The subscription's groups, then its resources listed one type at a time ($filter=resourceType
 * eq '…': ARM drops the tags from a tag-filtered answer), `paged`'s type in two pages linked by
 * nextLink. A resource without our tag is someone else's and must be filtered out.
 */
function arrangeListing(groups: Record<string, unknown>[], resources: Record<string, unknown>[], paged?: string) {
  queries.length = 0
  // nock 15 hands a one-argument reply function the fetch Request.
  const record = (req: Request) => queries.push(Object.fromEntries(new URL(req.url).searchParams))
  arm.scope
    .get(`/subscriptions/${SUB}/resourcegroups`)
    .query(true)
    .reply(((req: Request) => (record(req), [200, { value: groups }])) as never)
  for (const type of TYPES) {
    const all = resources.filter((r) => r.type === type)
    const pages = type === paged ? [all.slice(0, 1), all.slice(1)] : [all]
    pages.forEach((value, i) => {
      const next = i < pages.length - 1 ? `${ARM}/subscriptions/${SUB}/resources?%24filter=${encodeURIComponent(`resourceType eq '${type}'`)}&%24expand=createdTime&api-version=${API.resources}&%24skiptoken=page${i + 2}` : undefined
      arm.scope
        .get(`/subscriptions/${SUB}/resources`)
        .query((q) => q.$filter === `resourceType eq '${type}'` && (i ? q.$skiptoken === `page${i + 1}` : !q.$skiptoken))
        .reply(((req: Request) => (record(req), [200, { value, ...(next ? { nextLink: next } : {}) }])) as never)
    })
  }
}

/** teardown.ts for a machine: the VM, its disk, NIC, IP and NSG, each a long-running DELETE. */
function arrangeDelete(machine: string) {
  const p = paths(names(machine))
  arm.deleteLro(p.vm, API.compute, 'Microsoft.Compute').deleteLro(p.disk, API.disks, 'Microsoft.Compute').deleteLro(p.nic, API.network, 'Microsoft.Network')
  arm.deleteLro(p.ip, API.network, 'Microsoft.Network').deleteLro(p.nsg, API.network, 'Microsoft.Network')
}

describe('machine prune -d azure', () => {
  it('deletes the leaked machine VM first, then its disk, NIC, IP and NSG; the owned machine and group are left alone', async () => {
    const store = await storeOwning({ web1: ['azure', OWNED] })
    const group = { id: rgPath(RG), name: RG, type: 'Microsoft.Resources/resourceGroups', location: LOCATION, tags: tags('web1', OWNED) }
    const theirs = { id: rgPath('other-rg'), name: 'other-rg', type: 'Microsoft.Resources/resourceGroups', location: LOCATION, tags: { team: 'data' } }
    const someoneElses = listed('other-rg', 'Microsoft.Compute', 'virtualMachines', 'db1', { team: 'data' })
    arrangeListing([group, theirs], [...made('web1', OWNED), ...made('old1', LEAK), someoneElses])
    arrangeDelete('old1')
    const r = await runPrune([...ARGS, '-y', '-s', store], ENV)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const rows = r.stdout.split('\n').slice(1, 6).map((l) => l.split(/\s{2,}/).slice(0, 6))
    expect(rows).toEqual([
      ['azure', 'network-security-group', `${RG}/old1-firewall`, 'old1', 'this', LOCATION],
      ['azure', 'public-ip', `${RG}/old1-ip`, 'old1', 'this', LOCATION],
      ['azure', 'network-interface', `${RG}/old1-nic`, 'old1', 'this', LOCATION],
      ['azure', 'os-disk', `${RG}/old1-os-disk`, 'old1', 'this', LOCATION],
      ['azure', 'virtual-machine', `${RG}/old1`, 'old1', 'this', LOCATION],
    ])
    expect(r.stdout).not.toMatch(/web1/)
    expect(r.stdout).toContain('5 resource(s) of 1 machine(s) not in this store')
    expect(r.stdout).toContain('; 6 owned by its machines left alone')
    expect(r.stdout).toContain('Deleted 5 of 5 resource(s)')
    const p = paths(names('old1'))
    expect(arm.writes()).toEqual([`DELETE ${p.vm}`, `DELETE ${p.disk}`, `DELETE ${p.nic}`, `DELETE ${p.ip}`, `DELETE ${p.nsg}`])
    expect(r.stdout).not.toMatch(/db1|other-rg/)
    expect(queries.map((q) => q.$filter).sort()).toEqual([undefined, ...TYPES.map((t) => `resourceType eq '${t}'`)].sort())
  })

  it('follows nextLink through two pages of resources', async () => {
    const store = await storeOwning({})
    arrangeListing([], [...made('old1', LEAK, ['virtualMachines']), ...made('old2', LEAK2, ['virtualMachines'])], 'Microsoft.Compute/virtualMachines')
    arm.deleteLro(paths(names('old1')).vm, API.compute, 'Microsoft.Compute').deleteLro(paths(names('old2')).vm, API.compute, 'Microsoft.Compute')
    const r = await runPrune([...ARGS, '-y', '-s', store], ENV)
    expect(r.code).toBe(0)
    expect(queries.filter((q) => q.$skiptoken).map((q) => [q.$filter, q.$skiptoken])).toEqual([["resourceType eq 'Microsoft.Compute/virtualMachines'", 'page2']])
    expect(r.stdout).toMatch(/virtual-machine\s+docker-machine\/old1\s+old1/)
    expect(r.stdout).toMatch(/virtual-machine\s+docker-machine\/old2\s+old2/)
    expect(r.stdout).toContain('Deleted 2 of 2 resource(s)')
  })

  it('a VM that refuses deletion is one line and keeps what depends on it; the other machine is deleted; the exit is non-zero', async () => {
    const store = await storeOwning({})
    arrangeListing([], [...made('old1', LEAK, ['networkInterfaces', 'virtualMachines']), ...made('old2', LEAK2, ['networkInterfaces', 'virtualMachines'])])
    const p1 = paths(names('old1'))
    arm.deleteReply(p1.vm, API.compute, 403, armError('AuthorizationFailed', `The client 'machine-test' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/delete' over scope '${p1.vm}'.`))
    const p2 = paths(names('old2'))
    arm.deleteLro(p2.vm, API.compute, 'Microsoft.Compute').deleteLro(p2.nic, API.network, 'Microsoft.Network')
    const r = await runPrune([...ARGS, '-y', '-s', store], ENV)
    expect(r.code).not.toBe(0)
    const refused = r.stderr.split('\n').filter((l) => l.startsWith('Could not delete'))
    expect(refused).toHaveLength(1)
    expect(refused[0]).toMatch(/^Could not delete azure machine old1 \(id 5b0c6c2e-0000-4000-8000-00000000000b\): could not delete virtual machine old1: .*\(AuthorizationFailed\)/)
    expect(refused[0]).toContain('still in Azure: virtual machine old1, network interface old1-nic')
    expect(r.stderr).toContain('Error: Deleted 2 of 4 resource(s); 2 left: network-interface docker-machine/old1-nic, virtual-machine docker-machine/old1')
    // old1's NIC was never tried: its VM still holds it.
    expect(arm.writes()).toEqual([`DELETE ${p1.vm}`, `DELETE ${p2.vm}`, `DELETE ${p2.nic}`])
  })

  it('nothing to prune: one line, exit 0', async () => {
    const store = await storeOwning({})
    arrangeListing([], [])
    const r = await runPrune([...ARGS, '-s', store], ENV)
    expect(r).toEqual({ code: 0, stdout: 'Nothing to prune in azure: no resource made by machine was found\n', stderr: '' })
  })
})
