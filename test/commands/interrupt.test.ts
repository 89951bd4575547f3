import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, tempStore } from '../helpers/cli.js'
import { qemuFlags, testImage } from '../e2e/image.js'
import { liveProcessesNaming } from '../helpers/processes.js'

const qemuRunningFor = (store: string) => liveProcessesNaming(store).length > 0

describe('Ctrl-C during create', () => {
  it('rolls back what the driver made (VM process, disks) and removes the half-made machine', async () => {
    const img = testImage()
    const store = await tempStore()
    const p = spawn(process.execPath, [BIN, 'create', ...qemuFlags(img), 'int1'], { cwd: ROOT, env: { ...process.env, MACHINE_STORAGE_PATH: store } })
    let stdout = ''
    let stderr = ''
    p.stderr.on('data', (d) => (stderr += d))
    const exit = new Promise<number>((res) => p.on('close', (code) => res(code ?? -1)))
    // Interrupt once the VM exists and create is waiting for SSH.
    await new Promise<void>((res) =>
      p.stdout.on('data', (d) => {
        stdout += d
        if (stdout.includes('Waiting for SSH')) res()
      }),
    )
    expect(qemuRunningFor(store)).toBe(true)
    p.kill('SIGINT')
    const code = await exit
    expect(code).toBe(130)
    expect(stderr).toMatch(/Rolling back: removing .*process/)
    expect(stderr.trimEnd().split('\n').pop()).toBe('Error: Interrupted')
    expect(existsSync(join(store, 'machines', 'int1'))).toBe(false)
    expect(qemuRunningFor(store)).toBe(false)
  }, 600_000)
})
