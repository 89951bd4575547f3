#!/usr/bin/env node
// Benchmark: `machine dashboard`'s page load in headless Chromium (Debian's, driven by
// playwright-core as in the tests): from navigating to the printed URL to the machine list
// rendered with all --machines `none` machines, and to every row showing its engine version
// (their engines are one TLS stand-in on 127.0.0.1 answering /version). The first load lists
// the machines from their saved configs while the server's first probe round runs; later loads
// (median of --runs, each in a fresh browser context: a new cookie each time) get the last
// probe round's rows at once. Run `npm run build` first.
// Usage: node bench/dashboard.mjs [--machines 50] [--runs 5]
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createServerCert } from '../dist/src/certs/certs.js'
import { launchChromium } from '../test/helpers/chromium.mjs'

const root = resolve(import.meta.dirname, '..')
const bin = join(root, 'bin', 'run.js')
const { values } = parseArgs({ options: { machines: { type: 'string', default: '50' }, runs: { type: 'string', default: '5' } } })
const COUNT = Number(values.machines)
const RUNS = Number(values.runs)

const store = mkdtempSync(join(tmpdir(), 'machine-bench-dashboard-'))
const env = { ...process.env, MACHINE_STORAGE_PATH: store, DOCKER_CONFIG: join(store, 'docker'), CI: 'true' }
let dashboard
let browser
let engine
try {
  // The engine's port first (the machines record its URL), then its certificate from the store's CA.
  engine = createServer()
  const port = await new Promise((r) => engine.listen(0, '127.0.0.1', () => r(engine.address().port)))
  engine.close()
  const made = spawnSync(process.execPath, [bin, 'create', '-d', 'none', '--url', `tcp://127.0.0.1:${port}`, '--count', String(COUNT), '--parallel', '8', 'm'], { env, encoding: 'utf8' })
  if (made.status !== 0) throw new Error(`create failed: ${made.stderr}`)
  const ca = { cert: readFileSync(join(store, 'certs', 'ca.pem'), 'utf8'), key: readFileSync(join(store, 'certs', 'ca-key.pem'), 'utf8') }
  const sc = await createServerCert(ca, 'bench', ['127.0.0.1'])
  engine = createServer({ ca: ca.cert, cert: sc.cert, key: sc.key, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    res.setHeader('Content-Type', 'application/json')
    res.end(req.url === '/_ping' ? 'OK' : JSON.stringify({ Version: '28.2.2', ApiVersion: '1.50' }))
  })
  await new Promise((r) => engine.listen(port, '127.0.0.1', r))

  dashboard = spawn(process.execPath, [bin, 'dashboard', '--no-open'], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolveUrl, reject) => {
    let out = ''
    dashboard.stdout.on('data', (d) => {
      out += d
      const m = /Dashboard: (http\S+)/.exec(out)
      if (m) resolveUrl(m[1])
    })
    dashboard.on('exit', (c) => reject(new Error(`dashboard exited with ${c}`)))
  })

  browser = await launchChromium()
  const load = async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const t = performance.now()
    await page.goto(url, { waitUntil: 'commit' })
    await page.waitForFunction((n) => document.querySelectorAll('#machines tbody tr').length === n, COUNT, { polling: 'raf', timeout: 60_000 })
    const listed = performance.now() - t
    await page.waitForFunction((n) => [...document.querySelectorAll('#machines tbody td[data-field="engine"]')].filter((c) => c.textContent === 'v28.2.2').length === n, COUNT, { polling: 'raf', timeout: 60_000 })
    const versions = performance.now() - t
    await context.close()
    return { listed, versions }
  }
  const first = await load()
  const again = []
  for (let i = 0; i < RUNS; i++) again.push(await load())
  const median = (k) => again.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(again.length / 2)]
  const ms = (x) => `${x.toFixed(0)} ms`
  console.log(`dashboard page load, ${COUNT} machines (headless chromium): list rendered / every engine version shown`)
  console.log(`  first load (the server's first probe of every engine runs meanwhile):  ${ms(first.listed)} / ${ms(first.versions)}`)
  console.log(`  later loads, median of ${RUNS}:  ${ms(median('listed'))} / ${ms(median('versions'))}`)
} finally {
  await browser?.close()
  dashboard?.kill('SIGINT')
  engine?.close()
  rmSync(store, { recursive: true, force: true })
}
