// The fast path writes `env` straight to file descriptor 1 and `ls` through process.stdout
// (src/cli/stdio.ts). Both must reach a reader whole, however slowly it reads, and a reader that
// goes away early (`machine ls | head -1`) is not an error.
import { spawn } from 'node:child_process'
import { beforeAll, describe, expect, it } from 'vitest'
import { BIN, runCli, tempStore } from '../helpers/cli.js'

/** Run the CLI into a pipe whose reader reads nothing for `delayMs`, then everything (a shell pipeline). */
function slowRead(args: string[], store: string, delayMs: number): Promise<{ code: number; stdout: string }> {
  return new Promise((res, rej) => {
    const script = `"$@" | { sleep ${delayMs / 1000}; cat; }; exit "\${PIPESTATUS[0]}"`
    const p = spawn('bash', ['-c', script, 'bash', process.execPath, BIN, ...args], { env: { ...process.env, MACHINE_STORAGE_PATH: store, SHELL: '/bin/bash' } })
    let stdout = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.on('error', rej)
    p.on('close', (code) => res({ code: code ?? -1, stdout }))
  })
}

describe('the fast path’s stdout', () => {
  let store: string
  // Rows long enough that ls's answer is more than a pipe holds (64 KiB).
  const format = `{{.Name}} ${'x'.repeat(2000)}`
  beforeAll(async () => {
    store = await tempStore()
    for (const name of ['p1', 'p2', 'p3', 'p4']) {
      const r = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23760', name], { store })
      expect(r.code, r.stderr).toBe(0)
    }
  }, 60_000)

  it('ls output larger than a pipe reaches a slow reader whole', async () => {
    const r = await slowRead(['ls', '--format', Array(10).fill(format).join(' ')], store, 500)
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n').filter(Boolean)
    expect(r.stdout.length).toBeGreaterThan(64 * 1024)
    expect(lines).toEqual(['p1', 'p2', 'p3', 'p4'].map((name) => Array(10).fill(`${name} ${'x'.repeat(2000)}`).join(' ')))
  })

  it('env reaches a slow reader whole', async () => {
    const r = await slowRead(['env', 'p1'], store, 300)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp:\/\/127\.0\.0\.1:23760"\n/)
  })

  it('a reader that closes early ends ls and env quietly, exit 0', async () => {
    for (const args of [['ls', '--format', Array(10).fill(format).join(' ')], ['env', 'p1']]) {
      const r = await new Promise<{ code: number; stderr: string }>((res, rej) => {
        const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, MACHINE_STORAGE_PATH: store, SHELL: '/bin/bash' } })
        let stderr = ''
        p.stdout.destroy()
        p.stderr.on('data', (d) => (stderr += d))
        p.on('error', rej)
        p.on('close', (code) => res({ code: code ?? -1, stderr }))
      })
      expect(r, args[0]).toEqual({ code: 0, stderr: '' })
    }
  })
})
