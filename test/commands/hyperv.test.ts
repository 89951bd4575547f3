/**
 * `machine create -d hyperv` end to end through the BUILT binary, against the stateful fake
 * powershell.exe on PATH and a fake hypervisor that serves each running VM's guest with the
 * project's test doubles (a chroot host behind a real sshd with the seed's host key, the TLS
 * engine stand-in): create → env → stop → start → rm; stop --save → start (a resume) and the
 * saved state discarded by stop, kill and rm; then a failure injected at each cmdlet of create
 * (nothing left: no VM, no machine, no files) and at stop, start and rm.
 *
 * The fake reports the guest's address as 127.0.0.1 (Hyper-V guests have their own address; the
 * tests may use no other), so its sshd and engine listen on free ports of 127.0.0.1, which the CLI
 * is told with MACHINE_HYPERV_SSH_PORT / MACHINE_HYPERV_ENGINE_PORT (fake-hyperv.ts). The chroot
 * host needs root, as the test suite runs.
 */
import { existsSync, readFileSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { runCli, startCli, tempStore } from '../helpers/cli.js'
import { fakeHyperV, startHypervisor } from '../helpers/fake-hyperv.js'
import { tempDir } from '../helpers/tmp.js'

async function rawImage(): Promise<string> {
  const image = join(await tempDir('hyperv-e2e-image-'), 'debian-12-generic-amd64.raw')
  const raw = Buffer.alloc(2 * 1024 * 1024)
  raw.writeUInt16LE(0xaa55, 510)
  await writeFile(image, raw)
  return image
}

const KNOBS = { FAKE_HYPERV_BOOT_MS: '100', MACHINE_POLL_INTERVAL_MS: '50', MACHINE_HYPERV_IP_TIMEOUT_MS: '5000' }
/** The error is one line, the last (a rollback's progress line may come before it). */
const oneLine = (stderr: string) => {
  const lines = stderr.trimEnd().split('\n')
  expect(lines.filter((l) => l.startsWith('Error: ')), stderr).toEqual([lines.at(-1)])
}

describe('machine create -d hyperv, end to end on the fake powershell.exe', () => {
  it('create → env → stop → start → rm, the guest served over SSH with the pinned host key', async () => {
    const hv = await fakeHyperV(KNOBS)
    const hypervisor = startHypervisor(hv)
    const store = await tempStore()
    const image = await rawImage()
    const env = hv.env
    const created = await runCli(['create', '-d', 'hyperv', '--hyperv-image', image, 'h1'], { store, env, timeoutMs: 240_000 })
    expect(created.code, `${created.stderr}\nevents: ${hypervisor.events.join(' | ')}`).toBe(0)
    expect(hv.state().vms).toMatchObject([{ name: 'h1', state: 'Running', switchName: 'LAN (Intel® Ethernet)', secureBootTemplate: 'MicrosoftUEFICertificateAuthority' }])
    expect(hypervisor.events).toContain('engine h1')
    // The first connection was verified against the host key put in the seed, and provisioning ran over it.
    const config = JSON.parse(readFileSync(join(store, 'machines', 'h1', 'config.json'), 'utf8')) as { Driver: { SSHHostKeys: string[]; IPAddress: string } }
    const guest = [...hypervisor.guests.values()][0]!
    expect(config.Driver.SSHHostKeys).toEqual([guest.disk.hostKeyPub])
    expect(config.Driver.IPAddress).toBe('127.0.0.1')
    expect(guest.disk.calls()).toContain('systemctl restart docker')

    const envOut = await runCli(['env', '--shell', 'bash', 'h1'], { store, env })
    expect(envOut.code, envOut.stderr).toBe(0)
    expect(envOut.stdout).toContain(`export DOCKER_HOST="tcp://127.0.0.1:${hv.enginePort}"`)
    expect(envOut.stdout).toContain(`export DOCKER_CERT_PATH="${join(store, 'machines', 'h1')}"`)

    const stopped = await runCli(['stop', 'h1'], { store, env })
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(hv.state().vms[0]?.state).toBe('Off')
    expect(hv.calls().map((c) => c.cmdlet)).toContain('Stop-VM')
    const st = await runCli(['status', 'h1'], { store, env })
    expect(st.stdout.trim()).toBe('Stopped')

    // Start-VM failing: one line, the machine stays as it was.
    const failedStart = await runCli(['start', 'h1'], { store, env: { ...env, FAKE_HYPERV_FAIL: 'Start-VM' } })
    expect(failedStart.code).not.toBe(0)
    oneLine(failedStart.stderr)
    expect(failedStart.stderr).toContain('Hyper-V Start-VM failed: The operation failed (injected into Start-VM call')
    expect((await runCli(['status', 'h1'], { store, env })).stdout.trim()).toBe('Stopped')

    const started = await runCli(['start', 'h1'], { store, env, timeoutMs: 120_000 })
    expect(started.code, `${started.stderr}\nevents: ${hypervisor.events.join(' | ')}`).toBe(0)
    expect((await runCli(['status', 'h1'], { store, env })).stdout.trim()).toBe('Running')

    // A guest shutdown that fails is followed by turning the VM off.
    const hardStop = await runCli(['stop', 'h1'], { store, env: { ...env, FAKE_HYPERV_FAIL: 'Stop-VM' } })
    expect(hardStop.code, hardStop.stderr).toBe(0)
    const cmdlets = hv.calls().map((c) => c.cmdlet)
    expect(cmdlets.slice(cmdlets.lastIndexOf('Stop-VM'))).toContain('Stop-VM -TurnOff')
    expect(hv.state().vms[0]?.state).toBe('Off')

    // Remove-VM failing: one line, the machine and its VM are both still there to try again.
    const failedRm = await runCli(['rm', '-y', 'h1'], { store, env: { ...env, FAKE_HYPERV_FAIL: 'Remove-VM' } })
    expect(failedRm.code).not.toBe(0)
    oneLine(failedRm.stderr)
    expect(hv.state().vms).toHaveLength(1)
    expect(existsSync(join(store, 'machines', 'h1', 'config.json'))).toBe(true)

    const removed = await runCli(['rm', '-y', 'h1'], { store, env })
    expect(removed.code, removed.stderr).toBe(0)
    expect(hv.state().vms).toEqual([])
    expect(existsSync(join(store, 'machines', 'h1'))).toBe(false)
    // Every call was one the fake recognised: no script outside the driver's templates ran.
    expect(hv.calls().filter((c) => c.cmdlet === 'UNRECOGNISED' || c.cmdlet === 'REFUSED')).toEqual([])
    await hypervisor.stop()
  }, 300_000)

  it('stop --save → Saved → start resumes it (Start-VM, no boot, the clock tried) → stop and kill of a saved machine discard its state; rm of a saved one leaves nothing', async () => {
    const hv = await fakeHyperV({ ...KNOBS, MACHINE_HYPERV_CLOCK_SYNC_MS: '2000' })
    const hypervisor = startHypervisor(hv)
    const store = await tempStore()
    const env = hv.env
    const created = await runCli(['create', '-d', 'hyperv', '--hyperv-image', await rawImage(), 's1'], { store, env, timeoutMs: 240_000 })
    expect(created.code, `${created.stderr}\nevents: ${hypervisor.events.join(' | ')}`).toBe(0)
    const status = async () => (await runCli(['status', 's1'], { store, env })).stdout.trim()
    const vm = () => hv.state().vms[0]!
    const stateFile = () => join(vm().path, 'Virtual Machines', `${vm().id}.vmrs`)
    const cmdletsSince = (n: number) => hv.calls().slice(n).map((c) => c.cmdlet)

    let mark = hv.calls().length
    const saved = await runCli(['stop', '--save', 's1'], { store, env })
    expect(saved.code, saved.stderr).toBe(0)
    expect(saved.stdout).toContain('Machine "s1" was saved.')
    expect(cmdletsSince(mark)).toContain('Save-VM')
    expect(cmdletsSince(mark)).not.toContain('Stop-VM')
    expect(vm().state).toBe('Saved')
    // The state lives in Hyper-V's folder of the VM, inside the machine's directory.
    expect(stateFile().startsWith(join(store, 'machines', 's1', 'hyperv'))).toBe(true)
    expect(existsSync(stateFile())).toBe(true)
    expect(await status()).toBe('Saved')
    await vi.waitFor(() => expect(hypervisor.events).toContain('save s1'), { timeout: 5000 })

    const again = await runCli(['stop', '--save', 's1'], { store, env })
    expect(again.code).not.toBe(0)
    oneLine(again.stderr)
    expect(again.stderr).toMatch(/Machine "s1" is already saved: ".*\bstart s1" resumes it/)

    mark = hv.calls().length
    const guest = [...hypervisor.guests.values()][0]!
    const execsBefore = guest.disk.commands().length
    const resumed = await runCli(['start', 's1'], { store, env, timeoutMs: 120_000 })
    expect(resumed.code, `${resumed.stderr}\nevents: ${hypervisor.events.join(' | ')}`).toBe(0)
    expect(cmdletsSince(mark)).toContain('Start-VM')
    // Hyper-V resumed it: no boot (the fake's boot path would set lastStart 'boot' and the hypervisor log "boot s1" again).
    expect(vm()).toMatchObject({ state: 'Running', lastStart: 'resume' })
    expect(hypervisor.events.filter((e) => e === 'boot s1')).toHaveLength(1)
    expect(hypervisor.events).toContain('resume s1')
    expect(existsSync(stateFile())).toBe(false)
    // The clock was asked for over SSH with the pinned key; the test guest has no `date`, so its failure is said, not fatal.
    expect(guest.disk.commands().slice(execsBefore)).toContain('date +%s%N')
    expect(resumed.stdout + resumed.stderr).toContain('The clock of "s1" could not be set after the resume')
    expect(await status()).toBe('Running')
    // The engine answers after the resume (start waited for it with the machine's certificates).
    const envOut = await runCli(['env', '--shell', 'bash', 's1'], { store, env })
    expect(envOut.code, envOut.stderr).toBe(0)

    // stop of a saved machine: its state is discarded (Remove-VMSavedState), not resumed or shut down.
    expect((await runCli(['stop', '--save', 's1'], { store, env })).code).toBe(0)
    mark = hv.calls().length
    const discarded = await runCli(['stop', 's1'], { store, env })
    expect(discarded.code, discarded.stderr).toBe(0)
    expect(discarded.stdout + discarded.stderr).toContain('Discarding the saved state of "s1": its next start boots it afresh')
    // The command's state check, the driver's, the discard, the wait for Stopped.
    expect(cmdletsSince(mark)).toEqual(['Get-VM', 'Get-VM', 'Remove-VMSavedState', 'Get-VM'])
    expect(vm().state).toBe('Off')
    expect(existsSync(stateFile())).toBe(false)
    expect(await status()).toBe('Stopped')

    // --save on a stopped machine: one line, nothing run but the state query.
    mark = hv.calls().length
    const stoppedSave = await runCli(['stop', '--save', 's1'], { store, env })
    expect(stoppedSave.code).not.toBe(0)
    oneLine(stoppedSave.stderr)
    expect(stoppedSave.stderr).toContain('Machine "s1" is already stopped')
    expect(cmdletsSince(mark)).toEqual(['Get-VM'])

    // The next start boots afresh.
    const booted = await runCli(['start', 's1'], { store, env, timeoutMs: 120_000 })
    expect(booted.code, `${booted.stderr}\nevents: ${hypervisor.events.join(' | ')}`).toBe(0)
    expect(vm().lastStart).toBe('boot')
    expect(booted.stdout + booted.stderr).not.toContain('clock')

    // kill of a saved machine discards its state too.
    expect((await runCli(['stop', '--save', 's1'], { store, env })).code).toBe(0)
    mark = hv.calls().length
    const killed = await runCli(['kill', 's1'], { store, env })
    expect(killed.code, killed.stderr).toBe(0)
    expect(cmdletsSince(mark)).toContain('Remove-VMSavedState')
    expect(cmdletsSince(mark)).not.toContain('Stop-VM -TurnOff')
    expect(await status()).toBe('Stopped')

    // rm of a saved machine: its state, the VM and every file go.
    expect((await runCli(['start', 's1'], { store, env, timeoutMs: 120_000 })).code).toBe(0)
    expect((await runCli(['stop', '--save', 's1'], { store, env })).code).toBe(0)
    const removed = await runCli(['rm', '-y', 's1'], { store, env })
    expect(removed.code, removed.stderr).toBe(0)
    expect(hv.state().vms).toEqual([])
    expect(existsSync(join(store, 'machines', 's1'))).toBe(false)
    expect(hv.calls().filter((c) => c.cmdlet === 'UNRECOGNISED' || c.cmdlet === 'REFUSED')).toEqual([])
    await hypervisor.stop()
  }, 300_000)

  it('a failure at each cmdlet of create is one line, and leaves no VM, no machine and no file behind', async () => {
    const store = await tempStore()
    const image = await rawImage()
    for (const cmdlet of ['probe', 'Get-VMSwitch', 'Convert-VHD', 'Resize-VHD', 'New-VM', 'Set-VM', 'Set-VMMemory', 'Set-VMFirmware', 'Add-VMDvdDrive', 'Start-VM', 'Get-VMNetworkAdapter']) {
      const hv = await fakeHyperV({ ...KNOBS, FAKE_HYPERV_FAIL: cmdlet })
      const r = await runCli(['create', '-d', 'hyperv', '--hyperv-image', image, 'f1'], { store, env: hv.env, timeoutMs: 120_000 })
      expect(r.code, cmdlet).not.toBe(0)
      oneLine(r.stderr)
      expect(r.stderr, cmdlet).toContain(`injected into ${cmdlet} call 1`)
      expect(hv.state().vms, cmdlet).toEqual([])
      expect(existsSync(join(store, 'machines', 'f1')), cmdlet).toBe(false)
      expect(await readdir(image.slice(0, image.lastIndexOf('/'))), cmdlet).toEqual(['debian-12-generic-amd64.raw'])
    }
  }, 300_000)

  it('Ctrl-C while create waits for the address removes the VM, its disk and seed, and the machine', async () => {
    const hv = await fakeHyperV({ ...KNOBS, FAKE_HYPERV_IPS: ',', MACHINE_HYPERV_IP_TIMEOUT_MS: '120000' })
    const store = await tempStore()
    const image = await rawImage()
    const cli = startCli(['create', '-d', 'hyperv', '--hyperv-image', image, 'int1'], { store, env: hv.env })
    // Interrupt once the VM runs and create is polling its adapter.
    await cli.until(() => hv.calls().some((c) => c.cmdlet === 'Get-VMNetworkAdapter'), 'the address wait')
    expect(hv.state().vms).toMatchObject([{ name: 'int1', state: 'Running' }])
    cli.proc.kill('SIGINT')
    expect(await cli.exit).toBe(130)
    expect(cli.stderr().trimEnd().split('\n').pop()).toBe('Error: Interrupted')
    expect(hv.state().vms).toEqual([])
    expect(existsSync(join(store, 'machines', 'int1'))).toBe(false)
  }, 120_000)

  it('refusals before anything is made: no External switch (how to make one, or use "Default Switch"), not an administrator', async () => {
    const store = await tempStore()
    const noExternal = await fakeHyperV({ ...KNOBS, FAKE_HYPERV_SWITCHES: JSON.stringify([{ Name: 'Default Switch', SwitchType: 'Internal' }]) })
    const r = await runCli(['create', '-d', 'hyperv', 'n1'], { store, env: noExternal.env })
    expect(r.code).not.toBe(0)
    oneLine(r.stderr)
    expect(r.stderr).toContain('Hyper-V has no External virtual switch; the switches here: "Default Switch" (Internal): make one as administrator: New-VMSwitch')
    expect(r.stderr).toContain('--hyperv-virtual-switch "Default Switch"')
    const user = await fakeHyperV({ ...KNOBS, FAKE_HYPERV_ROLE: 'user' })
    const u = await runCli(['create', '-d', 'hyperv', 'n1'], { store, env: user.env })
    oneLine(u.stderr)
    expect(u.stderr).toContain('Hyper-V commands need a member of "Hyper-V Administrators" or an administrator')
    expect(noExternal.state().vms).toEqual([])
    expect(existsSync(join(store, 'machines', 'n1'))).toBe(false)
    const b2d = await runCli(['create', '-d', 'hyperv', '--hyperv-boot2docker-url', 'https://example.invalid/b2d.iso', 'n1'], { store, env: user.env })
    oneLine(b2d.stderr)
    expect(b2d.stderr).toContain('boot2docker is no longer used (it ended in 2020): give a cloud image with --hyperv-image URL instead')
  }, 120_000)
})
