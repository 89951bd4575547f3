#!/usr/bin/env node
// Benchmark: `machine dashboard`'s page load in headless Chromium (Debian's, driven by
// playwright-core as in the tests): from navigating to the printed URL to the machine list
// rendered with every one of --machines `none` machines, each showing its engine version (their
// engines are one TLS stand-in on 127.0.0.1 answering /version). "first" is the first load,
// which includes the server's first probe of every engine; "again" the median of --runs later
// loads in fresh browser contexts (a new cookie each time), where the server answers from its
// last probe round. Run `npm run build` first.
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
    await page.waitForFunction((n) => [...document.querySelectorAll('#machines tbody td[data-field="engine"]')].filter((c) => c.textContent === 'v28.2.2').length === n, COUNT, { polling: 'raf', timeout: 60_000 })
    const ms = performance.now() - t
    await context.close()
    return ms
  }
  const first = await load()
  const again = []
  for (let i = 0; i < RUNS; i++) again.push(await load())
  again.sort((a, b) => a - b)
  const median = again[Math.floor(again.length / 2)]
  console.log(`dashboard page load, ${COUNT} machines listed with engine versions (headless chromium, ${RUNS} runs):`)
  console.log(`  first load (server probes every engine):  ${first.toFixed(0)} ms`)
  console.log(`  later loads, median (min ${again[0].toFixed(0)}, max ${again.at(-1).toFixed(0)}):  ${median.toFixed(0)} ms`)
} finally {
  await browser?.close()
  dashboard?.kill('SIGINT')
  engine?.close()
  rmSync(store, { recursive: true, force: true })
}
