import { describe, expect, it } from 'vitest'
import { compileFormat, matchesFilters, parseFilters, renderLs, sortRows, tabwrite, type LsRow } from '../../src/core/ls-format.js'

const row = (o: Partial<LsRow>): LsRow => ({
  Name: 'm',
  Active: '-',
  ActiveHost: false,
  ActiveSwarm: false,
  DriverName: 'none',
  State: 'Running',
  URL: 'tcp://127.0.0.1:2376',
  Swarm: '',
  DockerVersion: 'v28.2.2',
  Error: '',
  ResponseTime: '3ms',
  SwarmOptions: '',
  EngineOptions: '',
  labels: [],
  ...o,
})

describe('ls table', () => {
  it('pads like Go tabwriter (minwidth 5, padding 3), last cell unpadded', () => {
    expect(tabwrite(['NAME\tA\tB', 'web10\tx\t'])).toBe('NAME    A    B\nweb10   x    ')
  })
  it('renders the default docker-machine table', () => {
    const out = renderLs([row({ Name: 'a1' }), row({ Name: 'b', State: 'Stopped', URL: '', DockerVersion: 'Unknown', Error: 'boom', Active: '' })])
    const lines = out.split('\n')
    expect(lines[0]).toBe('NAME   ACTIVE   DRIVER   STATE     URL                    SWARM   DOCKER    ERRORS')
    expect(lines[1]).toBe('a1     -        none     Running   tcp://127.0.0.1:2376           v28.2.2   ')
    expect(lines[2]).toBe('b               none     Stopped                                  Unknown   boom')
    expect(out.endsWith('\n')).toBe(true)
  })
  it('sorts naturally and case-insensitively', () => {
    expect(sortRows([row({ Name: 'm10' }), row({ Name: 'M2' }), row({ Name: 'a' })]).map((r) => r.Name)).toEqual(['a', 'M2', 'm10'])
  })
})

describe('ls --format', () => {
  it('renders fields with \\t and \\n unescaped, no header without "table"', () => {
    expect(renderLs([row({ Name: 'x' })], '{{.Name}}\\t{{.State}}')).toBe('x\tRunning\n')
  })
  it('"table" adds the header', () => {
    expect(renderLs([row({ Name: 'x' })], 'table {{.Name}} {{.ResponseTime}}')).toBe('NAME RESPONSE\nx 3ms\n')
  })
  it('rejects unknown fields and unsupported template syntax', () => {
    expect(() => compileFormat('{{.Nope}}')).toThrow(/Unknown --format field "Nope"/)
    expect(() => compileFormat('{{range .}}')).toThrow(/Unsupported --format template/)
  })
})

describe('ls --filter', () => {
  it('ORs values of one key and ANDs different keys', () => {
    const f = parseFilters(['driver=none', 'driver=generic', 'state=running'])
    expect(matchesFilters(row({ DriverName: 'generic' }), f)).toBe(true)
    expect(matchesFilters(row({ DriverName: 'qemu' }), f)).toBe(false)
    expect(matchesFilters(row({ State: 'Stopped' }), f)).toBe(false)
  })
  it('name is an unanchored regexp; label matches key=value with a case-insensitive value', () => {
    expect(matchesFilters(row({ Name: 'web-1' }), parseFilters(['name=eb-\\d']))).toBe(true)
    expect(matchesFilters(row({ Name: 'db' }), parseFilters(['name=^web']))).toBe(false)
    expect(matchesFilters(row({ labels: ['env=Prod'] }), parseFilters(['label=env=prod']))).toBe(true)
    expect(matchesFilters(row({ labels: ['env=dev'] }), parseFilters(['label=env=prod']))).toBe(false)
  })
  it('rows that failed to load survive filters', () => {
    expect(matchesFilters(row({ loadError: true, DriverName: 'not found' }), parseFilters(['driver=none']))).toBe(true)
  })
  it('reports bad filters clearly', () => {
    expect(() => parseFilters(['foo'])).toThrow(/Unsupported filter syntax/)
    expect(() => parseFilters(['colour=red'])).toThrow(/Unsupported filter key 'colour'/)
    expect(() => parseFilters(['name=('])).toThrow(/Invalid regular expression/)
  })
})
