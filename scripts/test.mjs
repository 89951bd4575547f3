#!/usr/bin/env node
// `npm test`: build the CLI (the command tests run the built binary), run every test tier with
// vitest, and close with the plain summary line CI reads: "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env: process.env })

// Every test removes what it makes in the temp directory, pass or fail (some of it holds CA
// keys): what is new there after the run names the test that did not.
const leftovers = () => readdirSync(tmpdir()).filter((f) => /^(machine-|qemu-)/.test(f))
const named = (list) => list.slice(0, 10).map((f) => join(tmpdir(), f)).join(', ') + (list.length > 10 ? `, … (${list.length} in all)` : '')
const before = leftovers()
if (before.length) console.warn(`warning: ${before.length} entries from earlier runs are in ${tmpdir()}: ${named(before)}`)

if (!process.env.MACHINE_TEST_SKIP_BUILD) {
  const b = run('npm', ['run', '--silent', 'build'])
  if (b.status !== 0) {
    console.log('0 passed, 1 failed')
    console.error('build failed')
    process.exit(1)
  }
}
// Three passes: everything that needs no VM (in parallel), then the tests that boot QEMU VMs one
// file at a time (two TCG guests on a 2-core machine would each take twice as long), and last the
// emulated aarch64 guest: its test image takes minutes to build, which .ci/run starts in the
// background so that it is ready, or nearly, when this pass asks for it.
const VM_TESTS = ['test/e2e/', 'test/drivers/qemu.conformance.test.ts', 'test/drivers/qemu.lifecycle.test.ts', 'test/drivers/qemu.boot-watch.test.ts', 'test/drivers/qemu.network.test.ts', 'test/commands/interrupt.test.ts']
const ARM64_TEST = 'test/e2e/qemu-arm64.e2e.test.ts'
const extra = process.argv.slice(2)
const passes = extra.length
  ? [['pass', extra]]
  : [
      ['fast', VM_TESTS.flatMap((p) => ['--exclude', `${p}${p.endsWith('/') ? '**' : ''}`])],
      ['vm', ['--no-file-parallelism', '--exclude', ARM64_TEST, ...VM_TESTS.map((p) => p.replace(/\/$/, ''))]],
      ['vm-arm64', [ARM64_TEST]],
    ]
let passed = 0
let failed = 0
let skipped = 0
let ok = true
for (const [name, args] of passes) {
  const results = `.test-results-${name}.json`
  rmSync(results, { force: true })
  const v = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...args])
  if (v.status !== 0) ok = false
  if (existsSync(results)) {
    const r = JSON.parse(readFileSync(results, 'utf8'))
    passed += r.numPassedTests ?? 0
    // A file that failed to load has no test results but must count as a failure.
    failed += (r.numFailedTests ?? 0) + (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  } else {
    failed += 1
  }
}
const left = leftovers().filter((f) => !before.includes(f))
if (left.length) console.warn(`warning: the tests left ${left.length} entries in ${tmpdir()}: ${named(left)}`)
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(ok && failed === 0 ? 0 : 1)
