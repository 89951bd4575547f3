#!/usr/bin/env node
// Benchmark: the lifecycle of one qemu VM of the locally built Debian test image, each figure
// with its ratio to its reference:
//   stop (clean power-off)          against the 5 s goal
//   start (cold boot, engine up)    the reference for a resume
//   stop --save (state to a file)   against the 5 s goal
//   start (resume of a saved stop)  against the cold boot
//   restart                         against stop + start
// A CLI without `stop --save` (an older build) prints "n/a" for the two saved figures.
// Every figure is one `machine` command's wall time, the engine answering over TLS at its end
// (start/restart wait for it). Uses the built CLI (or --cli DIR: another build's root).
// Usage: node bench/qemu-stop-start.mjs [--cli DIR] [--keep]
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { testImage } from './test-image.mjs'

const root = resolve(import.meta.dirname, '..')
const { values } = parseArgs({ options: { cli: { type: 'string' }, keep: { type: 'boolean', default: false } } })
const kv = testImage()
const bin = join(resolve(values.cli ?? root), 'bin/run.js')
const store = await mkdtemp(join(tmpdir(), 'machine-bench-stop-'))
const env = { ...process.env, MACHINE_STORAGE_PATH: store, SHELL: '/bin/bash' }

/** One command's wall time in seconds; throws with its output when it fails. */
function timed(...args) {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' })
  const s = (performance.now() - t0) / 1000
  if (r.status !== 0) throw Object.assign(new Error(`machine ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`), { stderr: r.stderr })
  return s
}
const docker = (...args) => {
  const e = Object.fromEntries([...spawnSync(process.execPath, [bin, 'env', 'bench'], { env, encoding: 'utf8' }).stdout.matchAll(/^export ([A-Z_]+)="(.*)"$/gm)].map((m) => [m[1], m[2]]))
  const r = spawnSync('docker', args, { env: { ...process.env, ...e }, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`)
  return r.stdout.trim()
}
const f = (s) => (s === undefined ? 'n/a' : `${s.toFixed(1)} s`)
const ratio = (a, b) => (a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}×`)

try {
  timed('create', '-d', 'qemu', '--qemu-image', kv.MACHINE_TEST_IMAGE, '--qemu-kernel', kv.MACHINE_TEST_KERNEL, '--qemu-initrd', kv.MACHINE_TEST_INITRD, '--qemu-append', kv.MACHINE_TEST_APPEND, '--engine-install-url', 'none', 'bench')
  docker('version', '--format', '{{.Server.Version}}')
  const stop = timed('stop', 'bench')
  const start = timed('start', 'bench')
  docker('info', '--format', '{{.ServerVersion}}')
  let saveStop
  let resume
  const help = spawnSync(process.execPath, [bin, 'stop', '--help'], { env, encoding: 'utf8' }).stdout
  if (/--\[no-\]save|--save/.test(help)) {
    saveStop = timed('stop', '--save', 'bench')
    resume = timed('start', 'bench')
    docker('info', '--format', '{{.ServerVersion}}')
  }
  const restart = timed('restart', 'bench')
  docker('info', '--format', '{{.ServerVersion}}')
  console.log(`stop (power-off)      ${f(stop)}  ${ratio(stop, 5)} of the 5 s goal`)
  console.log(`start (cold boot)     ${f(start)}  (reference for resume)`)
  console.log(`stop --save           ${f(saveStop)}  ${ratio(saveStop, 5)} of the 5 s goal`)
  console.log(`start (resume)        ${f(resume)}  ${ratio(resume, start)} of a cold boot`)
  console.log(`restart               ${f(restart)}  ${ratio(restart, stop + start)} of stop + start (${f(stop + start)})`)
} finally {
  if (!values.keep) {
    spawnSync(process.execPath, [bin, 'rm', '-y', '-f', 'bench'], { env })
    await rm(store, { recursive: true, force: true })
  } else console.log(`store kept: ${store}`)
}
