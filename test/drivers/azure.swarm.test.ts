// The azure driver and swarm mode, against a nock'ed Resource Manager (fixtures/azure/arm.ts):
// a machine made for a cluster gets NSG rules for 2377/tcp, 7946/tcp+udp and 4789/udp whose
// source is the VirtualNetwork service tag (never the Internet), in its own NSG, which rm deletes
// with the machine while a neighbour's NSG keeps its own; nodes advertise their private address.
import { describe, expect, it } from 'vitest'
import azureDefinition from '../../drivers/azure/index.js'
import type { DriverDefinition } from '../../src/driver-kit/contract.js'
import { withClusterDefaults } from '../../src/driver-kit/options.js'
import { API, ArmMock, armError, nsgResource, PRIVATE_IP, PUBLIC_IP, SUB } from './fixtures/azure/arm.js'
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

describe('azure swarm rules of an existing machine (swarm init/join, leave)', () => {
  const RULES = ['SwarmManagerFromVnet', 'SwarmGossipTcpFromVnet', 'SwarmGossipUdpFromVnet', 'SwarmOverlayFromVnet']
  const rulePath = (name: string) => `${p.nsg}/securityRules/${name}`
  /** The NSG as a lone create made it (SSH and the engine), plus `extra` rules. */
  const nsg = (extra: string[] = []) =>
    nsgResource(n.rg, `${n.machine}-firewall`, {
      location: 'westus',
      properties: {
        securityRules: [
          { name: 'SSHAllowAny', properties: { protocol: 'Tcp', destinationPortRange: '22', sourceAddressPrefix: '*', access: 'Allow', priority: 300, direction: 'Inbound' } },
          { name: 'DockerAllowAny', properties: { protocol: 'Tcp', destinationPortRange: '2376', sourceAddressPrefix: '*', access: 'Allow', priority: 301, direction: 'Inbound' } },
          ...extra.map((name) => ({ name, properties: { protocol: 'Tcp', destinationPortRange: '2377', sourceAddressPrefix: 'VirtualNetwork', access: 'Allow', priority: 310, direction: 'Inbound' } })),
        ],
      },
    })
  /** The journal of a machine whose NSG machine made. */
  async function existing(flags: Record<string, unknown> = {}, cluster = true): Promise<Setup> {
    const s = await setup(flags, cluster)
    await s.journal.record({ kind: 'network-security-group', id: p.nsg, data: { resourceGroup: n.rg, name: `${n.machine}-firewall` } })
    return s
  }
  const ruleEcho = (name: string) => (req: Record<string, unknown>) => ({ name, id: rulePath(name), type: 'Microsoft.Network/networkSecurityGroups/securityRules', ...req })

  it('join: the swarm rules its NSG lacks are added, from the VirtualNetwork tag only; leave deletes them', async () => {
    const { driver, journal, logs } = await existing()
    arm.get(p.nsg, API.network, 200, nsg())
    for (const r of RULES) arm.putLro(rulePath(r), API.network, 'Microsoft.Network', ruleEcho(r))
    await driver.openClusterPorts!(journal)
    expect(arm.writes()).toEqual(RULES.map((r) => `PUT ${rulePath(r)}`))
    expect(RULES.map((r) => arm.bodyOf('PUT', rulePath(r)).properties)).toEqual([
      expect.objectContaining({ protocol: 'Tcp', destinationPortRange: '2377', sourceAddressPrefix: 'VirtualNetwork', access: 'Allow', direction: 'Inbound', priority: 310 }),
      expect.objectContaining({ protocol: 'Tcp', destinationPortRange: '7946', sourceAddressPrefix: 'VirtualNetwork', priority: 311 }),
      expect.objectContaining({ protocol: 'Udp', destinationPortRange: '7946', sourceAddressPrefix: 'VirtualNetwork', priority: 312 }),
      expect.objectContaining({ protocol: 'Udp', destinationPortRange: '4789', sourceAddressPrefix: 'VirtualNetwork', priority: 313 }),
    ])
    expect(logs).toContain('Opening 2377/tcp, 7946/tcp, 7946/udp, 4789/udp from the virtual network in network security group web1-firewall (swarm mode)…')

    arm.requests.length = 0
    arm.get(p.nsg, API.network, 200, nsg(RULES))
    for (const r of RULES) arm.deleteLro(rulePath(r), API.network, 'Microsoft.Network')
    await driver.closeClusterPorts!(journal)
    expect(arm.writes()).toEqual(RULES.map((r) => `DELETE ${rulePath(r)}`))
    expect(logs).toContain('Closed 2377/tcp, 7946/tcp, 7946/udp, 4789/udp in network security group web1-firewall')
  })

  it('rules already there: nothing changed', async () => {
    const { driver, journal } = await existing()
    arm.get(p.nsg, API.network, 200, nsg(RULES))
    await driver.openClusterPorts!(journal)
    expect(arm.writes()).toEqual([])
  })

  it('refused by Azure: one line naming the rule, nothing else tried', async () => {
    const { driver, journal } = await existing()
    arm.get(p.nsg, API.network, 200, nsg())
    arm.putFails(rulePath(RULES[0]!), API.network, 403, armError('AuthorizationFailed', `The client 'abc' does not have authorization to perform action 'Microsoft.Network/networkSecurityGroups/securityRules/write'.`))
    const e = await driver.openClusterPorts!(journal).catch((x: unknown) => x)
    expect((e as Error).message.split('\n')).toHaveLength(1)
    expect((e as Error).message).toBe(
      'could not add rule SwarmManagerFromVnet to network security group web1-firewall: the signed-in identity is not allowed to perform Microsoft.Network/networkSecurityGroups/securityRules/write (AuthorizationFailed)',
    )
    expect(arm.writes()).toEqual([`PUT ${rulePath(RULES[0]!)}`])
  })

  it('the opt-out saved at create, or an NSG machine did not make: nothing asked, and said so', async () => {
    const off = await existing({ 'azure-swarm-ports': false }, false)
    await off.driver.openClusterPorts!(off.journal)
    expect(off.logs).toContain('Swarm ports not opened: --azure-swarm-ports is off for this machine; allow 2377/tcp, 7946/tcp, 7946/udp, 4789/udp from the virtual network yourself')
    const foreign = await setup({}, true)
    await foreign.driver.openClusterPorts!(foreign.journal)
    await foreign.driver.closeClusterPorts!(foreign.journal)
    expect(foreign.logs[0]).toMatch(/^Swarm ports not opened: network security group web1-firewall was not made by machine/)
    expect(arm.requests).toEqual([])
  })
})
