// The azure driver and swarm mode, against a nock'ed Resource Manager (fixtures/azure/arm.ts):
// a machine made for a cluster gets NSG rules for 2377/tcp, 7946/tcp+udp and 4789/udp whose
// source is the VirtualNetwork service tag (never the Internet), in its own NSG, which rm deletes
// with the machine while a neighbour's NSG keeps its own; nodes advertise their private address.
import { describe, expect, it } from 'vitest'
import azureDefinition from '../../drivers/azure/index.js'
import type { DriverDefinition } from '../../src/driver-kit/contract.js'
import { withClusterDefaults } from '../../src/driver-kit/options.js'
import { ArmMock, PRIVATE_IP, PUBLIC_IP, SUB } from './fixtures/azure/arm.js'
import { arrangeCreate, arrangeNicRead, arrangePreCheck, arrangeRemove, names, paths, type Names } from './fixtures/azure/flows.js'
import { type Setup, setupDriver, useArmHooks } from './fixtures/azure/hooks.js'

const azure: DriverDefinition = azureDefinition
const n: Names = names('web1')
const p = paths(n)
let arm: ArmMock
let store = ''

useArmHooks({ tempPrefix: 'azure-swarm-', credential: { getToken: async () => ({ token: 'fake', expiresOnTimestamp: Date.now() + 3600e3 }) } }, (mock, dir) => {
  arm = mock
  store = dir
})

/** `cluster`: the flags of `create --swarm…` (the driver's cluster defaults applied). */
async function setup(flags: Record<string, unknown> = {}, cluster = false, env: NodeJS.ProcessEnv = {}): Promise<Setup> {
  return setupDriver(cluster ? withClusterDefaults('azure', azure.options, { 'azure-subscription-id': SUB, ...flags }, env) : flags, env, store)
}

async function created(cluster: boolean): Promise<Setup> {
  const s = await setup({}, cluster)
  arrangePreCheck(arm, n, { group: 'missing' })
  arrangeCreate(arm, n, { groupExists: false, vnet: 'create' })
  await s.driver.preCreateCheck()
  await s.driver.create(s.journal)
  return s
}

type Rule = { name: string; properties: Record<string, unknown> }
const ruleRows = (rules: Rule[]) =>
  rules.map((r) => [r.name, r.properties.protocol, r.properties.destinationPortRange, r.properties.sourceAddressPrefix, r.properties.access, r.properties.direction])

describe('azure swarm rules', () => {
  it('a machine made for a cluster: exactly the swarm ports, from the VirtualNetwork service tag only', async () => {
    const { ctx } = await created(true)
    const rules = arm.bodyOf('PUT', p.nsg).properties.securityRules as Rule[]
    expect(ruleRows(rules)).toEqual([
      ['SSHAllowAny', 'Tcp', '22', '*', 'Allow', 'Inbound'],
      ['DockerAllowAny', 'Tcp', '2376', '*', 'Allow', 'Inbound'],
      ['SwarmManagerFromVnet', 'Tcp', '2377', 'VirtualNetwork', 'Allow', 'Inbound'],
      ['SwarmGossipTcpFromVnet', 'Tcp', '7946', 'VirtualNetwork', 'Allow', 'Inbound'],
      ['SwarmGossipUdpFromVnet', 'Udp', '7946', 'VirtualNetwork', 'Allow', 'Inbound'],
      ['SwarmOverlayFromVnet', 'Udp', '4789', 'VirtualNetwork', 'Allow', 'Inbound'],
    ])
    expect(ctx.config.SwarmPorts).toBe(true)
  })

  it('a lone machine (no --swarm*) gets none of them', async () => {
    await created(false)
    const rules = arm.bodyOf('PUT', p.nsg).properties.securityRules as Rule[]
    expect(rules.map((r) => r.name)).toEqual(['SSHAllowAny', 'DockerAllowAny'])
    expect(rules.map((r) => r.properties.sourceAddressPrefix)).toEqual(['*', '*'])
  })

  it('AZURE_SWARM_PORTS=false turns them off for a cluster machine', async () => {
    const s = await setup({}, true, { AZURE_SWARM_PORTS: 'false' })
    arrangePreCheck(arm, n, { group: 'missing' })
    arrangeCreate(arm, n, { groupExists: false, vnet: 'create' })
    await s.driver.preCreateCheck()
    await s.driver.create(s.journal)
    expect((arm.bodyOf('PUT', p.nsg).properties.securityRules as Rule[]).map((r) => r.name)).toEqual(['SSHAllowAny', 'DockerAllowAny'])
  })

  it('go with the machine: rm deletes its NSG (and so its rules) while the shared network another machine uses is kept', async () => {
    const { driver, journal, logs } = await created(true)
    arm.requests.length = 0
    arrangeRemove(arm, n, { vm: true, disk: 'deleted-with-vm', nic: true, ip: true, vnet: 'ours-in-use', nsg: true, group: 'ours-not-empty' })
    await driver.remove(journal)
    expect(arm.writes()).toEqual([`DELETE ${p.vm}`, `DELETE ${p.disk}`, `DELETE ${p.nic}`, `DELETE ${p.ip}`, `DELETE ${p.nsg}`])
    expect(logs).toContain('Deleted network security group web1-firewall')
    expect(journal.entries()).toEqual([])
  })
})

describe('azure clusterAddress', () => {
  it('is the private address saved at create', async () => {
    const { ctx, driver } = await created(true)
    expect(ctx.config.PrivateIPAddress).toBe(PRIVATE_IP)
    arm.requests.length = 0
    expect(await driver.clusterAddress!()).toBe(PRIVATE_IP)
    expect(arm.requests).toEqual([])
  })

  it("is read from the NIC when not saved", async () => {
    const { ctx, driver } = await setup()
    ctx.config.IPAddress = PUBLIC_IP
    arrangeNicRead(arm, n)
    expect(await driver.clusterAddress!()).toBe(PRIVATE_IP)
    expect(ctx.config.PrivateIPAddress).toBe(PRIVATE_IP)
  })
})
