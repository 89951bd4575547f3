/// <reference lib="dom" />
// (page.evaluate callbacks run in the browser: DOM types for them.)
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServerCert } from '../../src/certs/certs.js'
import { ensureBuilt, ROOT, runCli, startCli, tempStore, type RunningCli } from '../helpers/cli.js'
import { launchChromium } from '../helpers/chromium.mjs'
import { fakeContainers, startFakeEngine, type FakeContainers, type FakeEngine } from '../helpers/fake-engine.js'
import { freePort } from '../helpers/sshd.js'
import { tempDir } from '../helpers/tmp.js'

// `machine dashboard` through the BUILT binary, in Debian's Chromium (playwright-core), against a
// store of `none` machines whose engines are the TLS stand-in (test/helpers/fake-engine.ts) in
// this process: the list, live changes, containers and their logs, the create form and rm's
// confirmation; and the security checks in plain HTTP. The screenshots in docs/dashboard/ are
// taken here: MACHINE_UPDATE_SCREENSHOTS=1 writes them there, otherwise to a temp directory.

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** One plain HTTP request to the dashboard with exactly these headers (Host included). */
function http(port: number, path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: { Host: `127.0.0.1:${port}`, ...o.headers }, setHost: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(o.body)
  })
}

describe('machine dashboard', () => {
  let store: string
  let dash: RunningCli
  let port: number
  let token: string
  let browser: Browser
  let page: Page
  let shots: string
  const engines: FakeEngine[] = []
  let web1Containers: FakeContainers
  let web2Version = '28.2.2'
  let web2: FakeEngine

  /** A `none` machine made by `machine create`, and its engine serving a certificate of the store's CA. */
  async function noneMachine(name: string, o: { version?: () => string; containers?: FakeContainers } = {}): Promise<FakeEngine> {
    const enginePort = await freePort()
    const r = await runCli(['create', '-d', 'none', '--url', `tcp://127.0.0.1:${enginePort}`, name], { store })
    expect(r.code, r.stderr).toBe(0)
    const ca = { cert: await readFile(join(store, 'certs', 'ca.pem'), 'utf8'), key: await readFile(join(store, 'certs', 'ca-key.pem'), 'utf8') }
    const server = await createServerCert(ca, name, ['127.0.0.1', 'localhost'])
    const e = await startFakeEngine({ caCert: ca.cert, serverCert: server.cert, serverKey: server.key, port: enginePort, hostname: name, ...o })
    engines.push(e)
    return e
  }

  const rowSel = (name: string) => `#machines tr[data-machine="${name}"]`
  const row = (name: string) => page.locator(rowSel(name))
  const cellSel = (name: string, field: string) => `${rowSel(name)} td[data-field="${field}"]`
  const cell = (name: string, field: string) => page.locator(cellSel(name, field))
  /** Wait (polling in the page, no reload) until the element's text matches. */
  const waitText = (selector: string, re: RegExp, ms = 15_000) =>
    page.waitForFunction(([s, src, flags]) => new RegExp(src!, flags).test(document.querySelector(s!)?.textContent ?? ''), [selector, re.source, re.flags] as const, { timeout: ms })

  beforeAll(async () => {
    ensureBuilt()
    store = await tempStore()
    shots = process.env.MACHINE_UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'dashboard') : await tempDir('dashboard-shots-')
    await mkdir(shots, { recursive: true })
    web1Containers = fakeContainers([
      { id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9', name: 'api', image: 'nginx:1.27', running: true, ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }], logs: ['listening on :80', 'GET / 200'] },
      { id: 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed', name: 'worker', image: 'busybox:latest', running: false, logs: ['done'] },
    ])
    await noneMachine('web1', { containers: web1Containers })
    web2 = await noneMachine('web2', { version: () => web2Version })
    dash = startCli(['dashboard', '--no-open'], { store, env: { MACHINE_DASHBOARD_POLL_MS: '300', CI: 'true' } })
    await dash.until(() => /Dashboard: http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.test(dash.stdout()), 'its URL line', 60_000)
    const m = /Dashboard: http:\/\/127\.0\.0\.1:(\d+)\/\?token=(\S+)/.exec(dash.stdout())!
    port = Number(m[1])
    token = m[2]!
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1200, height: 720 } })
    await page.goto(`http://127.0.0.1:${port}/?token=${token}`)
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    if (dash && dash.proc.exitCode === null) {
      dash.proc.kill('SIGINT')
      await dash.exit
    }
    for (const e of engines) await e.stop()
  })

  describe('security, in plain HTTP', () => {
    it('prints a URL on 127.0.0.1 with a long random token, and listens on 127.0.0.1 only', async () => {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
      const other = await new Promise<string>((resolve) => {
        const s = request({ host: '::1', port, path: '/' }, () => resolve('answered'))
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
        s.end()
      })
      expect(other).not.toBe('answered')
    })

    it('no token → 401; a wrong token → 403; the right one in the header → 200', async () => {
      const none = await http(port, '/api/machines')
      expect(none.status).toBe(401)
      expect(JSON.parse(none.body).error).toMatch(/URL it printed/)
      expect((await http(port, '/')).status).toBe(401)
      expect((await http(port, '/api/machines', { headers: { 'X-Machine-Dashboard-Token': 'x'.repeat(43) } })).status).toBe(403)
      expect((await http(port, `/?token=${'y'.repeat(43)}`)).status).toBe(403)
      const ok = await http(port, '/api/machines', { headers: { 'X-Machine-Dashboard-Token': token } })
      expect(ok.status).toBe(200)
      expect((JSON.parse(ok.body) as { machines: Array<{ name: string }> }).machines.map((x) => x.name)).toEqual(['web1', 'web2'])
      // Names and ids from the path are checked before they reach the store or an engine.
      const auth = { 'X-Machine-Dashboard-Token': token }
      expect((await http(port, '/api/machines/..%2Fcerts/env', { headers: auth })).status).toBe(400)
      expect((await http(port, '/api/machines/%E0%A4%A/env', { headers: auth })).status).toBe(400)
      expect((await http(port, '/api/machines/nope/env', { headers: auth })).status).toBe(404)
      expect((await http(port, '/api/machines/web1/containers/..%2F..%2Fversion/logs', { headers: auth })).body).toMatch(/event: failed\ndata: \{"error":"\\"\.\.\/\.\.\/version\\" is not a container id or name"\}/)
    })

    it('the URL token becomes an HttpOnly, SameSite=Strict cookie, and the page reloads without it', async () => {
      const r = await http(port, `/?token=${token}`)
      expect(r.status).toBe(303)
      expect(r.headers.location).toBe('/')
      const cookie = String(r.headers['set-cookie'])
      expect(cookie).toMatch(new RegExp(`^machine_dashboard_${port}=${token}; HttpOnly; SameSite=Strict; Path=/$`))
      const page = await http(port, '/', { headers: { Cookie: cookie.split(';')[0]! } })
      expect(page.status).toBe(200)
      expect(page.body).toContain('<title>machine dashboard</title>')
      expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/)
      expect(page.headers['x-frame-options']).toBe('DENY')
    })

    it('a foreign Host header is refused, even with the token (no DNS rebinding)', async () => {
      for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, `127.0.0.1.nip.io:${port}`]) {
        const r = await http(port, '/api/machines', { headers: { Host: host, 'X-Machine-Dashboard-Token': token } })
        expect(r.status, host).toBe(421)
        expect(JSON.parse(r.body).error).toMatch(/answers only to 127\.0\.0\.1/)
      }
      expect((await http(port, '/api/machines', { headers: { Host: `localhost:${port}`, 'X-Machine-Dashboard-Token': token } })).status).toBe(200)
    })

    it('a cross-origin POST is refused, with the cookie; so is a form post without Origin; the same-origin one runs', async () => {
      const cookie = `machine_dashboard_${port}=${token}`
      const json = { 'Content-Type': 'application/json', Cookie: cookie }
      const evil = await http(port, '/api/machines/web1/remove', { method: 'POST', headers: { ...json, Origin: 'http://evil.example' }, body: '{"confirm":"web1"}' })
      expect(evil.status).toBe(403)
      const site = await http(port, '/api/machines/web1/remove', { method: 'POST', headers: { ...json, Origin: `http://127.0.0.1:${port}`, 'Sec-Fetch-Site': 'cross-site' }, body: '{"confirm":"web1"}' })
      expect(site.status).toBe(403)
      const form = await http(port, '/api/machines/web1/remove', { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'confirm=web1' })
      expect(form.status).toBe(403)
      const plain = await http(port, '/api/machines/web1/remove', { method: 'POST', headers: { Cookie: cookie, Origin: `http://127.0.0.1:${port}`, 'Content-Type': 'text/plain' }, body: '{"confirm":"web1"}' })
      expect(plain.status).toBe(415)
      expect(existsSync(join(store, 'machines', 'web1', 'config.json'))).toBe(true)
      // Our own origin with the cookie: accepted (a none machine cannot be stopped: the job says so, as the CLI does).
      const ours = await http(port, '/api/machines/web1/stop', { method: 'POST', headers: { ...json, Origin: `http://127.0.0.1:${port}` }, body: '{}' })
      expect(ours.status).toBe(202)
      const job = JSON.parse(ours.body).job as string
      const events = await http(port, `/api/jobs/${job}/events`, { headers: { Cookie: cookie } })
      expect(events.body).toMatch(/event: done\ndata: \{"type":"done","ok":false,"error":"[^"]*stop[^"]*"/)
    })
  })

  describe('in the browser', () => {
    it('lists every machine with state, driver, address and engine version', async () => {
      await row('web2').waitFor()
      await waitText(cellSel('web1', 'engine'), /v28\.2\.2/)
      expect(await cell('web1', 'state').textContent()).toBe('Running')
      expect(await cell('web1', 'driver').textContent()).toBe('none')
      expect(await cell('web1', 'url').textContent()).toBe(engines[0]!.url)
      expect(await cell('web2', 'engine').textContent()).toBe('v28.2.2')
      expect(await page.locator('#live').textContent()).toBe('live')
      await page.emulateMedia({ colorScheme: 'light' })
      await page.screenshot({ path: join(shots, 'list-light.png') })
      await page.emulateMedia({ colorScheme: 'dark' })
      const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
      expect(dark).toBe('rgb(13, 17, 23)')
      await page.screenshot({ path: join(shots, 'list-dark.png') })
      await page.emulateMedia({ colorScheme: 'light' })
    })

    it('shows changes live, without a reload: an upgraded engine, a stopped one, a machine made by the CLI', async () => {
      await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42))
      web2Version = '29.0.1'
      await waitText(cellSel('web2', 'engine'), /^v29\.0\.1$/)
      await web2.stop()
      await waitText(cellSel('web2', 'error'), /refused the connection/)
      expect(await cell('web2', 'engine').textContent()).toBe('Unknown')
      const r = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', 'web3'], { store })
      expect(r.code, r.stderr).toBe(0)
      await row('web3').waitFor({ timeout: 15_000 })
      expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(42)
    })

    it('a machine: its env line, its containers, and a container\'s logs streaming', async () => {
      // By keyboard: the row's link is a real link.
      await row('web1').locator('a').focus()
      await page.keyboard.press('Enter')
      await page.locator('#containers tr[data-container="api"]').waitFor()
      // The none driver has no lifecycle and no SSH: only Remove is offered.
      await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('#view-machine [data-op="remove"]')!.disabled)
      const offered = await page.locator('#view-machine [data-op]').evaluateAll((bs) => bs.map((b) => `${b.textContent}:${(b as HTMLButtonElement).disabled ? 'off' : 'on'}`))
      expect(offered).toEqual(['Start:off', 'Stop:off', 'Restart:off', 'Regenerate certificates:off', 'Remove…:on'])
      expect(await page.locator('#env-eval').textContent()).toMatch(/^eval "\$\(\S+ env web1\)"$/)
      expect(await page.locator('#env-script').textContent()).toContain(`export DOCKER_HOST="${engines[0]!.url}"`)
      const api = page.locator('#containers tr[data-container="api"]')
      expect(await api.locator('td').allTextContents()).toEqual(['nginx:1.27', 'running', 'Up 5 minutes', '0.0.0.0:8080->80/tcp', 'LogsStopRemove…'])
      expect(await page.locator('#containers tr[data-container="worker"] td[data-field="state"]').textContent()).toBe('exited')
      await api.getByRole('button', { name: 'Logs of api' }).click()
      await waitText('#logs', /listening on :80\nGET \/ 200\n$/)
      web1Containers.log(web1Containers.byId.keys().next().value!, 'GET /healthz 204')
      await waitText('#logs', /GET \/ 200\nGET \/healthz 204\n$/)
      await page.screenshot({ path: join(shots, 'machine.png'), fullPage: true })
      // Stop, start, remove a container (remove asks first).
      await api.getByRole('button', { name: 'Stop api' }).click()
      await waitText('#containers tr[data-container="api"] td[data-field="state"]', /^exited$/)
      expect([...web1Containers.byId.values()].find((c) => c.name === 'api')!.running).toBe(false)
      await page.locator('#containers tr[data-container="worker"]').getByRole('button', { name: 'Remove worker' }).click()
      expect(await page.locator('#confirm').evaluate((d) => (d as HTMLDialogElement).open)).toBe(true)
      await page.locator('#confirm-ok').click()
      await page.locator('#containers tr[data-container="worker"]').waitFor({ state: 'detached' })
      expect([...web1Containers.byId.values()].map((c) => c.name)).toEqual(['api'])
    })

    it('the create form comes from the drivers\' options, refuses bad input inline, and creates a none machine live', async () => {
      await page.goto(`http://127.0.0.1:${port}/#/create`)
      await page.locator('#f-driver option[value="none"]').waitFor({ state: 'attached' })
      // Every built-in driver, with its own flags from its option declarations.
      const driversListed = await page.locator('#f-driver option').allTextContents()
      expect(driversListed).toEqual(expect.arrayContaining(['none', 'qemu', 'generic', 'amazonec2', 'virtualbox']))
      expect(await page.locator('#driver-fields label').allTextContents()).toContain('--qemu-memory')
      await page.selectOption('#f-driver', 'none')
      expect(await page.locator('#driver-fields label').allTextContents()).toEqual(['--url (required)'])
      expect(await page.locator('#help-url').textContent()).toMatch(/URL of the Docker engine.*\(required\)/)
      await page.fill('#f-name', 'bad name!')
      await page.fill('#f-url', 'http://127.0.0.1:2376')
      await page.click('#create-submit')
      await waitText('#err-name', /Invalid machine name "bad name!"/)
      expect(await page.locator('#err-url').textContent()).toMatch(/tcp:\/\//)
      expect(await page.locator('#f-name').getAttribute('aria-invalid')).toBe('true')
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-name')
      await page.fill('#f-name', 'web1')
      await page.click('#create-submit')
      await waitText('#err-name', /Machine "web1" already exists/)
      await page.screenshot({ path: join(shots, 'create.png'), fullPage: true })
      expect(existsSync(join(store, 'machines', 'bad name!'))).toBe(false)
      await page.fill('#f-name', 'made-here')
      await page.fill('#f-url', engines[0]!.url)
      await page.click('#create-submit')
      await waitText('#job-result', /^Done\. Open made-here$/, 30_000)
      expect(await page.locator('#job-log').textContent()).toMatch(/Running pre-create checks[\s\S]*Creating machine[\s\S]*env made-here/)
      expect(existsSync(join(store, 'machines', 'made-here', 'config.json'))).toBe(true)
      const ls = await runCli(['ls', '-q'], { store })
      expect(ls.stdout).toContain('made-here\n')
      await page.click('#nav-list')
      await waitText(cellSel('made-here', 'engine'), /v28\.2\.2/)
    })

    it('remove asks first: Cancel keeps the machine, Remove removes it through rm\'s code path', async () => {
      await page.goto(`http://127.0.0.1:${port}/#/machines/made-here`)
      await page.getByRole('button', { name: 'Remove…' }).first().click()
      expect(await page.locator('#confirm-text').textContent()).toMatch(/^Remove machine made-here\?/)
      await page.keyboard.press('Escape')
      expect(await page.locator('#confirm').evaluate((d) => (d as HTMLDialogElement).open)).toBe(false)
      await new Promise((r) => setTimeout(r, 500))
      expect(existsSync(join(store, 'machines', 'made-here'))).toBe(true)
      await page.locator('#view-machine').getByRole('button', { name: 'Remove…' }).click()
      await page.locator('#confirm-ok').click()
      await waitText('#job-result', /^Done\.$/, 30_000)
      expect(await page.locator('#job-log').textContent()).toContain('Successfully removed made-here')
      expect(existsSync(join(store, 'machines', 'made-here'))).toBe(false)
      await page.waitForURL(/#\/$/)
      await row('made-here').waitFor({ state: 'detached', timeout: 15_000 })
    })
  })

  it('stops on Ctrl-C', async () => {
    dash.proc.kill('SIGINT')
    expect(await dash.exit).toBe(0)
  })
})
