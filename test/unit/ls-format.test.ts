import { describe, expect, it } from 'vitest'
import { MachineError } from '../../src/core/errors.js'
import type { HostConfig } from '../../src/core/host-config.js'
import { filterBeforeProbe } from '../../src/core/ls-filter.js'
import { checkTimeoutFlag } from '../../src/core/timeout-flag.js'
import { compileFormat, matchesFilters, parseFilters, renderLs, sortRows, tabwrite, type LsRow } from '../../src/core/ls-format.js'
import type { LoadedEntry } from '../../src/store/store.js'

const row = (o: Partial<LsRow>): LsRow => ({
  Name: 'm',
  Active: '-',
  ActiveHost: false,
  ActiveSwarm: false,
  DriverName: 'none',
  Arch: '',
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
  it('{{.Arch}} shows the guest architecture a driver recorded (ARCH in a table)', () => {
    expect(renderLs([row({ Name: 'a1', DriverName: 'qemu', Arch: 'aarch64' }), row({ Name: 'n' })], 'table {{.Name}}\t{{.DriverName}}\t{{.Arch}}')).toBe(
      'NAME   DRIVER   ARCH\na1     qemu     aarch64\nn      none     \n',
    )
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

describe('ls flag checks (shared by the command and the fast path)', () => {
  const entry = (name: string, driver: string, labels: string[] = []): LoadedEntry =>
    ({ name, host: { Name: name, DriverName: driver, HostOptions: { EngineOptions: { Labels: labels } } } as unknown as HostConfig })

  it('refuses a state that no machine can be in, naming the valid ones', () => {
    const e = (() => {
      try {
        parseFilters(['state=bogus'])
      } catch (x) {
        return x as MachineError
      }
    })()
    expect(e?.code).toBe('invalid-filter')
    expect(e?.line).toBe('Unsupported state "bogus" in --filter state=bogus: use one of Running, Paused, Saved, Stopped, Stopping, Starting, Error, Timeout')
    expect(parseFilters(['state=running']).state).toEqual(['running'])
  })

  it('keeps for probing only the machines whose config passes name, driver and label filters', () => {
    const entries = [entry('web1', 'qemu', ['env=prod']), entry('web2', 'none'), entry('db', 'qemu'), { name: 'broken', error: new MachineError('bad-config', 'x') }]
    const names = (f: string[]) => filterBeforeProbe(entries, parseFilters(f)).map((e) => e.name)
    expect(names(['name=^web'])).toEqual(['web1', 'web2', 'broken'])
    expect(names(['driver=qemu'])).toEqual(['web1', 'db', 'broken'])
    expect(names(['label=env=prod'])).toEqual(['web1', 'broken'])
    // state needs a probe: nothing is left out before it.
    expect(names(['state=Running'])).toEqual(['web1', 'web2', 'db', 'broken'])
  })

  it('takes --timeout from 1 to 3600 seconds, else one line with the range', () => {
    expect(checkTimeoutFlag(undefined)).toBe(10)
    expect(checkTimeoutFlag(1)).toBe(1)
    expect(checkTimeoutFlag(3600)).toBe(3600)
    for (const bad of [0, -1, 3601, 99999999999, Number.NaN]) {
      expect(() => checkTimeoutFlag(bad)).toThrow(/^--timeout .* is out of range$/)
    }
    try {
      checkTimeoutFlag(0)
    } catch (e) {
      expect((e as MachineError).line).toBe('--timeout 0 is out of range: give whole seconds from 1 to 3600')
      expect((e as MachineError).code).toBe('invalid-timeout')
    }
    // The flag's text, as oclif and the fast path hand it over.
    expect(checkTimeoutFlag('30')).toBe(30)
    for (const bad of ['-1', '0', '99999999999']) expect(() => checkTimeoutFlag(bad)).toThrow(/^--timeout .* is out of range$/)
    for (const bad of ['1.5', 'abc', '', '1e3']) {
      expect(() => checkTimeoutFlag(bad)).toThrow(/^--timeout ".*" is not a whole number of seconds$/)
    }
    expect(() => checkTimeoutFlag('abc')).toThrow(expect.objectContaining({ code: 'invalid-timeout', line: '--timeout "abc" is not a whole number of seconds: give whole seconds from 1 to 3600' }))
  })
})
