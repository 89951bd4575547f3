#!/usr/bin/env node
// Benchmark: `machine env NAME`, `machine ls` on a store of 500 `none` machines, `machine --help`,
// `machine version` (both answered from build-time texts, src/fast/static-answers.ts),
// `machine inspect NAME`, `machine status NAME` and `machine ip NAME` (on the fast path like env,
// src/fast/run.ts; status and ip load the machine's driver), `machine inspect NAME` through oclif
// (MACHINE_NO_FAST_PATH: what any other command's start costs) and `machine --help` in a
// terminal (laid out for its width from the build's parts, src/fast/help-layout.ts; a pseudo-terminal
// made by script(1), whose ratio is to `node -e 0` run the same way), each as a ratio to a bare
// `node -e 0` measured in the same run (issue 18's goals:
// env ≤ 1.2×, ls ≤ 2.0×, any other start ≤ 2×).
// The machines' engines are on closed loopback ports (one per machine), so `ls` measures our own work (500 state
// checks + 500 refused TLS dials) rather than 500 TLS handshakes. `ls floor` (bench/ls-floor.mjs)
// is the least any listing must do in bare Node: read 500 configs and make 500 refused dials; ls
// is shown against it too, since that floor alone is well above 2× a bare start on some machines.
// Usage: node bench/cli-startup.mjs [--machines 500] [--runs 15] [--keep DIR] [--instructions]
// --instructions counts each command's CPU instructions once with valgrind's callgrind instead of
// timing it: deterministic on a loaded machine, where wall-clock ratios drift (ls's 500 refused
// dials are the kernel's work, which callgrind does not count, so its ratio reads low there).
// --keep DIR makes (or reuses) the store in DIR and leaves it there, for profiling by hand:
//   MACHINE_STORAGE_PATH=DIR node --cpu-prof bin/run.js ls
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const root = resolve(import.meta.dirname, '..')
const { values } = parseArgs({
  options: { machines: { type: 'string', default: '500' }, runs: { type: 'string', default: '15' }, keep: { type: 'string' }, instructions: { type: 'boolean' } },
})
const N = Number(values.machines)
const RUNS = Number(values.runs)

const { Store } = await import(join(root, 'dist/src/store/store.js'))
const { authOptionsFor, defaultEngineOptions, defaultSwarmOptions } = await import(join(root, 'dist/src/core/host-config.js'))
const { ensureCertsFor } = await import(join(root, 'dist/src/services/certs.js'))

/** Ports of base…base+N-1 that accept a connection (another program's server, on a shared machine). */
async function listening(base) {
  const probe = (port) =>
    new Promise((res) => {
      const s = connect({ host: '127.0.0.1', port })
      s.once('connect', () => (s.destroy(), res(port)))
      s.once('error', () => res(undefined))
    })
  return (await Promise.all(Array.from({ length: N }, (_, i) => probe(base + i)))).filter((p) => p !== undefined)
}

// Each machine has its own engine port, on which nothing may listen: an open one makes ls wait for
// a TLS handshake and measures that. A new store takes the first range found closed.
const storePath = values.keep ? resolve(values.keep) : await mkdtemp(join(tmpdir(), 'machine-bench-'))
const store = new Store(storePath)
const existing = values.keep ? new Set(await store.names()) : new Set()
let closedPortBase = 41000
if (existing.size === 0) while ((await listening(closedPortBase)).length > 0 && closedPortBase < 60000) closedPortBase += N + 100
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

const open = await listening(closedPortBase)
if (open.length > 0) console.log(`warning: something listens on ${open.join(', ')}: ls waits on it (use a new store)`)

const env = { ...process.env, MACHINE_STORAGE_PATH: storePath, SHELL: '/bin/bash' }
const bin = join(root, 'bin/run.js')
const commands = [
  { label: 'machine env', args: (i) => [bin, 'env', `m${i % N}`], goal: 1.2 },
  { label: 'machine ls', args: () => [bin, 'ls'], goal: 2.0, every: 3, check: (out) => out.split('\n').length >= N + 1 },
  // What any listing must do (bench/ls-floor.mjs): ls is also shown against it.
  { label: 'ls floor', args: () => [join(root, 'bench/ls-floor.mjs')], every: 3, floorOf: 'machine ls', check: (out) => out.split('\n').length >= N },
  { label: 'machine --help', args: () => [bin, '--help'], goal: 2.0, every: 3 },
  { label: 'machine version', args: () => [bin, 'version'], goal: 2.0, every: 3 },
  // The machine queries scripts run: the fast path too.
  { label: 'machine inspect', args: (i) => [bin, 'inspect', `m${i % N}`], goal: 2.0, every: 3 },
  { label: 'machine status', args: (i) => [bin, 'status', `m${i % N}`], goal: 2.0, every: 3 },
  { label: 'machine ip', args: (i) => [bin, 'ip', `m${i % N}`], goal: 2.0, every: 3 },
  // Any other command starts through oclif (Config.load, the command's module, its parser).
  { label: 'inspect (oclif)', args: (i) => [bin, 'inspect', `m${i % N}`], goal: 2.0, every: 3, env: { MACHINE_NO_FAST_PATH: '1' } },
  { label: 'help (terminal)', args: () => [bin, '--help'], goal: 2.0, every: 3, tty: true },
]
// The terminal is util-linux's script(1); without it (macOS' takes other arguments) that row is left out.
if (spawnSync('script', ['-qec', 'true', '/dev/null']).status !== 0) {
  console.log('note: no util-linux script(1): --help in a terminal is not measured')
  commands.splice(commands.findIndex((c) => c.tty), 1)
}
const shellQuote = (a) => `'${a.replaceAll("'", "'\\''")}'`
// A command in a pseudo-terminal: script(1) runs it (its own output and stderr both come back on stdout).
const inTerminal = (argv) => ['script', '-qec', argv.map(shellQuote).join(' '), '/dev/null']

function run(args, prefix = [], tty = false, extraEnv = {}) {
  const argv = [...prefix, process.execPath, ...args]
  const [cmd, ...rest] = tty ? inTerminal(argv) : argv
  const t = process.hrtime.bigint()
  const r = spawnSync(cmd, rest, { env: { ...env, ...extraEnv }, encoding: 'utf8', maxBuffer: 64 << 20 })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`)
  return { ms, out: r.stdout, err: tty ? r.stdout : r.stderr }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

// Warm up: the first runs fill Node's compile cache, as any second invocation by a user would.
for (let i = 0; i < 2; i++) {
  run(['-e', '0'])
  for (const c of commands) run(c.args(i), [], c.tty, c.env)
}

let nodeFigure
let nodeTerminalFigure
const figures = []
if (values.instructions) {
  // One run each is enough: the count barely moves between runs.
  const count = (args, tty = false, extraEnv = {}) => {
    const { err } = run(args, ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null'], tty, extraEnv)
    const m = /Collected : (\d+)/.exec(err)
    if (!m) throw new Error(`no instruction count from valgrind for ${args.join(' ')}: is valgrind installed?`)
    return Number(m[1]) / 1e6
  }
  nodeFigure = count(['-e', '0'])
  if (commands.some((c) => c.tty)) nodeTerminalFigure = count(['-e', '0'], true)
  for (const c of commands) figures.push({ ...c, value: count(c.args(1), c.tty, c.env) })
} else {
  const nodeMs = []
  const nodeTerminalMs = []
  const ms = commands.map(() => [])
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so machine load affects all alike.
    nodeMs.push(run(['-e', '0']).ms)
    if (i % 3 === 0 && commands.some((c) => c.tty)) nodeTerminalMs.push(run(['-e', '0'], [], true).ms)
    commands.forEach((c, k) => {
      if (i % (c.every ?? 1) !== 0) return
      const r = run(c.args(i), [], c.tty, c.env)
      if (c.check && !c.check(r.out)) throw new Error(`${c.label}: unexpected output`)
      ms[k].push(r.ms)
    })
  }
  nodeFigure = median(nodeMs)
  if (nodeTerminalMs.length > 0) nodeTerminalFigure = median(nodeTerminalMs)
  commands.forEach((c, k) => figures.push({ ...c, value: median(ms[k]) }))
}
if (!values.keep) await rm(storePath, { recursive: true, force: true })
const unit = values.instructions ? 'M instructions' : 'ms'
console.log(`machines: ${N}, ${values.instructions ? 'callgrind, one run each' : `runs: ${RUNS} (medians)`}`)
console.log(`${'node -e 0'.padEnd(16)} ${nodeFigure.toFixed(1)} ${unit}${nodeTerminalFigure === undefined ? '' : ` (in a terminal: ${nodeTerminalFigure.toFixed(1)})`}`)
for (const f of figures) {
  const reference = f.tty ? nodeTerminalFigure : nodeFigure
  const floor = figures.find((g) => g.floorOf === f.label)
  const goal = f.goal ? ` (goal <= ${f.goal}x)` : ''
  const againstFloor = floor ? `, ${(f.value / floor.value).toFixed(2)}x its floor` : ''
  console.log(`${f.label.padEnd(16)} ${f.value.toFixed(1)} ${unit}  = ${(f.value / reference).toFixed(2)}x node${f.tty ? ' in a terminal' : ''}${goal}${againstFloor}`)
}
