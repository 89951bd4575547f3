import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { driverFlags } from '../../src/cli/driver-flags.js'
import { canOpenBrowser } from '../../src/commands/dashboard.js'
import { checkCreateRequest, driverForm, driverForms } from '../../src/dashboard/create-form.js'
import { checkOrigin, checkToken, cookieValue } from '../../src/dashboard/security.js'
import { optionHelp } from '../../src/driver-kit/options.js'
import { getDriverDefinition } from '../../src/registry/index.js'
import { Store } from '../../src/store/store.js'
import { tempStore } from '../helpers/cli.js'

// The create form is made from the same declarations as create's flags, and checked by the same
// code; the request gate refuses what docs/dashboard.md says it refuses.

describe('the dashboard create form', () => {
  it('has one field per create flag of every driver, with the flag help create --help shows', async () => {
    for (const form of await driverForms()) {
      const def = await getDriverDefinition(form.name)
      expect(form.fields.map((f) => f.flag), form.name).toEqual(Object.keys(driverFlags(def)))
      expect(form.fields.map((f) => f.help)).toEqual(def.options.map(optionHelp))
    }
    const qemu = driverForm(await getDriverDefinition('qemu'))
    expect(qemu.fields.find((f) => f.flag === 'qemu-memory')).toMatchObject({ type: 'int', default: 2048, required: false })
  })

  it('names every bad field at once, with create\'s own messages, and makes nothing', async () => {
    const store = new Store(await tempStore())
    const env = {}
    const r = await checkCreateRequest(store, { driver: 'qemu', name: '-x', options: { 'qemu-memory': 'lots', 'qemu-nope': '1' } }, { env })
    expect(r).toEqual({
      errors: {
        name: expect.stringMatching(/^Invalid machine name "-x"/),
        'qemu-memory': 'must be a whole number, got "lots"',
        'qemu-nope': '--qemu-nope is not an option of the qemu driver',
      },
    })
    const none = await checkCreateRequest(store, { driver: 'none', name: 'ok1', options: {} }, { env })
    expect(none).toEqual({ errors: { url: expect.stringMatching(/^is required for the none driver/) } })
    const typo = await checkCreateRequest(store, { driver: 'qemuu', name: 'ok1', options: {} }, { env })
    expect(typo).toEqual({ errors: { driver: expect.stringMatching(/Driver "qemuu" not found: did you mean "qemu"/) } })
    const good = await checkCreateRequest(store, { driver: 'none', name: 'ok1', options: { url: 'tcp://127.0.0.1:2376' } }, { env })
    expect(good).toMatchObject({ name: 'ok1', flags: { url: 'tcp://127.0.0.1:2376' } })
    expect(await store.loadAll()).toEqual([])
  })
})

const req = (headers: Record<string, string>, method = 'GET') => ({ headers, method }) as unknown as IncomingMessage

describe('the dashboard request gate', () => {
  const gate = { port: 4000, token: 't'.repeat(43) }

  it('answers to its own host names only, and refuses other origins and cross-site fetches', () => {
    expect(checkOrigin(req({ host: '127.0.0.1:4000' }), gate)).toEqual({ ok: true })
    expect(checkOrigin(req({ host: 'localhost:4000' }), gate)).toEqual({ ok: true })
    expect(checkOrigin(req({ host: 'rebind.example:4000' }), gate)).toMatchObject({ ok: false, status: 421 })
    expect(checkOrigin(req({ host: '127.0.0.1:4000', origin: 'http://127.0.0.1:4001' }), gate)).toMatchObject({ ok: false, status: 403 })
    expect(checkOrigin(req({ host: '127.0.0.1:4000', 'sec-fetch-site': 'same-site' }), gate)).toMatchObject({ ok: false, status: 403 })
    const post = { host: '127.0.0.1:4000', 'content-type': 'application/json' }
    expect(checkOrigin(req(post, 'POST'), gate)).toMatchObject({ ok: false, status: 403 })
    expect(checkOrigin(req({ ...post, origin: 'http://127.0.0.1:4000' }, 'POST'), gate)).toEqual({ ok: true })
    expect(checkOrigin(req({ ...post, origin: 'http://127.0.0.1:4000', 'content-type': 'multipart/form-data' }, 'POST'), gate)).toMatchObject({ ok: false, status: 415 })
  })

  it('reads the token from its header or its own cookie (named by port)', () => {
    expect(cookieValue('a=1; machine_dashboard_4000=xyz; b=2', 'machine_dashboard_4000')).toBe('xyz')
    expect(checkToken(req({ cookie: `machine_dashboard_4000=${gate.token}` }), gate)).toEqual({ ok: true })
    expect(checkToken(req({ cookie: `machine_dashboard_4001=${gate.token}` }), gate)).toMatchObject({ status: 401 })
    expect(checkToken(req({ 'x-machine-dashboard-token': `${gate.token}x` }), gate)).toMatchObject({ status: 403 })
  })

  it('opens a browser only outside CI, and on Linux only with a display', () => {
    expect(canOpenBrowser({ CI: 'true', DISPLAY: ':0' }, 'linux')).toBe(false)
    expect(canOpenBrowser({}, 'linux')).toBe(false)
    expect(canOpenBrowser({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBe(true)
    expect(canOpenBrowser({}, 'darwin')).toBe(true)
  })
})
