/**
 * A `machine create -d virtualbox` failing at any VBoxManage call of the driver's create (each
 * call in turn, on the fake VirtualBox, through the built CLI) exits non-zero with one "Error:"
 * line in VirtualBox's words, and its rollback leaves nothing: no VM, medium, host-only adapter
 * or DHCP server in VirtualBox, no machine directory, no guest; so does Ctrl-C. ~2 minutes on 2 cores (about 23
 * creates, two at a time): kept apart from virtualbox.test.ts so a tier can leave it out.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, runCli, startCli, tempStore } from '../helpers/cli.js'
import { FAST, fakeVirtualBox, rawImage, startHypervisor } from '../helpers/fake-virtualbox.js'

/** The key FAKE_VBOX_FAIL counts a call under, as the fake does. */
const failKey = (argv: string[]): string => (['controlvm', 'hostonlyif', 'dhcpserver', 'sharedfolder', 'guestproperty'].includes(argv[0]!) ? `${argv[0]}:${argv[0] === 'controlvm' ? argv[2] : argv[1]}` : argv[0]!)

describe('a create failing at any VBoxManage call rolls back everything, in one line', () => {
  let image: string
  let calls: string[][] = []

  beforeAll(async () => {
    ensureBuilt()
    image = await rawImage()
    // The calls of a create that works, up to the VM's start (the last of the driver's create).
    const vb = await fakeVirtualBox({ scope: 'file' })
    const hv = startHypervisor(vb)
    const store = await tempStore()
    const env = { ...vb.env, ...FAST }
    const r = await runCli(['create', '-d', 'virtualbox', '--virtualbox-image', image, '--virtualbox-no-vtx-check', 'f1'], { store, env, timeoutMs: 240_000 })
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0)
    await runCli(['rm', '-y', 'f1'], { store, env })
    await hv.stop()
    calls = vb.calls()
    calls = calls.slice(0, calls.findIndex((c) => c[0] === 'startvm') + 1)
  }, 300_000)

  it('at every call of create', async () => {
    const seen: Record<string, number> = {}
    const steps = calls.map((c) => {
      const key = failKey(c)
      seen[key] = (seen[key] ?? 0) + 1
      return { argv: c.join(' '), fail: `${key}:${seen[key]}` }
    })
    expect(steps.length).toBeGreaterThan(15)
    const failures: string[] = []
    const attempt = async (step: (typeof steps)[number]): Promise<void> => {
      const vb = await fakeVirtualBox()
      const hv = startHypervisor(vb)
      const store = await tempStore()
      const r = await runCli(['create', '-d', 'virtualbox', '--virtualbox-image', image, '--virtualbox-no-vtx-check', 'f1'], { store, env: { ...vb.env, ...FAST, FAKE_VBOX_FAIL: step.fail }, timeoutMs: 120_000 })
      await hv.settled()
      const s = vb.state()
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error: '))
      const left = [
        ...s.vms.map((v) => `vm ${v.name}`),
        ...s.media.map((m) => `medium ${m.path}`),
        ...s.hostonlyifs.map((h) => `adapter ${h.name}`),
        ...s.dhcpservers.map((d) => `dhcp ${d.netname}`),
        ...(existsSync(join(store, 'machines', 'f1')) ? [`files ${readdirSync(join(store, 'machines', 'f1')).join(',')}`] : []),
        ...(hv.guests.size ? ['a guest'] : []),
      ]
      // The one line names what failed: VirtualBox's own words.
      if (r.code === 0 || errors.length !== 1 || !/VBoxManage|VirtualBox/.test(errors[0]!) || left.length) {
        failures.push(`${step.fail} (${step.argv}): exit ${r.code}, ${errors.length} error lines ${JSON.stringify(errors)}, left: ${left.join('; ') || 'nothing'}`)
      }
      await hv.stop()
    }
    // Two at a time (each its own fake, hypervisor and store): the machine has 2 cores.
    const queue = [...steps]
    await Promise.all([0, 1].map(async () => {
      for (let step = queue.shift(); step; step = queue.shift()) await attempt(step)
    }))
    expect(failures).toEqual([])
  }, 900_000)
})

describe('an interrupted create (Ctrl-C while it waits for SSH) rolls back everything', () => {
  it('powers off, unregisters and deletes the VM, its disk and seed, and the adapter it made', async () => {
    ensureBuilt()
    const image = await rawImage()
    // No hypervisor: the VM starts but its guest never answers, so create waits for SSH.
    const vb = await fakeVirtualBox()
    const store = await tempStore()
    const cli = startCli(['create', '-d', 'virtualbox', '--virtualbox-image', image, '--virtualbox-no-vtx-check', 'i1'], { store, env: { ...vb.env, ...FAST } })
    // startvm is in calls.log before its change is in the state: wait for the state.
    await cli.until(() => vb.calls().some((c) => c[0] === 'startvm') && vb.state().vms.some((v) => v.state === 'running'), 'a running VM', 120_000)
    expect(vb.state().vms.map((v) => v.state)).toEqual(['running'])
    cli.proc.kill('SIGINT')
    expect(await cli.exit).not.toBe(0)
    expect(cli.stderr().split('\n').filter((l) => l.startsWith('Error: '))).toEqual(['Error: Interrupted'])
    const s = vb.state()
    expect({ vms: s.vms, media: s.media, adapters: s.hostonlyifs }).toEqual({ vms: [], media: [], adapters: [] })
    expect(existsSync(join(store, 'machines', 'i1'))).toBe(false)
    expect(vb.calls().map((c) => c.slice(0, 2).join(' '))).toEqual(expect.arrayContaining(['controlvm i1', 'unregistervm i1']))
  }, 180_000)
})
