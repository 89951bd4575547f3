/**
 * The shared driver conformance suite on the virtualbox driver, against the fake VirtualBox
 * (test/helpers/fake-virtualbox.ts): the fake VBoxManage first on PATH, and the fake hypervisor
 * serving each started VM's guest (a chroot host behind a real sshd on the VM's forwarded SSH
 * port, with the host key the driver put in its seed).
 *
 * Beyond the suite's own checks: after create and start the guest answers SSH on the forwarded
 * port with exactly the pinned host key, for the seed's user and the machine's key; after stop
 * and kill nothing listens there; a create failing at its second storageattach is rolled back
 * by remove to nothing; after remove VirtualBox knows no VM, medium or adapter and no guest runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DriverContext, DriverDefinition } from '../../src/driver-kit/contract.js'
import { driverConformance, type ConformanceStep } from '../../src/driver-kit/conformance.js'
import virtualbox from '../../drivers/virtualbox/index.js'
import { FAST, fakeVirtualBox, portOpen, rawImage, sshExec, startHypervisor, type FakeHypervisor, type FakeVirtualBox } from '../helpers/fake-virtualbox.js'

const definition: DriverDefinition = virtualbox

const vb: FakeVirtualBox = await fakeVirtualBox({ scope: 'file' })
const hv: FakeHypervisor = startHypervisor(vb)
afterAll(() => hv.stop())
const image = await rawImage()

/** Log in over the forwarded port as the machine's user, accepting only the pinned host key: the guest's hostname. */
const sshHostname = async (ctx: DriverContext): Promise<string> =>
  (await sshExec(Number(ctx.config.SSHPort), String(ctx.config.SSHUser), String(ctx.config.SSHKeyPath), String((ctx.config.SSHHostKeys as string[])[0]), 'cat /etc/hostname')).trim()

async function arrange(step: ConformanceStep): Promise<void> {
  if (step === 'create:failing') {
    // The failing create's second storageattach (the disk), counted from this fake's calls so far.
    process.env.FAKE_VBOX_FAIL = `storageattach:${(vb.state().counts.storageattach ?? 0) + 2}`
  }
  if (step === 'rollback') delete process.env.FAKE_VBOX_FAIL
}

async function verify(step: ConformanceStep, ctx: DriverContext): Promise<void> {
  await hv.settled()
  const vm = vb.state().vms.find((v) => v.name === ctx.machineName)
  switch (step) {
    case 'create':
    case 'start':
      expect(vm?.state).toBe('running')
      expect(await sshHostname(ctx)).toBe(ctx.machineName)
      break
    case 'stop':
    case 'kill':
      expect(vm?.state).toBe('poweroff')
      expect(await portOpen(Number(ctx.config.SSHPort))).toBe(false)
      break
    case 'create:failing':
      expect(vm).toBeDefined()
      break
    case 'remove':
    case 'rollback': {
      const s = vb.state()
      expect(s.vms.filter((v) => v.name === ctx.machineName)).toEqual([])
      expect(s.media).toEqual([])
      expect(s.hostonlyifs).toEqual([])
      expect([...hv.guests.keys()]).toEqual([])
      break
    }
  }
}

// VBoxManage runs with this process's environment (the driver passes none of its own).
process.env.FAKE_VBOX_ACPI_MS = FAST.FAKE_VBOX_ACPI_MS
afterAll(() => {
  delete process.env.FAKE_VBOX_ACPI_MS
  delete process.env.FAKE_VBOX_FAIL
})

driverConformance(
  {
    definition,
    flags: { 'virtualbox-image': image, 'virtualbox-no-vtx-check': true },
    env: { ...vb.env, ...FAST, HOME: process.env.HOME },
    arrange,
    verify,
    failingCreate: true,
    timeoutMs: 90_000,
  },
  { describe, it, expect, beforeAll, afterAll },
)
