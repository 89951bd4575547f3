/**
 * `stop --save` / resume, the pure parts: the -incoming command line, what counts as the VM's
 * hardware (a state saved with other hardware, or by another QEMU, is not resumed), and the guest
 * clock's correction after a resume; and the guest's shorter power-off. The save and the resume themselves run against real QEMU in
 * test/drivers/qemu.lifecycle.test.ts and with a real guest in test/e2e/qemu.e2e.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { qemuArgs } from '../../drivers/qemu/cmdline.js'
import { shiftClockCommand, syncGuestClock } from '../../src/driver-kit/guest-clock.js'
import { hardwareFingerprint, unusableBecause } from '../../drivers/qemu/vm-state.js'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CLOUD_CONFIG_DROP_IN,
  CLOUD_CONFIG_DROP_IN_TEXT,
  cloudConfigDropInBootcmd,
  CONTAINERD_DROP_IN,
  CONTAINERD_DROP_IN_TEXT,
  containerdDropInBootcmd,
  CONTAINERD_FIRST_BOOT_DROP_IN,
  CONTAINERD_FIRST_BOOT_DROP_IN_TEXT,
  containerdFirstBootBootcmd,
  sshPasswordOffBootcmd,
  START_CONTAINERD_BOOTCMD,
} from '../../drivers/qemu/guest-engine-start.js'
import { dropInBootcmd } from '../../drivers/qemu/guest-drop-in.js'
import { HAS_CONTAINERD_UNIT } from '../../src/provision/engine-config.js'
import { POWEROFF_DROP_IN, POWEROFF_DROP_IN_TEXT, poweroffDropInBootcmd } from '../../drivers/qemu/guest-poweroff.js'
import { baseLaunchSpec } from '../helpers/qemu-launch-spec.js'

const base = baseLaunchSpec

describe('resuming a saved state: the command line', () => {
  it('incoming: QEMU waits for the state over QMP (-incoming defer) instead of booting', () => {
    const a = qemuArgs({ ...base, incoming: true })
    expect(a.slice(-2)).toEqual(['-incoming', 'defer'])
    expect(qemuArgs(base)).not.toContain('-incoming')
  })

  it('the hardware fingerprint ignores ports and sockets, but not memory, CPUs, accelerator or devices', () => {
    const fp = hardwareFingerprint(base)
    expect(hardwareFingerprint({ ...base, sshPort: 1, engineHostPort: 2, qmp: { path: '/tmp/x.sock' }, incoming: true })).toBe(fp)
    const nic = { localPort: 5000, switchPort: 6000, mac: '52:54:00:a8:64:02' }
    expect(hardwareFingerprint({ ...base, cluster: nic })).toBe(hardwareFingerprint({ ...base, cluster: { ...nic, localPort: 7000, switchPort: 8000 } }))
    for (const changed of [{ memoryMb: 4096 }, { cpus: 4 }, { accel: 'kvm' as const }, { cluster: nic }, { seed: undefined }, { forwards: [{ proto: 'tcp' as const, host: 8080, guest: 80 }] }]) {
      expect(hardwareFingerprint({ ...base, ...changed }), JSON.stringify(changed)).not.toBe(fp)
    }
  })

  it('says why a saved state cannot be resumed: no record, another QEMU, other hardware', () => {
    const now = { qemuVersion: '7.2.22', hardware: 'abc' }
    expect(unusableBecause({ ...now, savedAt: '' }, now)).toBeUndefined()
    expect(unusableBecause(undefined, now)).toBe('its record is missing or unreadable')
    expect(unusableBecause({ ...now, qemuVersion: '8.2.2', savedAt: '' }, now)).toBe('it was saved by QEMU 8.2.2, this is QEMU 7.2.22')
    expect(unusableBecause({ ...now, hardware: 'def', savedAt: '' }, now)).toMatch(/^the VM's settings .* changed since$/)
  })
})

describe('the guest clock after a resume', () => {
  it('shiftClockCommand moves a clock by the offset at the instant it runs (run here with a fake date)', () => {
    // A `date` that reads a fixed guest time and records what it is set to.
    const script = (offset: bigint) =>
      `date() { if [ "$1" = +%s%N ]; then echo 1700000000123456789; else echo "$@"; fi; }; printf() { command printf "$@"; }; ${shiftClockCommand(offset)
        .replace('>/dev/null', '')}`
    const run = (offset: bigint) => execFileSync('sh', ['-c', script(offset)], { encoding: 'utf8' }).trim()
    expect(run(3_600_000_000_000n)).toBe('-u -s @1700003600.123456789')
    expect(run(-123_456_790n)).toBe('-u -s @1699999999.999999999')
    expect(run(0n)).toBe('-u -s @1700000000.123456789')
  })

  it('measures the offset over the quickest round trip and sets the clock with sudo', async () => {
    const behindNs = 600_000_000_000n // ten minutes behind: saved ten minutes ago
    const ran: string[] = []
    const session = {
      exec: async (cmd: string) => {
        ran.push(cmd)
        const now = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n
        return { code: 0, stdout: cmd === 'date +%s%N' ? `${now - behindNs}\n` : '', stderr: '' }
      },
    }
    const ms = await syncGuestClock(session, { timeoutMs: 1000 })
    expect(Math.abs(ms - 600_000)).toBeLessThan(50)
    expect(ran.slice(0, 2)).toEqual(['date +%s%N', 'date +%s%N'])
    expect(ran[2]).toMatch(/^sudo -n sh -c 'n=\$\(\( \$\(date \+%s%N\) \+ \(\d+\) \)\); date -u -s .*'$/)
    expect(ran).toHaveLength(3)
    const offset = BigInt(/\+ \((\d+)\)/.exec(ran[2]!)![1]!)
    expect(offset - behindNs < 50_000_000n && behindNs - offset < 50_000_000n).toBe(true)
  })

  it('a guest whose date or sudo fails is an error naming what it said', async () => {
    await expect(syncGuestClock({ exec: async () => ({ code: 0, stdout: 'Sat Dec  5\n', stderr: '' }) }, { timeoutMs: 1000 })).rejects.toThrow(/the guest's date said "Sat Dec  5"/)
    const sudoFails = { exec: async (c: string) => (c.startsWith('sudo') ? { code: 1, stdout: '', stderr: 'sudo: a password is required' } : { code: 0, stdout: '1700000000123456789', stderr: '' }) }
    await expect(syncGuestClock(sudoFails, { timeoutMs: 1000 })).rejects.toThrow('setting it failed: sudo: a password is required')
  })
})

describe('the guest power-off drop-in (guest-poweroff.ts)', () => {
  const execStop = POWEROFF_DROP_IN_TEXT.split('\n').filter((l) => l.startsWith('ExecStop='))
  // The command systemd runs, with a fake systemctl on PATH and a fake ifdown.
  const runStop = (state: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'poweroff-'))
    writeFileSync(join(dir, 'systemctl'), `#!/bin/sh\necho ${state}\n`, { mode: 0o755 })
    writeFileSync(join(dir, 'ifdown'), `#!/bin/sh\necho "ifdown $*"\n`, { mode: 0o755 })
    const cmd = execStop[1]!.slice('ExecStop='.length).replace('/sbin/ifdown', join(dir, 'ifdown'))
    const script = /^\/bin\/sh -c '(.*)'$/.exec(cmd)![1]!
    return execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin` } })
  }

  it('replaces ExecStop: at power-off the interfaces stay up; a stop of a running system takes them down as before', () => {
    expect(execStop[0]).toBe('ExecStop=')
    expect(runStop('stopping')).toBe('')
    expect(runStop('running')).toBe('ifdown -a --read-environment --exclude=lo\n')
    expect(runStop('degraded')).toBe('ifdown -a --read-environment --exclude=lo\n')
  })

  it('the bootcmd writes it byte for byte, only on guests with ifupdown\'s networking.service', () => {
    const [sh, c, script] = poweroffDropInBootcmd()
    expect([sh, c]).toEqual(['sh', '-c'])
    expect(script).toMatch(/^\[ -f \/lib\/systemd\/system\/networking\.service \] \|\| exit 0; /)
    const b64 = / echo (\S+) \| base64 -d > /.exec(script!)![1]!
    expect(Buffer.from(b64, 'base64').toString()).toBe(POWEROFF_DROP_IN_TEXT)
    expect(script!.endsWith(`> ${POWEROFF_DROP_IN}`)).toBe(true)
  })
})

describe('containerd beside cloud-init (guest-engine-start.ts)', () => {
  it('the drop-in drops the default dependencies on sysinit (cloud-init) but keeps a clean stop at shutdown', () => {
    const lines = CONTAINERD_DROP_IN_TEXT.split('\n')
    expect(lines).toContain('DefaultDependencies=no')
    expect(lines).toContain('Before=shutdown.target')
    expect(lines).toContain('Conflicts=shutdown.target')
    expect(lines.find((l) => l.startsWith('After='))).toBe('After=local-fs.target network.target systemd-tmpfiles-setup.service')
  })

  it('the bootcmds write it byte for byte and start containerd, only where containerd.service exists', () => {
    const [, , write] = containerdDropInBootcmd()
    expect(write).toMatch(/^\[ -f \/lib\/systemd\/system\/containerd\.service \] \|\| exit 0; /)
    expect(Buffer.from(/ echo (\S+) \| base64 -d > /.exec(write!)![1]!, 'base64').toString()).toBe(CONTAINERD_DROP_IN_TEXT)
    expect(write!.endsWith(`> ${CONTAINERD_DROP_IN}`)).toBe(true)
    // Never fails the boot: no containerd, no start.
    expect(START_CONTAINERD_BOOTCMD).toEqual(['sh', '-c', '[ -f /lib/systemd/system/containerd.service ] && systemctl start --no-block containerd.service; true'])
  })

  it('on the first boot only, containerd counts as started once it runs: a runtime drop-in, written once per instance where dockerd gets its socket', async () => {
    expect(CONTAINERD_FIRST_BOOT_DROP_IN.startsWith('/run/systemd/system/containerd.service.d/')).toBe(true)
    expect(CONTAINERD_FIRST_BOOT_DROP_IN_TEXT.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(['[Service]', 'Type=simple'])
    const [sh, c, script] = containerdFirstBootBootcmd()
    expect([sh, c]).toEqual(['sh', '-c'])
    expect(script!.startsWith(`command -v dockerd >/dev/null 2>&1 && ${HAS_CONTAINERD_UNIT} && command -v cloud-init-per >/dev/null 2>&1 || exit 0; `)).toBe(true)
    // Run by a real sh, with stubs for dockerd and cloud-init-per (which records its arguments)
    // and the unit test made true: cloud-init-per receives the drop-in writer intact.
    const bin = await mkdtemp(join(tmpdir(), 'machine-bootcmd-'))
    try {
      await writeFile(join(bin, 'dockerd'), '#!/bin/sh\n', { mode: 0o755 })
      await writeFile(join(bin, 'cloud-init-per'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > ${bin}/args\n`, { mode: 0o755 })
      const r = spawnSync('sh', ['-c', script!.replace(HAS_CONTAINERD_UNIT, 'true')], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' })
      expect(r.status, r.stderr).toBe(0)
      const args = (await readFile(join(bin, 'args'), 'utf8')).split('\0').slice(0, -1)
      const writer = dropInBootcmd('containerd.service', CONTAINERD_FIRST_BOOT_DROP_IN, CONTAINERD_FIRST_BOOT_DROP_IN_TEXT)[2]
      expect(args).toEqual(['instance', 'machine-containerd-first-boot', 'sh', '-c', writer])
      // Without dockerd nothing is done, and the boot goes on.
      await rm(join(bin, 'dockerd'))
      await rm(join(bin, 'args'))
      expect(spawnSync('sh', ['-c', script!.replace(HAS_CONTAINERD_UNIT, 'true')], { env: { PATH: `${bin}:/usr/bin:/bin` } }).status).toBe(0)
      expect(existsSync(join(bin, 'args'))).toBe(false)
    } finally {
      await rm(bin, { recursive: true, force: true })
    }
  })

  it("cloud-init's config stage is only ordered after the engine: no other dependency, nothing of the unit replaced", () => {
    // Only comments, the section and one After= line: ordering never starts or stops anything,
    // and a guest without docker.service (the install path) is not held at all.
    const lines = CLOUD_CONFIG_DROP_IN_TEXT.split('\n').filter((l) => l && !l.startsWith('#'))
    expect(lines).toEqual(['[Unit]', 'After=docker.service'])
    const [sh, c, write] = cloudConfigDropInBootcmd()
    expect([sh, c]).toEqual(['sh', '-c'])
    expect(write).toMatch(/^\[ -f \/lib\/systemd\/system\/cloud-config\.service \] \|\| exit 0; mkdir -p \/etc\/systemd\/system\/cloud-config\.service\.d && /)
    expect(Buffer.from(/ echo (\S+) \| base64 -d > /.exec(write!)![1]!, 'base64').toString()).toBe(CLOUD_CONFIG_DROP_IN_TEXT)
    expect(write!.endsWith(`> ${CLOUD_CONFIG_DROP_IN}`)).toBe(true)
  })

  it("SSH password logins are off before sshd starts, where cloud-init would write it: its config stage then restarts nothing", async () => {
    const root = await mkdtemp(join(tmpdir(), 'machine-sshd-'))
    const run = () => spawnSync(sshPasswordOffBootcmd(root)[0]!, sshPasswordOffBootcmd(root).slice(1), { encoding: 'utf8' })
    const file = join(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf')
    try {
      await mkdir(join(root, 'etc/ssh'), { recursive: true })
      // An image whose sshd_config does not include sshd_config.d: left to cloud-init, as before.
      await writeFile(join(root, 'etc/ssh/sshd_config'), 'Port 22\nPasswordAuthentication yes\n')
      expect(run().status).toBe(0)
      expect(existsSync(file)).toBe(false)
      // Debian 12's: the Include comes first, and cloud-init keeps its settings in 50-cloud-init.conf.
      await writeFile(join(root, 'etc/ssh/sshd_config'), 'Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\n')
      expect(run().status).toBe(0)
      expect(await readFile(file, 'utf8')).toBe('PasswordAuthentication no\n')
      expect(statSync(file).mode & 0o777).toBe(0o600)
      // Every boot runs it: once written, nothing more.
      expect(run().status).toBe(0)
      await writeFile(file, 'UseDNS no\n')
      expect(run().status).toBe(0)
      expect(run().status).toBe(0)
      expect(await readFile(file, 'utf8')).toBe('UseDNS no\nPasswordAuthentication no\n')
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
