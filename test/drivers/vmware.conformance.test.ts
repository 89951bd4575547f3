/**
 * The shared driver conformance suite on the vmware driver, with the real runner (client.ts)
 * calling the fake vmrun / vmware-vdiskmanager on PATH and the fake hypervisor running the
 * guest (test/helpers/fake-vmware.ts); a create failing at the VM's start is rolled back.
 */
import { existsSync, readdirSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DriverDefinition } from '../../src/driver-kit/contract.js'
import { driverConformance } from '../../src/driver-kit/conformance.js'
import vmware from '../../drivers/vmware/index.js'
import { fakeVmware, startHypervisor } from '../helpers/fake-vmware.js'
import { tempDir } from '../helpers/tmp.js'

const vm = await fakeVmware({ scope: 'file' })
const hv = startHypervisor(vm)
const image = join(await tempDir('vmware-conf-image-', { scope: 'file' }), 'debian.raw')
await writeFile(image, Buffer.alloc(4 * 2 ** 20))

driverConformance(
  {
    definition: vmware as unknown as DriverDefinition,
    flags: { 'vmware-image': image },
    env: { ...process.env, ...vm.env, MACHINE_POLL_INTERVAL_MS: '50', MACHINE_VMWARE_IP_TIMEOUT_MS: '60000', MACHINE_VMWARE_STOP_TIMEOUT_MS: '20000' },
    failingCreate: true,
    timeoutMs: 60_000,
    arrange: (step) => {
      // The fake reads its failure from the environment the runner's children inherit.
      if (step === 'create:failing') process.env.FAKE_VMWARE_FAIL = 'start:1+'
      if (step === 'rollback') delete process.env.FAKE_VMWARE_FAIL
    },
    verify: async (step, ctx) => {
      if (step === 'state:stopped' || step === 'state:running') await hv.settled()
      if (step === 'create:failing') expect(vm.state().running).toEqual([])
      if (step === 'rollback' || step === 'remove') {
        await hv.settled()
        expect(vm.state().running).toEqual([])
        expect(Object.keys(vm.state().disks).filter((d) => d.startsWith(ctx.machineDir))).toEqual([])
        expect(readdirSync(ctx.machineDir).filter((f) => /\.(vmx|vmdk|iso)$/.test(f))).toEqual([])
      }
    },
  },
  { describe, it, expect, beforeAll, afterAll },
)

describe('after the suite', () => {
  it('no guest is left running and every disk the fake made is gone', async () => {
    await hv.settled()
    expect(vm.state()).toEqual({ running: [], disks: {} })
    expect([...hv.guests.values()].filter((g) => g.up)).toEqual([])
    expect(existsSync(vm.home)).toBe(true)
  })
})
