#!/usr/bin/env node
// Benchmark: wall time from `machine create -d qemu` to the first successful `docker version`
// through `machine env`, the raw boot-to-SSH time of the same VM (QEMU started → SSH session
// up, timed from create's own step lines), their difference (what create adds: overlay, seed,
// certificates, provisioning, engine restart; goal ≤ 8 s), the time from the guest's SSH being up
// to the engine answering over TLS (create's own "Docker is up and running!" line; goal ≤ 5 s,
// printed with its ratio to the goal) and the SSH connections provisioning opened (goal 1). Uses
// the built CLI (or --cli DIR: another build's root) and the locally built Debian test image.
// Usage: node bench/qemu-create.mjs [--runs 1] [--cli DIR]
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { testImage } from './test-image.mjs'

const root = resolve(import.meta.dirname, '..')
const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, cli: { type: 'string' } } })
const kv = testImage()
const bin = join(resolve(values.cli ?? root), 'bin/run.js')

for (let run = 1; run <= Number(values.runs); run++) {
  const store = await mkdtemp(join(tmpdir(), 'machine-bench-qemu-'))
  const env = { ...process.env, MACHINE_STORAGE_PATH: store, SHELL: '/bin/bash' }
  const marks = {}
  let connections = '?'
  const t0 = performance.now()
  const args = ['create', '--debug', '-d', 'qemu', '--qemu-image', kv.MACHINE_TEST_IMAGE, '--qemu-kernel', kv.MACHINE_TEST_KERNEL, '--qemu-initrd', kv.MACHINE_TEST_INITRD, '--qemu-append', kv.MACHINE_TEST_APPEND, '--engine-install-url', 'none', 'bench']
  const code = await new Promise((res) => {
    const p = spawn(process.execPath, [bin, ...args], { env })
    const onLine = (line) => {
      const now = performance.now()
      if (line.startsWith('Waiting for SSH')) marks.vmStarted = now
      if (line.startsWith('Copying certificates')) marks.sshUp = now
      if (line.startsWith('Docker is up and running!')) marks.engineUp = now
      const c = /SSH connections opened for provisioning: (\d+)/.exec(line)
      if (c) connections = c[1]
    }
    for (const s of [p.stdout, p.stderr]) {
      let buf = ''
      s.on('data', (d) => {
        buf += d
        const lines = buf.split('\n')
        buf = lines.pop()
        lines.forEach(onLine)
      })
    }
    p.on('close', res)
  })
  if (code !== 0) throw new Error(`create failed (exit ${code})`)
  const dockerEnv = Object.fromEntries([...spawnSync(process.execPath, [bin, 'env', 'bench'], { env, encoding: 'utf8' }).stdout.matchAll(/^export ([A-Z_]+)="(.*)"$/gm)].map((m) => [m[1], m[2]]))
  const v = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { env: { ...process.env, ...dockerEnv }, encoding: 'utf8' })
  const total = (performance.now() - t0) / 1000
  if (v.status !== 0) throw new Error(`docker version failed: ${v.stderr}`)
  const boot = (marks.sshUp - marks.vmStarted) / 1000
  const sshToEngine = (marks.engineUp - marks.sshUp) / 1000
  console.log(
    `run ${run}: create → docker version ${total.toFixed(1)} s; boot → SSH ${boot.toFixed(1)} s; difference ${(total - boot).toFixed(1)} s (goal ≤ 8 s); ` +
      `SSH up → engine answering ${sshToEngine.toFixed(1)} s (${(sshToEngine / 5).toFixed(2)}× the 5 s goal); ` +
      `SSH connections for provisioning: ${connections} (goal 1); engine ${v.stdout.trim()}`,
  )
  spawnSync(process.execPath, [bin, 'rm', '-y', 'bench'], { env })
  await rm(store, { recursive: true, force: true })
}
