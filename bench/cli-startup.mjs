#!/usr/bin/env node
// Benchmark: `machine env NAME` and `machine ls` on a store of 500 `none` machines, each as a
// ratio to a bare `node -e 0` measured in the same run (goals: env ≤ 1.5×, ls ≤ 2.0×).
// The machines' engines are on closed loopback ports (one per machine), so `ls` measures our own work (500 state
// checks + 500 refused TLS dials) rather than 500 TLS handshakes.
// Usage: node bench/cli-startup.mjs [--machines 500] [--runs 15] [--keep DIR]
// --keep DIR makes (or reuses) the store in DIR and leaves it there, for profiling by hand:
//   MACHINE_STORAGE_PATH=DIR node --cpu-prof bin/run.js ls
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const root = resolve(import.meta.dirname, '..')
const { values } = parseArgs({ options: { machines: { type: 'string', default: '500' }, runs: { type: 'string', default: '15' }, keep: { type: 'string' } } })
const N = Number(values.machines)
const RUNS = Number(values.runs)

const { Store } = await import(join(root, 'dist/src/store/store.js'))
const { authOptionsFor, defaultEngineOptions, defaultSwarmOptions } = await import(join(root, 'dist/src/core/host-config.js'))
const { ensureCertsFor } = await import(join(root, 'dist/src/services/certs.js'))

// Each machine has its own engine port; nothing listens on them (checked below).
const closedPortBase = 41000
const storePath = values.keep ? resolve(values.keep) : await mkdtemp(join(tmpdir(), 'machine-bench-'))
const store = new Store(storePath)
const existing = values.keep ? new Set(await store.names()) : new Set()
for (let i = 0; i < N; i++) {
  if (existing.has(`m${i}`)) continue
  const name = `m${i}`
  const dir = await store.reserve(name)
  const host = {
    ConfigVersion: 3,
    Driver: { IPAddress: '127.0.0.1', MachineName: name, StorePath: storePath, URL: `tcp://127.0.0.1:${closedPortBase + i}` },
    DriverName: 'none',
    HostOptions: { Driver: '', Memory: 0, Disk: 0, EngineOptions: defaultEngineOptions(), SwarmOptions: defaultSwarmOptions(), AuthOptions: authOptionsFor(storePath, dir) },
    Name: name,
  }
  await ensureCertsFor(store, host, () => {})
  await store.save(host)
}

const env = { ...process.env, MACHINE_STORAGE_PATH: storePath, SHELL: '/bin/bash' }
function time(args) {
  const t = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`)
  return { ms, out: r.stdout }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

// Warm up: the first runs fill Node's compile cache, as any second invocation by a user would.
for (let i = 0; i < 2; i++) {
  time(['-e', '0'])
  time([join(root, 'bin/run.js'), 'env', 'm1'])
  time([join(root, 'bin/run.js'), 'ls'])
}
const nodeMs = []
const envMs = []
const lsMs = []
for (let i = 0; i < RUNS; i++) {
  // Interleaved, so machine load affects all three alike.
  nodeMs.push(time(['-e', '0']).ms)
  envMs.push(time([join(root, 'bin/run.js'), 'env', `m${i % N}`]).ms)
  if (i % 3 === 0) {
    const r = time([join(root, 'bin/run.js'), 'ls'])
    if (r.out.split('\n').length < N + 1) throw new Error('ls did not list every machine')
    lsMs.push(r.ms)
  }
}
if (!values.keep) await rm(storePath, { recursive: true, force: true })
const n = median(nodeMs)
const e = median(envMs)
const l = median(lsMs)
console.log(`machines: ${N}, runs: ${RUNS} (medians)`)
console.log(`node -e 0      ${n.toFixed(1)} ms`)
console.log(`machine env    ${e.toFixed(1)} ms  = ${(e / n).toFixed(2)}x node (goal <= 1.5x)`)
console.log(`machine ls     ${l.toFixed(1)} ms  = ${(l / n).toFixed(2)}x node (goal <= 2.0x)`)
