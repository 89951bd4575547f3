import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseHost, serializeHost } from '../../src/core/host-config.js'
import { errorLine } from '../helpers/errors.js'

const fixture = new URL('../fixtures/docker-machine-0.16-generic.json', import.meta.url)

describe('config.json (docker-machine 0.16 shape)', () => {
  it('round-trips a real docker-machine 0.16 document byte for byte', () => {
    const text = readFileSync(fixture, 'utf8')
    const host = parseHost(text, '/x/config.json')
    expect(host.DriverName).toBe('generic')
    expect(host.Driver.SSHPort).toBe(2222)
    expect(host.HostOptions.EngineOptions.Labels).toEqual(['env=prod'])
    expect(serializeHost(host)).toBe(text)
  })
  it('fills sections an older document lacks', () => {
    const host = parseHost(JSON.stringify({ ConfigVersion: 1, DriverName: 'none', Driver: { URL: 'tcp://127.0.0.1:1' }, Name: 'old' }), '/p')
    expect(host.ConfigVersion).toBe(3)
    expect(host.HostOptions.EngineOptions.TlsVerify).toBe(true)
    expect(host.HostOptions.SwarmOptions.Host).toBe('tcp://0.0.0.0:3376')
  })
  it('reports a corrupt file with its path and a fix', () => {
    expect(errorLine(() => parseHost('{"ConfigVersion": 3,', '/s/machines/a/config.json'))).toMatch(/^Corrupt machine config \/s\/machines\/a\/config.json: .*left untouched$/)
    expect(errorLine(() => parseHost('[]', '/p'))).toMatch(/not a JSON object/)
    expect(errorLine(() => parseHost('{"ConfigVersion":3}', '/p'))).toMatch(/DriverName is missing/)
  })
  it('refuses a config from a newer version', () => {
    expect(errorLine(() => parseHost('{"ConfigVersion":4,"DriverName":"none"}', '/p/config.json'))).toMatch(/ConfigVersion 4, newer than this tool understands \(3\)/)
  })
})

describe('inspect --format templates', async () => {
  const { renderGoTemplate } = await import('../../src/core/go-template.js')
  const host = parseHost(readFileSync(fixture, 'utf8'), '/x')
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
