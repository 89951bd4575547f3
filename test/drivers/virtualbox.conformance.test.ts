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
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { Client } from 'ssh2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DriverContext, DriverDefinition } from '../../src/driver-kit/contract.js'
import { driverConformance, type ConformanceStep } from '../../src/driver-kit/conformance.js'
import virtualbox from '../../drivers/virtualbox/index.js'
import { FAST, fakeVirtualBox, rawImage, startHypervisor, type FakeHypervisor, type FakeVirtualBox } from '../helpers/fake-virtualbox.js'

const definition: DriverDefinition = virtualbox

const vb: FakeVirtualBox = await fakeVirtualBox({ scope: 'file' })
const hv: FakeHypervisor = startHypervisor(vb)
afterAll(() => hv.stop())
const image = await rawImage()

/** Log in over the forwarded port accepting only the pinned host key; who are we there? */
function sshWhoami(ctx: DriverContext): Promise<string> {
  const pinned = Buffer.from(String((ctx.config.SSHHostKeys as string[])[0]).split(/\s+/)[1]!, 'base64')
  return new Promise((resolve, reject) => {
    const c = new Client()
    c.on('ready', () =>
      c.exec('cat /etc/hostname', (err, stream) => {
        if (err) return reject(err)
        let out = ''
        stream.on('data', (d: Buffer) => (out += d.toString()))
        stream.on('close', () => {
          c.end()
          resolve(out.trim())
        })
      }),
    )
    c.on('error', reject)
    c.connect({ host: '127.0.0.1', port: Number(ctx.config.SSHPort), username: String(ctx.config.SSHUser), privateKey: readFileSync(String(ctx.config.SSHKeyPath)), hostVerifier: (k: Buffer) => k.equals(pinned), readyTimeout: 10_000 })
  })
}

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port })
    s.on('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.on('error', () => resolve(false))
  })

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
      expect(await sshWhoami(ctx)).toBe(ctx.machineName)
      break
    case 'stop':
    case 'kill':
      expect(vm?.state).toBe('poweroff')
      expect(await listening(Number(ctx.config.SSHPort))).toBe(false)
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
