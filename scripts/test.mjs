#!/usr/bin/env node
// `npm test`: build the CLI (the command tests run the built binary), run every test tier with
// vitest, and close with the plain summary line CI reads: "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env: process.env })

if (!process.env.MACHINE_TEST_SKIP_BUILD) {
  const b = run('npm', ['run', '--silent', 'build'])
  if (b.status !== 0) {
    console.log('0 passed, 1 failed')
    console.error('build failed')
    process.exit(1)
  }
}
const results = '.test-results.json'
rmSync(results, { force: true })
const extra = process.argv.slice(2)
const v = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...extra])
let passed = 0
let failed = 0
let skipped = 0
if (existsSync(results)) {
  const r = JSON.parse(readFileSync(results, 'utf8'))
  passed = r.numPassedTests ?? 0
  failed = (r.numFailedTests ?? 0) + (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
} else {
  failed = 1
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(v.status === 0 && failed === 0 ? 0 : 1)
