// The shared driver conformance suite, run against the azure driver with Resource Manager mocked
// by nock (real ARM JSON and long-running-operation headers; see fixtures/azure/arm.ts).
import nock from 'nock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import azure from '../../drivers/azure/index.js'
import { useTokenCredential } from '../../drivers/azure/client.js'
import { driverConformance, type ConformanceStep } from '../../src/driver-kit/conformance.js'
import { API, ArmMock, SUB } from './fixtures/azure/arm.js'
import { arrangeCreate, arrangeInstanceView, arrangePreCheck, arrangeRemove, names, paths } from './fixtures/azure/flows.js'

const arm = new ArmMock()

beforeAll(() => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
  useTokenCredential({ getToken: async () => ({ token: 'fake', expiresOnTimestamp: Date.now() + 3600e3 }) })
})

afterAll(() => {
  useTokenCredential(undefined)
  arm.dispose()
  nock.cleanAll()
  nock.enableNetConnect()
})

const ok = names('conf-azure')
const failing = names('conf-azure-fail')

function arrange(step: ConformanceStep): void {
  switch (step) {
    case 'preCreateCheck':
      return arrangePreCheck(arm, ok, { group: 'missing' })
    case 'create':
      return arrangeCreate(arm, ok, { groupExists: false, vnet: 'create' })
    case 'state:running':
      return arrangeInstanceView(arm, ok, 'running')
    case 'ip':
      // Public IP as ARM reports it after creation.
      arm.get(paths(ok).ip, API.network, 200, {
        name: 'conf-azure-ip',
        id: paths(ok).ip,
        type: 'Microsoft.Network/publicIPAddresses',
        location: 'westus',
        sku: { name: 'Standard', tier: 'Regional' },
        properties: { provisioningState: 'Succeeded', ipAddress: '127.0.0.5', publicIPAllocationMethod: 'Static' },
      })
      return
    case 'stop':
      arm.postAction(`${paths(ok).vm}/deallocate`)
      return
    case 'state:stopped':
      return arrangeInstanceView(arm, ok, 'deallocated')
    case 'start':
      arm.postAction(`${paths(ok).vm}/start`)
      return
    case 'restart':
      arrangeInstanceView(arm, ok, 'running')
      arm.postAction(`${paths(ok).vm}/restart`)
      return
    case 'kill':
      arm.postAction(`${paths(ok).vm}/powerOff`, { skipShutdown: 'true' })
      return
    case 'remove':
      return arrangeRemove(arm, ok, { vm: true, disk: 'deleted-with-vm', nic: true, ip: true, vnet: 'ours', nsg: true, group: 'ours-empty' })
    case 'create:failing':
      arrangePreCheck(arm, failing, { group: 'missing' })
      return arrangeCreate(arm, failing, {
        groupExists: false,
        vnet: 'create',
        vmFailsWith: {
          code: 'OSProvisioningTimedOut',
          message: "OS Provisioning for VM 'conf-azure-fail' did not finish in the allotted time. The VM may still finish provisioning successfully.",
        },
      })
    case 'rollback':
      return arrangeRemove(arm, failing, { vm: true, disk: 'deleted-with-vm', nic: 'reserved-once', ip: true, vnet: 'ours', nsg: true, group: 'ours-empty' })
    default:
      return
  }
}

function verify(step: ConformanceStep): void {
  expect(arm.unmatched, `unmatched requests after ${step}`).toEqual([])
  expect(nock.pendingMocks(), `unused interceptors after ${step}`).toEqual([])
  expect(nock.isDone()).toBe(true)
}

driverConformance(
  {
    definition: azure,
    flags: { 'azure-subscription-id': SUB, 'azure-client-secret': 'not-a-real-secret-0123' },
    env: { MACHINE_POLL_INTERVAL_MS: '1' },
    arrange,
    verify,
    failingCreate: true,
  },
  { describe, it, expect, beforeAll, afterAll },
)
