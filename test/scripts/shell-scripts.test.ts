/**
 * The set-up scripts' shell helpers, run by bash as the scripts run them (nothing installed, no
 * VM): scripts/steps.sh (setup.sh's steps, their durations, heartbeats and failure line) and
 * quickstart.sh's shell quoting of the create command it echoes.
 */
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/cli.js'

const bash = (script: string, args: string[] = [], env: Record<string, string> = {}) =>
  spawnSync('bash', ['-c', script, 'bash', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } })

describe('scripts/steps.sh', () => {
  it('ends each step with its duration and the run with the total; without a terminal, a long command says it is still running', () => {
    const r = bash('set -euo pipefail; source scripts/steps.sh; step "One" "fix one"; quietly sleep 2.2; step "Two" "fix two"; quietly true; steps_done', [], {
      MACHINE_SETUP_HEARTBEAT_S: '1',
    })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    // A heartbeat a second (the second one may lose the race with the command on a busy host).
    expect(r.stdout).toMatch(/^==> One\n {4}… still running \(1s\): sleep 2\.2\n( {4}… still running \(2s\): sleep 2\.2\n)? {4}done \(\d s\)\n==> Two\n {4}done \(0 s\)\n==> All done in \d s\n$/)
  })

  it('a failed command: its last lines, then one line naming the step, the command and the fix', () => {
    const r = bash('set -euo pipefail; source scripts/steps.sh; step "Installing Debian packages" "check the mirror"; quietly bash -c "echo E: Unable to locate package nope; exit 100"; echo not reached')
    expect(r.status).toBe(100)
    expect(r.stdout).toBe('==> Installing Debian packages\n')
    const lines = r.stderr.trim().split('\n')
    expect(lines[0]).toBe('---- bash -c echo E: Unable to locate package nope; exit 100 (exit 100), last lines:')
    expect(lines[1]).toBe('    E: Unable to locate package nope')
    expect(lines.at(-1)).toBe('bash: step "Installing Debian packages" failed (bash -c echo E: Unable to locate package nope; exit 100 exited with 100): check the mirror')
    // The whole output is kept where the error says.
    const log = /^---- whole output: (\S+)$/m.exec(r.stderr)?.[1]
    expect(log).toBeDefined()
    rmSync(log!)
  })
})

describe("quickstart.sh's echoed create command", () => {
  const words = ['machine', 'create', '-d', 'qemu', '--qemu-image', '/var/cache/machine-test-image/disk.qcow2', '--qemu-append', 'root=/dev/vda rw console=ttyS0 net.ifnames=0', "it's", '', '$HOME', 'dev']

  it('quotes only the words that need it', () => {
    const r = bash('source scripts/quickstart.sh; shell_words "$@"', words)
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe(
      "machine create -d qemu --qemu-image /var/cache/machine-test-image/disk.qcow2 --qemu-append 'root=/dev/vda rw console=ttyS0 net.ifnames=0' 'it'\\''s' '' '$HOME' dev\n",
    )
  })

  it('can be pasted: a shell reads it back as the same words', () => {
    const r = bash('source scripts/quickstart.sh; line="$(shell_words "$@")"; eval "set -- $line"; printf "%s\\0" "$@"', words)
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(words)
  })
})
