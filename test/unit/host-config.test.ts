import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseHost, quickShapeOk, serializeHost } from '../../src/core/host-config.js'
import { errorLine, errorLineAsync } from '../helpers/errors.js'

const fixture = new URL('../fixtures/docker-machine-0.16-generic.json', import.meta.url)

describe('config.json (docker-machine 0.16 shape)', () => {
  it('round-trips a real docker-machine 0.16 document byte for byte', async () => {
    const text = readFileSync(fixture, 'utf8')
    const host = await parseHost(text, '/x/config.json')
    expect(host.DriverName).toBe('generic')
    expect(host.Driver.SSHPort).toBe(2222)
    expect(host.HostOptions.EngineOptions.Labels).toEqual(['env=prod'])
    expect(serializeHost(host)).toBe(text)
  })
  it('fills sections an older document lacks, and reads Go nil slices (null) as empty lists', async () => {
    const host = await parseHost(JSON.stringify({ ConfigVersion: 1, DriverName: 'none', Driver: { URL: 'tcp://127.0.0.1:1' }, Name: 'old' }), '/p')
    expect(host.ConfigVersion).toBe(3)
    expect(host.HostOptions.EngineOptions.TlsVerify).toBe(true)
    expect(host.HostOptions.SwarmOptions.Host).toBe('tcp://0.0.0.0:3376')
    const nil = await parseHost(JSON.stringify({ DriverName: 'generic', HostOptions: { EngineOptions: { Labels: null, Dns: null }, AuthOptions: { ServerCertSANs: null } } }), '/p', 'n')
    expect(nil.HostOptions.EngineOptions.Labels).toEqual([])
    expect(nil.HostOptions.EngineOptions.Dns).toBeNull()
    expect(nil.HostOptions.AuthOptions.ServerCertSANs).toEqual([])
    expect(nil.Name).toBe('n')
  })
  it('writes AuthOptions back in docker-machine\'s field order, whole or partial, reversed or with extra fields', async () => {
    const doc = JSON.parse(readFileSync(fixture, 'utf8'))
    const auth = doc.HostOptions.AuthOptions as Record<string, unknown>
    const order = Object.keys(auth)
    doc.HostOptions.AuthOptions = { Extra: 1, ...Object.fromEntries(Object.entries(auth).reverse()) }
    const whole = await parseHost(JSON.stringify(doc), '/p')
    expect(Object.keys(whole.HostOptions.AuthOptions)).toEqual([...order, 'Extra'])
    expect(whole.HostOptions.AuthOptions).toEqual({ ...auth, Extra: 1 })
    doc.HostOptions.AuthOptions = { ClientKeyPath: '/k.pem', Extra: 1 }
    const partial = await parseHost(JSON.stringify(doc), '/p')
    expect(Object.keys(partial.HostOptions.AuthOptions)).toEqual([...order, 'Extra'])
    expect(partial.HostOptions.AuthOptions.ClientKeyPath).toBe('/k.pem')
    expect(partial.HostOptions.AuthOptions.CaCertPath).toBe(`${doc.Driver.StorePath}/certs/ca.pem`)
  })
  it('keeps fields it does not know (other docker-machine versions, driver fields)', async () => {
    const doc = JSON.parse(readFileSync(fixture, 'utf8'))
    doc.Driver.Tags = ['a', 1]
    doc.HostOptions.EngineOptions.TlsCaCert = 5
    const host = await parseHost(JSON.stringify(doc), '/p')
    expect(host.Driver.Tags).toEqual(['a', 1])
    expect((host.HostOptions.EngineOptions as unknown as Record<string, unknown>).TlsCaCert).toBe(5)
  })
  it('reports a corrupt file with its path and a fix', async () => {
    expect(await errorLineAsync(() => parseHost('{"ConfigVersion": 3,', '/s/machines/a/config.json'))).toMatch(/^Corrupt machine config \/s\/machines\/a\/config.json: .*left untouched$/)
    expect(await errorLineAsync(() => parseHost('[]', '/p'))).toMatch(/not a JSON object/)
    expect(await errorLineAsync(() => parseHost('{"ConfigVersion":3}', '/p'))).toMatch(/DriverName is missing/)
    expect(await errorLineAsync(() => parseHost('{"DriverName":5}', '/p', 'm1'))).toBe(
      'Corrupt machine config /p: DriverName is a number, not text: fix or remove the file (it was left untouched), or remove the machine with "machine rm -f m1"',
    )
  })
  it('refuses a config from a newer version', async () => {
    expect(await errorLineAsync(() => parseHost('{"ConfigVersion":4,"DriverName":"none"}', '/p/config.json'))).toMatch(/ConfigVersion 4, newer than this tool understands \(3\)/)
  })
})

describe('config.json shape (valibot schema)', () => {
  const base = (): Record<string, any> => JSON.parse(readFileSync(fixture, 'utf8'))
  const line = (doc: unknown) => errorLineAsync(() => parseHost(JSON.stringify(doc), '/s/machines/gen1/config.json', 'gen1'))

  // Each: a change to the fixture, and the field the error must name with what it is.
  const bad: Array<[string, (d: Record<string, any>) => void, string]> = [
    ['Driver is text', (d) => (d.Driver = 'str'), 'Driver is text, not an object'],
    ['HostOptions is null', (d) => (d.HostOptions = null), 'HostOptions is null, not an object'],
    ['numeric Name', (d) => (d.Name = 7), 'Name is a number, not text'],
    ['numeric URL', (d) => (d.Driver.URL = 2376), 'Driver.URL is a number, not text'],
    ['SSHPort as text', (d) => (d.Driver.SSHPort = '22'), 'Driver.SSHPort is text, not a whole number'],
    ['fractional EnginePort', (d) => (d.Driver.EnginePort = 2376.5), 'Driver.EnginePort is the number 2376.5, not a whole number'],
    ['a label that is a number', (d) => (d.HostOptions.EngineOptions.Labels = ['a=b', 5]), 'HostOptions.EngineOptions.Labels[1] is a number, not text'],
    ['Env as an object', (d) => (d.HostOptions.EngineOptions.Env = { A: 'b' }), 'HostOptions.EngineOptions.Env is an object, not a list of strings'],
    ['TlsVerify as text', (d) => (d.HostOptions.EngineOptions.TlsVerify = 'yes'), 'HostOptions.EngineOptions.TlsVerify is text, not true or false'],
    ['SwarmOptions as a list', (d) => (d.HostOptions.SwarmOptions = []), 'HostOptions.SwarmOptions is a list, not an object'],
    ['CaCertPath null', (d) => (d.HostOptions.AuthOptions.CaCertPath = null), 'HostOptions.AuthOptions.CaCertPath is null, not text'],
    ['ServerCertSANs of objects', (d) => (d.HostOptions.AuthOptions.ServerCertSANs = [{}]), 'HostOptions.AuthOptions.ServerCertSANs[0] is an object, not text'],
    ['Memory as text', (d) => (d.HostOptions.Memory = '1G'), 'HostOptions.Memory is text, not a whole number'],
    ['empty DriverName', (d) => (d.DriverName = ''), 'DriverName is empty, not a driver name'],
    ['ConfigVersion as text', (d) => (d.ConfigVersion = '3'), 'ConfigVersion is text, not a whole number'],
  ]
  for (const [what, change, expected] of bad) {
    it(`names the field: ${what}`, async () => {
      const d = base()
      change(d)
      expect(await line(d)).toBe(`Corrupt machine config /s/machines/gen1/config.json: ${expected}: fix or remove the file (it was left untouched), or remove the machine with "machine rm -f gen1"`)
    })
  }

  it('the quick check never passes a document the schema refuses', async () => {
    // Every field of the fixture (and a few it lacks) set to every JSON kind: whenever the quick
    // check (no valibot loaded) says fine, the schema must agree, else a bad document slips by.
    const { shapeProblem } = await import('../../src/core/host-schema.js')
    const values: unknown[] = [null, 0, 1.5, 'x', '', true, [], ['x'], [1], {}, { a: 1 }]
    const paths: string[][] = []
    const walk = (o: Record<string, unknown>, at: string[]) => {
      for (const [k, x] of Object.entries(o)) {
        paths.push([...at, k])
        if (x && typeof x === 'object' && !Array.isArray(x)) walk(x as Record<string, unknown>, [...at, k])
      }
    }
    walk(base(), [])
    paths.push(['Driver', 'URL'], ['Driver', 'EngineURL'])
    let refused = 0
    for (const p of paths) {
      for (const x of values) {
        const d = base()
        let o = d
        for (const k of p.slice(0, -1)) o = o[k]
        o[p.at(-1)!] = x
        const problem = shapeProblem(d)
        if (problem) refused++
        if (quickShapeOk(d)) expect(problem, `${p.join('.')} = ${JSON.stringify(x)}`).toBeUndefined()
      }
    }
    expect(refused).toBeGreaterThan(paths.length * 5)
    expect(quickShapeOk(base())).toBe(true)
    expect(shapeProblem(base())).toBeUndefined()
  })
})

describe('inspect --format templates', async () => {
  const { renderGoTemplate } = await import('../../src/core/go-template.js')
  const host = await parseHost(readFileSync(fixture, 'utf8'), '/x')
  it('reads fields, json and prettyjson', () => {
    expect(renderGoTemplate('{{.DriverName}} {{.Driver.SSHPort}} {{ .Name }}', host)).toBe('generic 2222 gen1')
    expect(renderGoTemplate('{{json .HostOptions.EngineOptions.Labels}}', host)).toBe('["env=prod"]')
    expect(renderGoTemplate('{{prettyjson .HostOptions.EngineOptions.Labels}}', host)).toBe('[\n    "env=prod"\n]')
  })
  it('names a missing field and refuses unsupported actions', () => {
    expect(errorLine(() => renderGoTemplate('{{.Driver.Nope}}', host))).toMatch(/^Template field .Driver.Nope does not exist/)
    expect(errorLine(() => renderGoTemplate('{{range .Driver}}x{{end}}', host))).toMatch(/^Unsupported template in --format/)
  })
})
