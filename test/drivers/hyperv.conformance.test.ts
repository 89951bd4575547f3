/**
 * The shared driver conformance suite on the hyperv driver, against the stateful fake
 * powershell.exe on PATH (test/helpers/fake-powershell.ts): every script the driver runs goes
 * through the real invocation (-EncodedCommand) and is interpreted strictly by the fake. Hyper-V
 * itself cannot run here. The failing create is a New-VM that fails: what create made before it
 * (the VHDX, the seed) is rolled back, and the fake has no VM and the machine directory no disk.
 */
import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DriverContext, DriverDefinition } from '../../src/driver-kit/contract.js'
import { driverConformance, type ConformanceStep } from '../../src/driver-kit/conformance.js'
import hyperv from '../../drivers/hyperv/index.js'
import { fakeHyperV, type FakeHyperV } from '../helpers/fake-hyperv.js'
import { tempDir } from '../helpers/tmp.js'

const definition = hyperv as unknown as DriverDefinition

const dir = await tempDir('hyperv-conf-image-', { scope: 'file' })
const image = join(dir, 'debian-12-generic-amd64.raw')
const raw = Buffer.alloc(3 * 1024 * 1024 + 512)
raw.writeUInt16LE(0xaa55, 510)
await writeFile(image, raw)
const hv: FakeHyperV = await fakeHyperV({ FAKE_HYPERV_BOOT_MS: '50' })
const env: NodeJS.ProcessEnv = { ...hv.env, MACHINE_POLL_INTERVAL_MS: '20', MACHINE_HYPERV_IP_TIMEOUT_MS: '10000' }

async function arrange(step: ConformanceStep): Promise<void> {
  if (step === 'create:failing') env.FAKE_HYPERV_FAIL = `New-VM:${(hv.state().counts['New-VM'] ?? 0) + 1}`
  if (step === 'rollback') delete env.FAKE_HYPERV_FAIL
}

async function verify(step: ConformanceStep, ctx: DriverContext): Promise<void> {
  const vms = hv.state().vms.filter((v) => v.name === ctx.machineName)
  if (step === 'create') {
    // Hyper-V's own files go in the machine directory's hyperv/ folder.
    expect(existsSync(join(ctx.machineDir, 'hyperv', ctx.machineName, 'Virtual Machines'))).toBe(true)
    expect(vms).toMatchObject([{ state: 'Running', secureBootTemplate: 'MicrosoftUEFICertificateAuthority', switchName: 'LAN (Intel® Ethernet)', memoryBytes: 1024 * 1024 * 1024, dynamicMemory: true }])
    expect(hv.state().disks[join(ctx.machineDir, 'disk.vhdx')]).toBe(20000 * 1024 * 1024)
    // The fixed VHD made on the way is gone; the cached image is untouched.
    expect(existsSync(join(ctx.machineDir, 'disk.vhd'))).toBe(false)
    expect(ctx.config.IPAddress).toBe('127.0.0.1')
  }
  if (step === 'state:stopped') expect(vms[0]?.state).toBe('Off')
  if (step === 'remove' || step === 'rollback') {
    expect(vms).toEqual([])
    expect((await readdir(ctx.machineDir)).filter((f) => /\.(vhdx?|iso)$/.test(f) || f === 'hyperv')).toEqual([])
  }
  if (step === 'create:failing') expect(vms).toEqual([])
}

driverConformance(
  { definition, flags: { 'hyperv-image': image }, env, arrange, verify, failingCreate: true, timeoutMs: 60_000 },
  { describe, it, expect, beforeAll, afterAll },
)
