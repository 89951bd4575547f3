// The azure driver against a nock'ed Resource Manager speaking ARM's real JSON and long-running
// operation protocol (fixtures/azure/arm.ts). Every test checks that nothing unmatched was
// requested and no interceptor was left unused.
import { storeMarker } from '../../src/driver-kit/store-marker.js'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import azureDefinition from '../../drivers/azure/index.js'
import { credentialPlan, discoverTenant, useTokenCredential } from '../../drivers/azure/client.js'
import { AZURE_ENVIRONMENTS } from '../../drivers/azure/environments.js'
import { MachineError } from '../../src/core/errors.js'
import type { DriverDefinition } from '../../src/driver-kit/contract.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { flagName, resolveOptions } from '../../src/driver-kit/options.js'
import {
  API,
  ArmMock,
  armError,
  existingVnet,
  instanceView,
  LOCATION,
  listed,
  PRIVATE_IP,
  PUBLIC_IP,
  SUB,
} from './fixtures/azure/arm.js'
import { arrangeCreate, arrangeNicRead, arrangeInstanceView, arrangePreCheck, arrangeRemove, names, paths, type Names } from './fixtures/azure/flows.js'
import { type Setup, setupDriver, useArmHooks } from './fixtures/azure/hooks.js'

// As the registry sees it (options untyped), like the contexts makeDriverContext builds.
const azure: DriverDefinition = azureDefinition

const SECRET = 'sp-secret-value-never-saved-4711'
const ARM_HOST = 'https://management.azure.com'
const n: Names = names('web1')
const p = paths(n)

let arm: ArmMock
let store = ''
let scopesAsked: string[][] = []
const fakeCredential = {
  getToken: async (scopes: string | string[]) => {
    scopesAsked.push(Array.isArray(scopes) ? scopes : [scopes])
    return { token: 'fake', expiresOnTimestamp: Date.now() + 3600e3 }
  },
}

useArmHooks({ tempPrefix: 'azure-driver-', credential: fakeCredential, nockDone: true }, (mock, dir) => {
  scopesAsked = []
  arm = mock
  store = dir
})

const setup = (flags: Record<string, unknown> = {}, env: Record<string, string> = {}, machine = 'web1'): Promise<Setup> => setupDriver(flags, env, store, machine)

async function failure(p: Promise<unknown>): Promise<MachineError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e, 'expected the call to fail').toBeInstanceOf(MachineError)
  return e as MachineError
}

const decodeCustomData = (vmPut: any): string => Buffer.from(vmPut.properties.osProfile.customData, 'base64').toString('utf8')
const cloudConfigJson = (text: string): any => JSON.parse(text.replace(/^#cloud-config\n/, ''))

// ------------------------------------------------------------------------------------------------

describe('azure options', () => {
  it('has docker-machine\'s flag names and AZURE_* environment variables', () => {
    const byFlag = Object.fromEntries(azure.options.map((o) => [flagName('azure', o), o]))
    const expected: Record<string, string | undefined> = {
      'azure-subscription-id': 'AZURE_SUBSCRIPTION_ID',
      'azure-resource-group': 'AZURE_RESOURCE_GROUP',
      'azure-location': 'AZURE_LOCATION',
      'azure-size': 'AZURE_SIZE',
      'azure-image': 'AZURE_IMAGE',
      'azure-vnet': 'AZURE_VNET',
      'azure-subnet': 'AZURE_SUBNET',
      'azure-subnet-prefix': 'AZURE_SUBNET_PREFIX',
      'azure-availability-set': 'AZURE_AVAILABILITY_SET',
      'azure-open-port': undefined,
      'azure-private-ip-address': 'AZURE_PRIVATE_IP_ADDRESS',
      'azure-use-private-ip': 'AZURE_USE_PRIVATE_IP',
      'azure-static-public-ip': 'AZURE_STATIC_PUBLIC_IP',
      'azure-no-public-ip': 'AZURE_NO_PUBLIC_IP',
      'azure-dns': 'AZURE_DNS',
      'azure-ssh-user': 'AZURE_SSH_USER',
      'azure-docker-port': 'AZURE_DOCKER_PORT',
      'azure-storage-type': 'AZURE_STORAGE_TYPE',
      'azure-environment': 'AZURE_ENVIRONMENT',
      'azure-client-id': 'AZURE_CLIENT_ID',
      'azure-client-secret': 'AZURE_CLIENT_SECRET',
      'azure-tenant-id': 'AZURE_TENANT_ID',
      'azure-stop-keep-allocated': 'AZURE_STOP_KEEP_ALLOCATED',
    }
    for (const [flag, env] of Object.entries(expected)) {
      expect(byFlag[flag], flag).toBeDefined()
      expect(byFlag[flag]?.env?.[0], flag).toBe(env)
    }
    expect(byFlag['azure-client-secret']?.secret).toBe(true)
    expect(byFlag['azure-subscription-id']?.required).toBe(true)
  })

  it('defaults to a current small size and Ubuntu 24.04, docker-machine\'s names otherwise', () => {
    const r = resolveOptions('azure', azure.options, { 'azure-subscription-id': SUB }, {})
    expect(r.values).toMatchObject({
      size: 'Standard_B2s',
      image: 'Canonical:ubuntu-24_04-lts:server:latest',
      location: 'westus',
      resourceGroup: 'docker-machine',
      vnet: 'docker-machine-vnet',
      subnet: 'docker-machine',
      subnetPrefix: '192.168.0.0/16',
      sshUser: 'docker-user',
      dockerPort: 2376,
      environment: 'AzurePublicCloud',
    })
  })

  it('takes the subscription from AZURE_SUBSCRIPTION_ID and keeps the client secret out of the saved config', () => {
    const r = resolveOptions('azure', azure.options, {}, { AZURE_SUBSCRIPTION_ID: SUB, AZURE_CLIENT_ID: 'app-id', AZURE_CLIENT_SECRET: SECRET })
    expect(r.config.SubscriptionID).toBe(SUB)
    expect(r.config.ClientID).toBe('app-id')
    expect(JSON.stringify(r.config)).not.toContain(SECRET)
    expect(r.secrets['client-secret']).toBe(SECRET)
  })

  it('says which flag and variable are missing without a subscription', () => {
    expect(() => resolveOptions('azure', azure.options, {}, {})).toThrow(/--azure-subscription-id is required/)
    try {
      resolveOptions('azure', azure.options, {}, {})
    } catch (e) {
      expect((e as MachineError).line).toContain('AZURE_SUBSCRIPTION_ID')
    }
  })

  it.each([
    [{ 'azure-subscription-id': 'my-sub' }, /not a subscription id/],
    [{ 'azure-ssh-user': 'admin' }, /does not allow "admin"/],
    [{ 'azure-image': 'ubuntu' }, /publisher:offer:sku:version/],
    [{ 'azure-open-port': ['8080/sctp'] }, /PORT\[\/tcp\|udp\]/],
    [{ 'azure-dns': 'Web_1' }, /DNS label/],
    [{ 'azure-environment': 'AzureGermanCloud' }, /must be one of AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud/],
    [{ 'azure-subnet-prefix': '192.168.0.0' }, /CIDR/],
    [{ 'azure-storage-type': 'UltraSSD_LRS' }, /must be one of/],
  ])('rejects %o', (flags, message) => {
    expect(() => resolveOptions('azure', azure.options, { 'azure-subscription-id': SUB, ...flags }, {})).toThrow(message)
  })

  it('keeps the SDK out of the definition module graph (help and ls stay fast)', async () => {
    const seen = new Set<string>()
    const visit = async (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const text = await readFile(file, 'utf8')
      for (const m of text.matchAll(/^import\s+(?!type\b)[^'"]*['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!
        expect(spec, `${file} imports ${spec}`).not.toMatch(/^@azure\//)
        if (spec.startsWith('./')) await visit(join(file, '..', spec.replace(/\.js$/, '.ts')))
      }
    }
    await visit(join(import.meta.dirname, '../../drivers/azure/index.ts'))
    expect([...seen].some((f) => f.endsWith('client.ts') || f.endsWith('driver.ts'))).toBe(false)
  })
})

// ------------------------------------------------------------------------------------------------

describe('azure create', () => {
  it('makes every resource in order, journaled first, tagged, with our keys in cloud-init', async () => {
    const { ctx, driver, journal, logs } = await setup({
      'azure-client-id': 'app-id',
      'azure-client-secret': SECRET,
      'azure-open-port': ['8080', '53/udp', '2376'],
      'azure-dns': 'web1-dns',
    })
    arrangePreCheck(arm, n, { group: 'missing' })
    await driver.preCreateCheck()
    arrangeCreate(arm, n, { groupExists: false, vnet: 'create' })
    await driver.create(journal)

    expect(arm.writes()).toEqual([
      `PUT ${p.group}`,
      `PUT ${p.nsg}`,
      `PUT ${p.vnet}`,
      `PUT ${p.ip}`,
      `PUT ${p.nic}`,
      `PUT ${p.vm}`,
    ])
    // Each long-running operation was polled through Azure-AsyncOperation until Succeeded.
    const polls = arm.requests.filter((r) => r.method === 'GET' && r.path.includes('/operations/'))
    expect(polls.length).toBe(4 * 2 + 3)

    const mid = String(ctx.config.MachineId)
    expect(mid).toMatch(/^[0-9a-f-]{36}$/)
    expect(journal.entries().map((e) => e.kind)).toEqual([
      'resource-group',
      'network-security-group',
      'virtual-network',
      'public-ip',
      'network-interface',
      'os-disk',
      'virtual-machine',
    ])
    expect(journal.entries().map((e) => e.id)).toEqual([
      `/subscriptions/${SUB}/resourceGroups/docker-machine`,
      p.nsg,
      p.vnet,
      p.ip,
      p.nic,
      p.disk,
      p.vm,
    ])
    for (const path of [p.group, p.nsg, p.vnet, p.ip, p.nic, p.vm]) {
      expect(arm.bodyOf('PUT', path).tags, path).toEqual({ 'machine-name': 'web1', 'machine-id': mid, 'managed-by': 'machine', 'machine-store': storeMarker(ctx.storePath) })
      expect(arm.bodyOf('PUT', path).location, path).toBe(LOCATION)
    }

    // Firewall: SSH, the engine and the asked-for ports; never more (2376 is not repeated).
    const rules = arm.bodyOf('PUT', p.nsg).properties.securityRules
    expect(rules.map((r: any) => [r.name, r.properties.protocol, r.properties.destinationPortRange, r.properties.priority, r.properties.direction, r.properties.access])).toEqual([
      ['SSHAllowAny', 'Tcp', '22', 300, 'Inbound', 'Allow'],
      ['DockerAllowAny', 'Tcp', '2376', 301, 'Inbound', 'Allow'],
      ['Port8080-TcpAllowAny', 'Tcp', '8080', 1000, 'Inbound', 'Allow'],
      ['Port53-UdpAllowAny', 'Udp', '53', 1001, 'Inbound', 'Allow'],
    ])

    expect(arm.bodyOf('PUT', p.vnet).properties).toMatchObject({
      addressSpace: { addressPrefixes: ['192.168.0.0/16'] },
      subnets: [{ name: 'docker-machine', properties: { addressPrefix: '192.168.0.0/16' } }],
    })
    expect(arm.bodyOf('PUT', p.ip)).toMatchObject({
      sku: { name: 'Standard' },
      properties: { publicIPAllocationMethod: 'Static', dnsSettings: { domainNameLabel: 'web1-dns' } },
    })
    const nicIp = arm.bodyOf('PUT', p.nic).properties.ipConfigurations[0].properties
    expect(arm.bodyOf('PUT', p.nic).properties.networkSecurityGroup).toEqual({ id: p.nsg })
    expect(nicIp.subnet).toEqual({ id: `${p.vnet}/subnets/docker-machine` })
    expect(nicIp.publicIPAddress).toEqual({ id: p.ip })
    expect(nicIp.privateIPAllocationMethod).toBe('Dynamic')

    const vm = arm.bodyOf('PUT', p.vm)
    expect(vm.properties.hardwareProfile).toEqual({ vmSize: 'Standard_B2s' })
    expect(vm.properties.storageProfile.imageReference).toEqual({ publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', version: 'latest' })
    expect(vm.properties.storageProfile.osDisk).toMatchObject({
      name: 'web1-os-disk',
      createOption: 'FromImage',
      deleteOption: 'Delete',
      managedDisk: { storageAccountType: 'StandardSSD_LRS' },
    })
    expect(vm.properties.networkProfile.networkInterfaces).toEqual([{ id: p.nic, properties: { primary: true } }])
    const pub = (await readFile(join(ctx.machineDir, 'id_rsa.pub'), 'utf8')).trim()
    expect(vm.properties.osProfile).toMatchObject({
      computerName: 'web1',
      adminUsername: 'docker-user',
      linuxConfiguration: {
        disablePasswordAuthentication: true,
        ssh: { publicKeys: [{ path: '/home/docker-user/.ssh/authorized_keys', keyData: pub }] },
      },
    })
    const userData = decodeCustomData(vm)
    expect(userData.startsWith('#cloud-config\n')).toBe(true)
    const cc = cloudConfigJson(userData)
    expect(cc.hostname).toBe('web1')
    expect(cc.ssh_pwauth).toBe(false)
    expect(cc.users[0]).toMatchObject({ name: 'docker-user', ssh_authorized_keys: [pub] })
    expect(cc.ssh_keys.ed25519_private).toMatch(/BEGIN OPENSSH PRIVATE KEY/)
    // The host key we injected is the one pinned for the first SSH connection.
    expect(ctx.config.SSHHostKeys).toEqual([cc.ssh_keys.ed25519_public])
    expect(String(cc.ssh_keys.ed25519_public)).toMatch(/^ssh-ed25519 /)

    expect(ctx.config).toMatchObject({
      IPAddress: PUBLIC_IP,
      PrivateIPAddress: PRIVATE_IP,
      SSHUser: 'docker-user',
      SSHPort: 22,
      SSHKeyPath: join(ctx.machineDir, 'id_rsa'),
      FQDN: 'web1-dns.westus.cloudapp.azure.com',
      SubscriptionID: SUB,
      ClientID: 'app-id',
    })
    const saved = JSON.stringify(ctx.config)
    expect(saved).not.toContain(SECRET)
    expect(saved).not.toMatch(/PRIVATE KEY/)
    expect(await driver.sshInfo()).toEqual({
      host: PUBLIC_IP,
      port: 22,
      user: 'docker-user',
      keyPath: join(ctx.machineDir, 'id_rsa'),
      hostKeys: [cc.ssh_keys.ed25519_public],
    })
    expect(await driver.certSans?.()).toEqual(['web1-dns.westus.cloudapp.azure.com', PRIVATE_IP])
    expect(logs.join('\n')).toMatch(/Creating resource group docker-machine[\s\S]*network security group web1-firewall[\s\S]*virtual network[\s\S]*public IP[\s\S]*network interface[\s\S]*virtual machine web1/)
    // Resource Manager was asked for a token for its own scope.
    expect(scopesAsked.flat()).toContain('https://management.azure.com/.default')
  })

  it('opens the swarm master port (3376) only for a swarm master', async () => {
    const { ctx, driver, journal } = await setup()
    ctx.config.SwarmMaster = true
    arrangePreCheck(arm, n, { group: [], vnet: existingVnet(n.rg, n.vnet) })
    arrangeCreate(arm, n, { groupExists: true, vnet: 'exists' })
    await driver.create(journal)
    const rules = arm.bodyOf('PUT', p.nsg).properties.securityRules
    expect(rules.map((r: any) => `${r.name} ${r.properties.destinationPortRange}`)).toEqual(['SSHAllowAny 22', 'DockerAllowAny 2376', 'DockerSwarmAllowAny 3376'])
  })

  it('uses an existing resource group, virtual network and subnet without journaling them', async () => {
    const { driver, journal } = await setup()
    arrangePreCheck(arm, n, { group: [listed(n.rg, 'Microsoft.Compute', 'virtualMachines', 'other-vm')], vnet: existingVnet(n.rg, n.vnet) })
    await driver.preCreateCheck()
    arrangeCreate(arm, n, { groupExists: true, vnet: 'exists' })
    await driver.create(journal)
    expect(arm.writes()).toEqual([`PUT ${p.nsg}`, `PUT ${p.ip}`, `PUT ${p.nic}`, `PUT ${p.vm}`])
    expect(journal.entries().map((e) => e.kind)).toEqual(['network-security-group', 'public-ip', 'network-interface', 'os-disk', 'virtual-machine'])
    expect(arm.bodyOf('PUT', p.nic).properties.ipConfigurations[0].properties.subnet).toEqual({ id: `${p.vnet}/subnets/docker-machine` })
  })

  it('adds a missing subnet to an existing virtual network, and journals only the subnet', async () => {
    const { driver, journal } = await setup({ 'azure-subnet': 'machines', 'azure-subnet-prefix': '192.168.8.0/24' })
    const m = { ...n, subnet: 'machines' }
    arrangePreCheck(arm, m, { group: [], vnet: existingVnet(n.rg, n.vnet, { subnets: [{ name: 'default', prefix: '192.168.0.0/24' }] }) })
    await driver.preCreateCheck()
    arrangeCreate(arm, m, { groupExists: true, vnet: 'create-subnet' })
    await driver.create(journal)
    expect(arm.writes()).toEqual([`PUT ${p.nsg}`, `PUT ${p.vnet}/subnets/machines`, `PUT ${p.ip}`, `PUT ${p.nic}`, `PUT ${p.vm}`])
    expect(arm.bodyOf('PUT', `${p.vnet}/subnets/machines`).properties.addressPrefix).toBe('192.168.8.0/24')
    expect(journal.entries().map((e) => e.kind)).toContain('subnet')
  })

  it('--azure-no-public-ip with a static private address: no public IP, SSH on the private one', async () => {
    const { ctx, driver, journal } = await setup({
      'azure-no-public-ip': true,
      'azure-private-ip-address': '127.0.0.9',
      'azure-subnet-prefix': '127.0.0.0/24',
    })
    arrangePreCheck(arm, n, { group: 'missing' })
    await driver.preCreateCheck()
    arrangeCreate(arm, n, { groupExists: false, vnet: 'create', publicIp: false })
    await driver.create(journal)
    expect(arm.writes()).not.toContain(`PUT ${p.ip}`)
    const ipc = arm.bodyOf('PUT', p.nic).properties.ipConfigurations[0].properties
    expect(ipc).toMatchObject({ privateIPAllocationMethod: 'Static', privateIPAddress: '127.0.0.9' })
    expect(ipc.publicIPAddress).toBeUndefined()
    expect(ctx.config.IPAddress).toBe('127.0.0.9')
    expect(journal.entries().map((e) => e.kind)).not.toContain('public-ip')
  })

  it('refuses a private address outside the subnet before anything is made', async () => {
    const { driver } = await setup({ 'azure-private-ip-address': '127.0.0.9' })
    arrangePreCheck(arm, n, { group: 'missing' })
    const e = await failure(driver.preCreateCheck())
    expect(e.message).toContain('127.0.0.9 is not in subnet docker-machine (192.168.0.0/16)')
    expect(arm.writes()).toEqual([])
  })

  it('refuses to overwrite a resource of the same name already in the group', async () => {
    const { driver } = await setup()
    arm.listGroup(n.rg, [listed(n.rg, 'Microsoft.Network', 'networkInterfaces', 'web1-nic')], 2)
    const e = await failure(driver.preCreateCheck())
    expect(e.code).toBe('already-exists')
    expect(e.message).toBe('Microsoft.Network/networkInterfaces web1-nic already exists in resource group docker-machine')
    // create (without a prior check) refuses the same way, before any PUT.
    expect((await failure(driver.create(new MemoryJournal()))).code).toBe('already-exists')
    expect(arm.writes()).toEqual([])
  })

  it('refuses a virtual network in another region', async () => {
    const { driver } = await setup({ 'azure-location': 'West Europe' })
    arrangePreCheck(arm, n, { group: [], vnet: existingVnet(n.rg, n.vnet, { location: 'westus' }) })
    const e = await failure(driver.preCreateCheck())
    expect(e.line).toBe('virtual network docker-machine-vnet is in westus, but the machine would be in westeurope: pass --azure-location westus, or another --azure-vnet')
  })

  it('creates a missing availability set (Aligned, for managed disks) and places the VM in it', async () => {
    const { driver, journal } = await setup({ 'azure-availability-set': 'web-as' })
    const asPath = `/subscriptions/${SUB}/resourceGroups/docker-machine/providers/Microsoft.Compute/availabilitySets/web-as`
    arrangePreCheck(arm, n, { group: [], vnet: existingVnet(n.rg, n.vnet) })
    arm.get(asPath, API.compute, 404, armError('ResourceNotFound', "The Resource 'Microsoft.Compute/availabilitySets/web-as' under resource group 'docker-machine' was not found."))
    await driver.preCreateCheck()
    arrangeCreate(arm, n, { groupExists: true, vnet: 'exists', until: 'network' })
    arm.putSync(asPath, API.compute, 200, (req) => ({ ...req, id: asPath, name: 'web-as', type: 'Microsoft.Compute/availabilitySets' }))
    arrangeCreate(arm, n, { groupExists: true, vnet: 'exists', from: 'ip' })
    await driver.create(journal)
    expect(arm.bodyOf('PUT', asPath)).toMatchObject({ sku: { name: 'Aligned' }, properties: { platformFaultDomainCount: 2 } })
    expect(arm.bodyOf('PUT', p.vm).properties.availabilitySet).toEqual({ id: asPath })
    expect(journal.entries().map((e) => e.kind)).toContain('availability-set')
  })

  it('merges --azure-custom-data: a YAML cloud-config goes first, ours last so our keys win', async () => {
    const file = join(store, 'user-data.yaml')
    await writeFile(file, '#cloud-config\npackages:\n  - htop\n')
    const { driver, journal } = await setup({ 'azure-custom-data': file })
    arrangePreCheck(arm, n, { group: [], vnet: existingVnet(n.rg, n.vnet) })
    await driver.preCreateCheck()
    arrangeCreate(arm, n, { groupExists: true, vnet: 'exists' })
    await driver.create(journal)
    const data = decodeCustomData(arm.bodyOf('PUT', p.vm))
    expect(data).toMatch(/^Content-Type: multipart\/mixed; boundary="/)
    const user = data.indexOf('packages:\n  - htop')
    const ours = data.indexOf('Content-Type: text/cloud-config; charset="utf-8"\nMIME-Version: 1.0\n\n#cloud-config\n{')
    expect(user).toBeGreaterThan(0)
    expect(ours).toBeGreaterThan(user)
  })

  it('merges a JSON cloud-config key by key', async () => {
    const file = join(store, 'user-data.json')
    await writeFile(file, JSON.stringify({ packages: ['htop'], users: [{ name: 'intruder' }] }))
    const { driver, journal } = await setup({ 'azure-custom-data': file })
    arrangePreCheck(arm, n, { group: [], vnet: existingVnet(n.rg, n.vnet) })
    await driver.preCreateCheck()
    arrangeCreate(arm, n, { groupExists: true, vnet: 'exists' })
    await driver.create(journal)
    const cc = cloudConfigJson(decodeCustomData(arm.bodyOf('PUT', p.vm)))
    expect(cc.packages).toEqual(['htop'])
    expect(cc.users.map((u: any) => u.name)).toEqual(['docker-user'])
  })
})

// ------------------------------------------------------------------------------------------------

describe('azure state, ip and lifecycle', () => {
  it.each([
    ['running', 'succeeded', 'Running'],
    ['starting', 'succeeded', 'Starting'],
    ['stopping', 'succeeded', 'Stopping'],
    ['deallocating', 'succeeded', 'Stopping'],
    ['stopped', 'succeeded', 'Stopped'],
    ['deallocated', 'succeeded', 'Stopped'],
    ['running', 'failed', 'Error'],
    [undefined, 'creating', 'Starting'],
  ])('PowerState/%s with ProvisioningState/%s is %s', async (power, provisioning, expected) => {
    const { driver } = await setup()
    arrangeInstanceView(arm, n, power, provisioning)
    expect(await driver.state()).toBe(expected)
  })

  it('ip is the public IP, or the NIC\'s private one with --azure-use-private-ip', async () => {
    const pub = await setup()
    arm.get(p.ip, API.network, 200, { name: 'web1-ip', id: p.ip, type: 'Microsoft.Network/publicIPAddresses', location: LOCATION, properties: { provisioningState: 'Succeeded', ipAddress: PUBLIC_IP } })
    expect(await pub.driver.ip()).toBe(PUBLIC_IP)

    const priv = await setup({ 'azure-use-private-ip': true })
    arrangeNicRead(arm, n)
    expect(await priv.driver.ip()).toBe(PRIVATE_IP)
    expect(priv.ctx.config.IPAddress).toBe(PRIVATE_IP)
  })

  it('start runs the start operation to completion', async () => {
    const { driver } = await setup()
    arm.postAction(`${p.vm}/start`, {}, { inProgress: 3 })
    await driver.start()
    expect(arm.writes()).toEqual([`POST ${p.vm}/start`])
    // Polled through Azure-AsyncOperation, then the final GET on Location.
    expect(arm.requests.filter((r) => r.path.includes('/operations/')).map((r) => r.query.includes('monitor=true'))).toEqual([false, false, false, false, true])
  })

  it('stop deallocates, so the compute stops being billed', async () => {
    const { driver, logs } = await setup()
    arm.postAction(`${p.vm}/deallocate`)
    await driver.stop()
    expect(arm.writes()).toEqual([`POST ${p.vm}/deallocate`])
    expect(logs.join('\n')).toContain('deallocating')
  })

  it('stop with --azure-stop-keep-allocated only powers off (gracefully)', async () => {
    const { driver, logs } = await setup({ 'azure-stop-keep-allocated': true })
    arm.postAction(`${p.vm}/powerOff`)
    await driver.stop()
    expect(arm.writes()).toEqual([`POST ${p.vm}/powerOff`])
    expect(arm.requests[0]!.query).toBe(`?api-version=${API.compute}`)
    expect(logs.join('\n')).toContain('still billed')
  })

  it('restart restarts a running VM and starts a deallocated one', async () => {
    const running = await setup()
    arrangeInstanceView(arm, n, 'running')
    arm.postAction(`${p.vm}/restart`)
    await running.driver.restart()
    expect(arm.writes()).toEqual([`POST ${p.vm}/restart`])

    const stopped = await setup()
    arrangeInstanceView(arm, n, 'deallocated')
    arm.postAction(`${p.vm}/start`)
    await stopped.driver.restart()
    expect(arm.writes()).toEqual([`POST ${p.vm}/restart`, `POST ${p.vm}/start`])
  })

  it('kill powers off with skipShutdown=true and says the VM is still allocated', async () => {
    const { driver, logs } = await setup()
    arm.postAction(`${p.vm}/powerOff`, { skipShutdown: 'true' })
    await driver.kill()
    expect(arm.requests[0]!.query).toBe(`?api-version=${API.compute}&skipShutdown=true`)
    expect(logs.join('\n')).toMatch(/still allocated.*machine stop/)
  })

  it('engine URL and port follow --azure-docker-port', async () => {
    const { ctx, driver } = await setup({ 'azure-docker-port': 2377 })
    ctx.config.IPAddress = PUBLIC_IP
    expect(driver.enginePort?.()).toBe(2377)
    expect(await driver.engineUrl?.()).toBe(`tcp://${PUBLIC_IP}:2377`)
  })
})

// ------------------------------------------------------------------------------------------------

async function createdMachine(flags: Record<string, unknown> = {}): Promise<Setup> {
  const s = await setup(flags)
  arrangePreCheck(arm, n, { group: 'missing' })
  arrangeCreate(arm, n, { groupExists: false, vnet: 'create' })
  await s.driver.preCreateCheck()
  await s.driver.create(s.journal)
  arm.requests.length = 0
  return s
}

describe('azure rm', () => {
  it('deletes VM, OS disk, NIC, public IP, vnet, NSG and the group it made, newest first', async () => {
    const { driver, journal, logs } = await createdMachine()
    arrangeRemove(arm, n, { vm: true, disk: 'deleted-with-vm', nic: true, ip: true, vnet: 'ours', nsg: true, group: 'ours-empty' })
    await driver.remove(journal)
    expect(arm.writes()).toEqual([`DELETE ${p.vm}`, `DELETE ${p.disk}`, `DELETE ${p.nic}`, `DELETE ${p.ip}`, `DELETE ${p.vnet}`, `DELETE ${p.nsg}`, `DELETE ${p.group}`])
    // The group deletion was followed through its Location header (202, then 200).
    const groupPolls = arm.requests.filter((r) => r.path.includes('/operationresults/'))
    expect(groupPolls.length).toBe(2)
    expect(journal.entries()).toEqual([])
    expect(logs).toEqual(expect.arrayContaining(['Deleted virtual machine web1', 'Deleted network interface web1-nic', 'Deleted resource group docker-machine']))

    await driver.remove(journal)
    expect(arm.writes().length).toBe(7)
  })

  it('keeps a virtual network another machine uses and a group that is not empty', async () => {
    const { driver, journal, logs } = await createdMachine()
    arrangeRemove(arm, n, { vm: true, disk: 'deleted-with-vm', nic: true, ip: true, vnet: 'ours-in-use', nsg: true, group: 'ours-not-empty' })
    await driver.remove(journal)
    expect(arm.writes()).toEqual([`DELETE ${p.vm}`, `DELETE ${p.disk}`, `DELETE ${p.nic}`, `DELETE ${p.ip}`, `DELETE ${p.nsg}`])
    expect(journal.entries()).toEqual([])
    expect(logs).toContain('Kept virtual network docker-machine-vnet: subnet docker-machine still in use by other resources')
    expect(logs).toContain('Kept resource group docker-machine: it still holds 1 other resource(s) (web2)')
  })

  it('never deletes a group or network it did not make', async () => {
    const s = await setup()
    arrangePreCheck(arm, n, { group: [], vnet: existingVnet(n.rg, n.vnet) })
    arrangeCreate(arm, n, { groupExists: true, vnet: 'exists' })
    await s.driver.preCreateCheck()
    await s.driver.create(s.journal)
    arm.requests.length = 0
    arrangeRemove(arm, n, { vm: true, disk: 'deleted-with-vm', nic: true, ip: true, nsg: true })
    await s.driver.remove(s.journal)
    expect(arm.writes()).toEqual([`DELETE ${p.vm}`, `DELETE ${p.disk}`, `DELETE ${p.nic}`, `DELETE ${p.ip}`, `DELETE ${p.nsg}`])
  })

  it('treats what is already gone as deleted', async () => {
    const { driver, journal } = await createdMachine()
    arm.deleteReply(p.vm, API.compute, 404, armError('ResourceNotFound', "The Resource 'Microsoft.Compute/virtualMachines/web1' under resource group 'docker-machine' was not found."))
    arrangeRemove(arm, n, { disk: 'deleted-with-vm', nic: true, ip: true, vnet: 'ours', nsg: true, group: 'ours-empty' })
    await driver.remove(journal)
    expect(journal.entries()).toEqual([])
  })

  it('stops at a deletion that fails, says what is left and how to delete it, and a later rm finishes', async () => {
    const { driver, journal } = await createdMachine()
    arrangeRemove(arm, n, { vm: true, disk: 'deleted-with-vm', nic: true, ip: true, vnet: 'ours' })
    arm.deleteReply(p.nsg, API.network, 409, armError('ReferencedResourceNotProvisioned', 'Cannot proceed with operation because resource web1-firewall is not in Succeeded state.'))
    const e = await failure(driver.remove(journal))
    expect(e.code).toBe('cleanup-incomplete')
    expect(e.line).not.toContain('\n')
    expect(e.message).toContain('still in Azure: network security group web1-firewall, resource group docker-machine')
    expect(e.hint).toBe(`run \`machine rm\` again, or delete by hand: az resource delete --ids ${p.nsg}`)
    expect(journal.entries().map((x) => x.kind)).toEqual(['resource-group', 'network-security-group'])

    arrangeRemove(arm, n, { nsg: true, group: 'ours-empty' })
    await driver.remove(journal)
    expect(journal.entries()).toEqual([])
  })
})

// ------------------------------------------------------------------------------------------------

describe('azure failures', () => {
  it('401: one line saying the credentials were rejected, and how to sign in', async () => {
    const { driver } = await setup()
    arm.scope
      .get(`/subscriptions/${SUB}/resourcegroups/docker-machine/resources`)
      .query({ 'api-version': API.resources })
      .reply(401, armError('InvalidAuthenticationToken', 'The access token is invalid.'), {
        'WWW-Authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", error="invalid_token", error_description="The access token is invalid."',
      })
    const e = await failure(driver.preCreateCheck())
    expect(e.code).toBe('auth-failed')
    expect(e.line).toBe(
      'could not read resource group docker-machine: Azure rejected the credentials (InvalidAuthenticationToken: The access token is invalid.): ' +
        'sign in with `az login` (or `az login --service-principal`), or pass --azure-client-id, --azure-client-secret and --azure-tenant-id (or set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID)',
    )
  })

  it('no credentials at all: one line, same advice', async () => {
    const err = Object.assign(new Error('DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted credentials:\n\tEnvironmentCredential is unavailable.\n\tManagedIdentityCredential: unavailable'), {
      name: 'CredentialUnavailableError',
    })
    useTokenCredential({ getToken: async () => Promise.reject(err) })
    const { driver } = await setup()
    const e = await failure(driver.state())
    expect(e.code).toBe('auth-failed')
    expect(e.line).not.toContain('\n')
    expect(e.message).toBe('could not read the state of web1: no usable Azure credentials (DefaultAzureCredential failed to retrieve a token from the included credentials.)')
  })

  it('403: names the missing permission and the role to grant', async () => {
    const { driver } = await setup()
    arm.listGroup(n.rg, [])
    arm.get(p.vnet, API.network, 403, armError(
      'AuthorizationFailed',
      `The client 'f1d2c3b4-0000-4000-8000-000000000001' with object id 'f1d2c3b4-0000-4000-8000-000000000001' does not have authorization to perform action 'Microsoft.Network/virtualNetworks/read' over scope '/subscriptions/${SUB}/resourceGroups/docker-machine/providers/Microsoft.Network/virtualNetworks/docker-machine-vnet' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    ))
    const e = await failure(driver.preCreateCheck())
    expect(e.code).toBe('permission-denied')
    expect(e.message).toBe('could not read virtual network docker-machine-vnet: the signed-in identity is not allowed to perform Microsoft.Network/virtualNetworks/read (AuthorizationFailed)')
    expect(e.hint).toContain('Contributor role on resource group docker-machine')
  })

  it('subscription not found', async () => {
    const { driver } = await setup()
    arm.scope
      .get(`/subscriptions/${SUB}/resourcegroups/docker-machine/resources`)
      .query({ 'api-version': API.resources })
      .reply(404, armError('SubscriptionNotFound', `The subscription '${SUB}' could not be found.`))
    const e = await failure(driver.preCreateCheck())
    expect(e.code).toBe('not-found')
    expect(e.hint).toContain('--azure-subscription-id')
  })

  it('a lifecycle call on a VM deleted outside machine says so', async () => {
    const { driver } = await setup()
    arm.get(`${p.vm}/instanceView`, API.compute, 404, armError('ResourceNotFound', "The Resource 'Microsoft.Compute/virtualMachines/web1' under resource group 'docker-machine' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"))
    const e = await failure(driver.state())
    expect(e.code).toBe('not-found')
    expect(e.line).toBe('virtual machine web1 no longer exists in resource group docker-machine (deleted outside machine?): `machine rm web1` removes what is left of it')
  })

  async function failingVm(vmRefused: { status: number; body: Record<string, any> }): Promise<{ e: MachineError } & Setup> {
    const s = await setup()
    arrangePreCheck(arm, n, { group: [], vnet: existingVnet(n.rg, n.vnet) })
    arrangeCreate(arm, n, { groupExists: true, vnet: 'exists', vmRefused })
    await s.driver.preCreateCheck()
    const e = await failure(s.driver.create(s.journal))
    // Rollback: the VM was refused (nothing to delete: 204), everything else goes.
    arrangeRemove(arm, n, { vm: 'gone', disk: 'deleted-with-vm', nic: true, ip: true, nsg: true })
    await s.driver.remove(s.journal)
    expect(s.journal.entries()).toEqual([])
    return { e, ...s }
  }

  it('quota exceeded: one line with the quota advice, and the rollback leaves nothing', async () => {
    const { e } = await failingVm({
      status: 409,
      body: armError(
        'OperationNotAllowed',
        'Operation could not be completed as it results in exceeding approved standardBSFamily Cores quota. Additional details - Deployment Model: Resource Manager, Location: westus, Current Limit: 0, Current Usage: 0, Additional Required: 2, (Minimum) New Limit Required: 2. Submit a request for Quota increase at https://aka.ms/ProdportalCRP/#blade/Microsoft_Azure_Capacity/UsageAndQuota.ReactView by specifying parameters listed in the ‘Details’ section for deployment to succeed.',
      ),
    })
    expect(e.code).toBe('quota-exceeded')
    expect(e.message).toMatch(/^could not create virtual machine web1: OperationNotAllowed: Operation could not be completed as it results in exceeding approved standardBSFamily Cores quota/)
    expect(e.hint).toContain('az vm list-usage -l westus')
  })

  it('SkuNotAvailable: suggests another size or region', async () => {
    const { e } = await failingVm({
      status: 409,
      body: armError(
        'SkuNotAvailable',
        "The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: Standard_B2s' is currently not available in location 'westus'. Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details.",
      ),
    })
    expect(e.code).toBe('capacity')
    expect(e.hint).toContain('try another --azure-size or --azure-location')
  })

  it('an image that does not exist', async () => {
    const { e } = await failingVm({
      status: 404,
      body: armError('PlatformImageNotFound', "The platform image 'Canonical:ubuntu-24_04-lts:server:latest' is not available. Verify that all fields in the storage profile are correct."),
    })
    expect(e.code).toBe('not-found')
    expect(e.hint).toContain('--azure-image')
  })

  it('429 with Retry-After: waits as told, then succeeds', async () => {
    const { driver, journal } = await setup()
    arrangePreCheck(arm, n, { group: [], vnet: existingVnet(n.rg, n.vnet) })
    arm.scope
      .put(p.nsg)
      .query({ 'api-version': API.network })
      .reply(
        429,
        armError('SubscriptionRequestsThrottled', `Number of 'write' requests for subscription '${SUB}' actor 'f1d2c3b4' exceeded. Please try again after '1' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling`),
        { 'Retry-After': '1', 'x-ms-ratelimit-remaining-subscription-writes': '0' },
      )
    arrangeCreate(arm, n, { groupExists: true, vnet: 'exists' })
    await driver.preCreateCheck()
    const t0 = Date.now()
    await driver.create(journal)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950)
    expect(journal.entries().map((x) => x.kind)).toEqual(['network-security-group', 'public-ip', 'network-interface', 'os-disk', 'virtual-machine'])
  })

  it('failure after the VM exists: the error names the cause, and rollback deletes all of it', async () => {
    const { driver, journal, logs } = await setup()
    arrangePreCheck(arm, n, { group: 'missing' })
    arrangeCreate(arm, n, {
      groupExists: false,
      vnet: 'create',
      vmFailsWith: {
        code: 'AllocationFailed',
        message: 'Allocation failed. We do not have sufficient capacity for the requested VM size in this region. Read more about improving likelihood of allocation success at http://aka.ms/allocation-guidance',
      },
    })
    await driver.preCreateCheck()
    const e = await failure(driver.create(journal))
    expect(e.code).toBe('capacity')
    expect(e.message).toBe('could not create virtual machine web1: AllocationFailed: Allocation failed. We do not have sufficient capacity for the requested VM size in this region. Read more about improving likelihood of allocation success at http://aka.ms/allocation-guidance')
    expect(journal.entries().at(-1)?.kind).toBe('virtual-machine')

    // The failed VM holds its NIC for a while (NicReservedForAnotherVm): rollback retries.
    arm.requests.length = 0
    arrangeRemove(arm, n, { vm: true, disk: 'deleted-with-vm', nic: 'reserved-once', ip: true, vnet: 'ours', nsg: true, group: 'ours-empty' })
    await driver.remove(journal)
    expect(arm.writes()).toEqual([`DELETE ${p.vm}`, `DELETE ${p.disk}`, `DELETE ${p.nic}`, `DELETE ${p.nic}`, `DELETE ${p.ip}`, `DELETE ${p.vnet}`, `DELETE ${p.nsg}`, `DELETE ${p.group}`])
    expect(journal.entries()).toEqual([])
    expect(logs.filter((l) => l.startsWith('Deleted '))).toEqual([
      'Deleted virtual machine web1',
      'Deleted OS disk web1-os-disk',
      'Deleted network interface web1-nic',
      'Deleted public IP web1-ip',
      'Deleted virtual network docker-machine-vnet',
      'Deleted network security group web1-firewall',
      'Deleted resource group docker-machine',
    ])
  })

  it('a long-running operation that never ends is given up after the deadline', async () => {
    const { driver, journal } = await setup({}, { MACHINE_OPERATION_TIMEOUT_MS: '300' })
    arrangePreCheck(arm, n, { group: [], vnet: existingVnet(n.rg, n.vnet) })
    arm.scope
      .put(p.nsg)
      .query({ 'api-version': API.network })
      .reply(201, { name: 'web1-firewall', id: p.nsg, properties: { provisioningState: 'Updating' } }, {
        'Azure-AsyncOperation': `https://management.azure.com/subscriptions/${SUB}/providers/Microsoft.Network/locations/westus/operations/stuck?api-version=${API.network}`,
      })
    // Its own scope: Scope.persist() applies to every interceptor of the scope.
    const stuck = nock(ARM_HOST).get(`/subscriptions/${SUB}/providers/Microsoft.Network/locations/westus/operations/stuck`).query({ 'api-version': API.network }).reply(200, { status: 'InProgress' }).persist()
    await driver.preCreateCheck()
    const t0 = Date.now()
    const e = await failure(driver.create(journal))
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(e.code).toBe('timeout')
    expect(e.message).toBe('timed out after 300ms waiting for Azure to create network security group web1-firewall')
    expect(journal.entries().map((x) => x.kind)).toEqual(['network-security-group'])
    // A persisted interceptor counts as done once used: the poll really happened.
    expect(stuck.isDone()).toBe(true)
  })

  it('Ctrl-C (ctx.signal) stops a wait at once, and is not reported as a timeout', async () => {
    const s = await setup()
    const ac = new AbortController()
    s.ctx.signal = ac.signal
    const driver = (await azure.load()).createDriver(s.ctx)
    arm.scope
      .post(`${p.vm}/start`)
      .query({ 'api-version': API.compute })
      .reply(202, '', { 'Azure-AsyncOperation': `https://management.azure.com/subscriptions/${SUB}/providers/Microsoft.Compute/locations/westus/operations/slow?p=slow&api-version=${API.compute}` })
    const slow = nock(ARM_HOST)
      .get(`/subscriptions/${SUB}/providers/Microsoft.Compute/locations/westus/operations/slow`)
      .query({ p: 'slow', 'api-version': API.compute })
      .reply(200, { status: 'InProgress', name: 'slow', startTime: '2026-11-24T10:00:00.0000000+00:00' })
      .persist()
    setTimeout(() => ac.abort(new Error('interrupted')), 100)
    const err = await driver.start().then(() => undefined, (x: unknown) => x)
    expect(err).toBeInstanceOf(Error)
    expect((err as MachineError).code).not.toBe('timeout')
    expect(slow.isDone()).toBe(true)
  })

  it('Ctrl-C while the VM is being created: the rollback still deletes everything with the aborted context', async () => {
    const s = await setup()
    const ac = new AbortController()
    s.ctx.signal = ac.signal
    const driver = (await azure.load()).createDriver(s.ctx)
    arrangePreCheck(arm, n, { group: [], vnet: existingVnet(n.rg, n.vnet) })
    arrangeCreate(arm, n, { groupExists: true, vnet: 'exists', until: 'nic' })
    arm.scope
      .put(p.vm)
      .query({ 'api-version': API.compute })
      .reply(201, { name: 'web1', id: p.vm, type: 'Microsoft.Compute/virtualMachines', location: LOCATION, properties: { provisioningState: 'Creating' } }, {
        'Azure-AsyncOperation': `https://management.azure.com/subscriptions/${SUB}/providers/Microsoft.Compute/locations/westus/operations/vmslow?p=vmslow&api-version=${API.compute}`,
      })
    let polled = false
    const slow = nock(ARM_HOST)
      .get(`/subscriptions/${SUB}/providers/Microsoft.Compute/locations/westus/operations/vmslow`)
      .query({ p: 'vmslow', 'api-version': API.compute })
      .reply(() => {
        polled = true
        return [200, { status: 'InProgress', name: 'vmslow', startTime: '2026-11-24T10:00:00.0000000+00:00' }]
      })
      .persist()
    await driver.preCreateCheck()
    const creating = driver.create(s.journal)
    // Interrupt once the VM creation is being polled.
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (polled) {
          clearInterval(t)
          resolve()
        }
      }, 5)
    })
    ac.abort(new Error('interrupted'))
    await expect(creating).rejects.toBeTruthy()
    expect(slow.isDone()).toBe(true)
    expect(s.journal.entries().map((x) => x.kind)).toEqual(['network-security-group', 'public-ip', 'network-interface', 'os-disk', 'virtual-machine'])

    arrangeRemove(arm, n, { vm: true, disk: 'deleted-with-vm', nic: true, ip: true, nsg: true })
    await driver.remove(s.journal)
    expect(s.journal.entries()).toEqual([])
  })

  it('says it is still waiting during a long operation', async () => {
    const { driver, logs } = await setup({}, { MACHINE_POLL_INTERVAL_MS: '2' })
    arm.postAction(`${p.vm}/start`, {}, { inProgress: 30 })
    await driver.start()
    expect(logs.some((l) => /^Still waiting for Azure to start virtual machine web1 \(\d+s\)…$/.test(l))).toBe(true)
  })
})

// ------------------------------------------------------------------------------------------------

describe('azure clouds and credentials', () => {
  it('AzureChinaCloud: its Resource Manager endpoint and token scope', async () => {
    arm.dispose()
    arm = new ArmMock('https://management.chinacloudapi.cn', 'chinanorth3')
    const { driver } = await setup({ 'azure-environment': 'AzureChinaCloud', 'azure-location': 'chinanorth3' })
    arm.get(`${p.vm}/instanceView`, API.compute, 200, instanceView('running'))
    expect(await driver.state()).toBe('Running')
    expect(scopesAsked).toEqual([['https://management.chinacloudapi.cn/.default']])
  })

  it('picks a client-secret credential only with a client id and secret, with the cloud\'s authority', () => {
    useTokenCredential(undefined)
    const gov = AZURE_ENVIRONMENTS.AzureUSGovernmentCloud!
    expect(credentialPlan({ clientId: 'app', clientSecret: SECRET, tenantId: 't1' }, gov)).toEqual({
      kind: 'client-secret',
      clientId: 'app',
      tenantId: 't1',
      authorityHost: 'https://login.microsoftonline.us',
    })
    expect(credentialPlan({ clientId: 'app' }, AZURE_ENVIRONMENTS.AzurePublicCloud!)).toEqual({
      kind: 'default',
      tenantId: undefined,
      authorityHost: 'https://login.microsoftonline.com',
    })
    expect(() => credentialPlan({ clientSecret: SECRET }, gov)).toThrow('--azure-client-secret needs --azure-client-id')
    useTokenCredential(fakeCredential)
    expect(credentialPlan({ clientId: 'app', clientSecret: SECRET }, gov)).toEqual({ kind: 'injected' })
  })

  it('finds the tenant of a subscription like docker-machine did, without sending credentials', async () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47'
    const anon = nock('https://management.azure.com', { badheaders: ['authorization'] })
      .get(`/subscriptions/${SUB}`)
      .query({ 'api-version': '2022-12-01' })
      .reply(401, armError('AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing."), {
        'WWW-Authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${tenant}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
      })
    expect(await discoverTenant(AZURE_ENVIRONMENTS.AzurePublicCloud!, SUB)).toBe(tenant)
    expect(anon.isDone()).toBe(true)
  })
})
