#!/usr/bin/env node
// Benchmark: one Tab press, i.e. `machine __complete` for machine names on a store of N machines
// and for a driver option's choices (the one answer that loads the drivers' option lists), as a
// ratio to a bare `node -e 0` measured in the same run. Medians of --runs interleaved runs.
// Usage: node bench/completion.mjs [--machines 500] [--runs 15]
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const root = resolve(import.meta.dirname, '..')
const { values } = parseArgs({ options: { machines: { type: 'string', default: '500' }, runs: { type: 'string', default: '15' } } })
const N = Number(values.machines)
const RUNS = Number(values.runs)
// Completion reads only the listing of machines/: empty directories are a faithful store here.
const store = mkdtempSync(join(tmpdir(), 'machine-bench-complete-'))
for (let i = 0; i < N; i++) mkdirSync(join(store, 'machines', `m${i}`), { recursive: true })

const bin = join(root, 'bin', 'run.js')
const cases = {
  'node -e 0': ['-e', '0'],
  'rm <Tab> (names)': [bin, '__complete', '--cur=m1', 'rm'],
  'create --qemu-arch <Tab>': [bin, '__complete', '--cur=', 'create', '-d', 'qemu', '--qemu-arch'],
}
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
for (let r = 0; r < RUNS; r++) {
  for (const [name, args] of Object.entries(cases)) {
    const t = process.hrtime.bigint()
    const p = spawnSync(process.execPath, args, { env: { ...process.env, MACHINE_STORAGE_PATH: store }, encoding: 'utf8' })
    times[name].push(Number(process.hrtime.bigint() - t) / 1e6)
    if (p.status !== 0) throw new Error(`${name} failed: ${p.stderr}`)
    if (name.startsWith('rm') && !p.stdout.includes('m1\n')) throw new Error(`${name} did not list the machines: ${p.stdout.slice(0, 200)}`)
  }
}
rmSync(store, { recursive: true, force: true })
const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]
const base = median(times['node -e 0'])
console.log(`node ${process.version}, ${N} machines, ${RUNS} runs each (median wall time)`)
for (const [name, t] of Object.entries(times)) console.log(`${name.padEnd(28)} ${median(t).toFixed(1).padStart(7)} ms  ${(median(t) / base).toFixed(2)}x`)
