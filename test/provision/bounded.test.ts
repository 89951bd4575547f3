import { describe, expect, it } from 'vitest'
import { MachineError } from '../../src/core/errors.js'
import { defaultEngineOptions } from '../../src/core/host-config.js'
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../../src/provision/bounded.js'
import { provisionDebian } from '../../src/provision/provisioner.js'
import { upgradeDebianEngine } from '../../src/provision/upgrader.js'
import type { ExecOptions, ExecResult, SshSession } from '../../src/ssh/index.js'

// Every remote command of provisioning and upgrading is bounded, through a stand-in session that
// answers from a script and, like session.ts, rejects a command still running at its bound.

const DEBIAN = 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'

interface Fake {
  ssh: SshSession
  /** Every command with the bound it was given. */
  calls: Array<{ command: string; timeoutMs: number | undefined }>
}

/** `answer` returns the output of a command, or undefined for one that never ends. */
function fakeSession(answer: (command: string) => string | undefined, o: { uploadHangs?: boolean } = {}): Fake {
  const calls: Fake['calls'] = []
  const exec = (command: string, opts: ExecOptions = {}): Promise<ExecResult> => {
    calls.push({ command, timeoutMs: opts.timeoutMs })
    const out = answer(command)
    if (out !== undefined) return Promise.resolve({ code: 0, stdout: out, stderr: '' })
    return new Promise((_, reject) => {
      if (opts.timeoutMs) setTimeout(() => reject(new MachineError('ssh-command-timeout', `remote command did not finish within ${opts.timeoutMs} ms`)), opts.timeoutMs)
    })
  }
  const ssh: SshSession = {
    exec,
    run: async (command, opts) => (await exec(command, opts)).stdout,
    upload: () => (o.uploadHangs ? new Promise(() => {}) : Promise.resolve()),
    download: () => Promise.resolve(Buffer.alloc(0)),
    shell: () => Promise.resolve(0),
    execInteractive: () => Promise.resolve(0),
    close: () => {},
  }
  return { ssh, calls }
}

const probe = (rest = ''): string =>
  `@@os\n${DEBIAN}@@hostname\ng1\n@@hosts\nyes\n@@docker\nyes\n@@dockerd\n/usr/bin/dockerd\n@@sums\n@@modes\n@@state\nactive\n@@enabled\nenabled\n${rest}`

const input = { machineName: 'g1', driverName: 'generic', sshUser: 'root', enginePort: 2376, engine: defaultEngineOptions(), caCert: 'ca', serverCert: 'cert', serverKey: 'key' }

describe('provisioning: every remote command has a bound', () => {
  it('gives commands without a bound of their own the generous default', async () => {
    const f = fakeSession((c) => (c.includes('@@os') ? probe() : ''))
    await provisionDebian(f.ssh, input)
    expect(f.calls.length).toBeGreaterThan(1)
    // The engine (re)start keeps its own bound; everything else gets the default.
    for (const c of f.calls) expect(c.timeoutMs, c.command).toBe(/systemctl (re)?start docker/.test(c.command) ? 180_000 : DEFAULT_COMMAND_TIMEOUT_MS)
  })

  it('a probe that never answers ends with one line naming the step and the machine', async () => {
    const f = fakeSession(() => undefined)
    const e = await provisionDebian(f.ssh, { ...input, commandTimeoutMs: 200 }).catch((x: unknown) => x)
    expect(e).toMatchObject({ code: 'step-timeout', line: '"Detecting the operating system" on "g1" did not finish within 0.2 s: run again with --debug to see the command that stalled' })
  })

  it('an SFTP upload that never finishes is bounded too', async () => {
    const f = fakeSession((c) => (c.includes('@@os') ? probe() : ''), { uploadHangs: true })
    const e = await provisionDebian(f.ssh, { ...input, commandTimeoutMs: 200 }).catch((x: unknown) => x)
    expect(e).toMatchObject({ code: 'step-timeout', message: '"Configuring the engine with TLS" on "g1" did not finish within 0.2 s' })
  })

  it('other failures pass through unchanged', async () => {
    const f = fakeSession(() => '@@os\nID=alpine\n')
    const e = await provisionDebian(f.ssh, { ...input, commandTimeoutMs: 200 }).catch((x: unknown) => x)
    expect(e).toMatchObject({ code: 'unsupported-os' })
  })
})

describe('upgrade: every remote command has a bound', () => {
  const pkgs = 'ii docker.io 20.10.24\n'
  it('gives commands without a bound of their own the default, and apt-get its long one', async () => {
    const f = fakeSession((c) => (c.startsWith('cat /etc/os-release') ? `${DEBIAN}@@pkgs\n${pkgs}` : c.startsWith('dpkg-query') ? pkgs : ''))
    await upgradeDebianEngine(f.ssh, { machineName: 'g1', sshUser: 'root' })
    expect(f.calls.length).toBeGreaterThan(2)
    for (const c of f.calls) {
      expect(c.timeoutMs, c.command).toBe(c.command.includes('apt-get') ? 1_200_000 : c.command.includes('systemctl restart') ? 180_000 : DEFAULT_COMMAND_TIMEOUT_MS)
    }
  })

  it('a package query that never answers names its step and the machine', async () => {
    const f = fakeSession((c) => (c.startsWith('cat /etc/os-release') ? `${DEBIAN}@@pkgs\n${pkgs}` : c.startsWith('dpkg-query') ? undefined : ''))
    const e = await upgradeDebianEngine(f.ssh, { machineName: 'g1', sshUser: 'root', commandTimeoutMs: 200 }).catch((x: unknown) => x)
    expect(e).toMatchObject({ code: 'step-timeout', message: '"Reading the upgraded engine packages" on "g1" did not finish within 0.2 s' })
  })
})
