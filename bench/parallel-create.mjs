#!/usr/bin/env node
// Benchmark: `machine create a b c` (one command, in parallel) against three `machine create`
// run one after another, on fresh stores. The driver is `none` (it records the URL and makes no
// host), so this measures machine's own cost per create — start-up, validation, certificates,
// store writes — not a hypervisor's or a cloud's; with a real driver the parallel gain is the
// hosts' boot time overlapping, which this cannot show. Medians of --runs interleaved runs.
// Usage: node bench/parallel-create.mjs [--runs 5] [--count 3]
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const root = resolve(import.meta.dirname, '..')
const bin = join(root, 'bin', 'run.js')
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, count: { type: 'string', default: '3' } } })
const RUNS = Number(values.runs)
const names = Array.from({ length: Number(values.count) }, (_, i) => `m${i + 1}`)
const url = ['-d', 'none', '--url', 'tcp://127.0.0.1:9']

function timed(fn) {
  const store = mkdtempSync(join(tmpdir(), 'machine-bench-create-'))
  // docker contexts go to a scratch DOCKER_CONFIG, never the user's.
  const env = { ...process.env, MACHINE_STORAGE_PATH: store, DOCKER_CONFIG: join(store, 'docker') }
  const t = process.hrtime.bigint()
  fn((args) => {
    const p = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' })
    if (p.status !== 0) throw new Error(`${args.join(' ')} failed: ${p.stderr}`)
  })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  rmSync(store, { recursive: true, force: true })
  return ms
}

const seq = []
const par = []
for (let r = 0; r < RUNS; r++) {
  seq.push(timed((run) => names.forEach((n) => run(['create', ...url, n]))))
  par.push(timed((run) => run(['create', ...url, ...names])))
}
const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]
console.log(`node ${process.version}, ${names.length} machines (none driver), ${RUNS} runs each (median wall time)`)
console.log(`one after another   ${median(seq).toFixed(0).padStart(6)} ms`)
console.log(`create ${names.join(' ')}  ${median(par).toFixed(0).padStart(6)} ms  (${(median(seq) / median(par)).toFixed(2)}x faster)`)
