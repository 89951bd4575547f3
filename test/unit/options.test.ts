import { describe, expect, expectTypeOf, it } from 'vitest'
import { defineDriver, type DriverContext } from '../../src/driver-kit/contract.js'
import { resolveOptions, withClusterDefaults, type OptionSpec } from '../../src/driver-kit/options.js'
import { errorLine } from '../helpers/errors.js'

const opts: OptionSpec[] = [
  { name: 'region', type: 'string', env: ['AWS_DEFAULT_REGION'], default: 'us-east-1', description: 'r' },
  { name: 'secret-key', type: 'string', env: ['AWS_SECRET_ACCESS_KEY'], secret: true, description: 's' },
  { name: 'root-size', type: 'int', default: 16, description: 'n' },
  { name: 'monitoring', type: 'boolean', description: 'b' },
  { name: 'open-port', type: 'string[]', description: 'p' },
  { name: 'ip-address', type: 'string', required: true, env: ['X_IP'], configKey: 'IPAddress', description: 'ip' },
  { name: 'volume-type', type: 'string', choices: ['gp3', 'io2'], default: 'gp3', description: 'v' },
]

describe('driver options: flag → saved config → env → default', () => {
  it('takes flags first, then env, then defaults; secrets never reach the config', () => {
    const r = resolveOptions('amazonec2', opts, { 'amazonec2-ip-address': '127.0.0.1', 'amazonec2-root-size': '40' }, { AWS_DEFAULT_REGION: 'eu-west-1', AWS_SECRET_ACCESS_KEY: 'shh' })
    expect(r.config).toEqual({ Region: 'eu-west-1', RootSize: 40, Monitoring: false, OpenPort: [], IPAddress: '127.0.0.1', VolumeType: 'gp3' })
    expect(r.secrets).toEqual({ 'secret-key': 'shh' })
    expect(r.values.secretKey).toBe('shh')
    expect(r.values.ipAddress).toBe('127.0.0.1')
    expect(JSON.stringify(r.config)).not.toContain('shh')
  })
  it('an empty text value where a default exists means the default (flag, env or saved), as an unset variable does', () => {
    const saved = { config: { Region: '', IPAddress: '127.0.0.2' }, from: 'm/config.json' }
    expect(resolveOptions('amazonec2', opts, { 'amazonec2-region': '', 'amazonec2-ip-address': '127.0.0.1' }, {}).values.region).toBe('us-east-1')
    expect(resolveOptions('amazonec2', opts, { 'amazonec2-region': '', 'amazonec2-ip-address': '127.0.0.1' }, { AWS_DEFAULT_REGION: 'eu-west-1' }).values.region).toBe('eu-west-1')
    expect(resolveOptions('amazonec2', opts, {}, {}, saved).values.region).toBe('us-east-1')
    // Without a default an empty value is still a value (and a required one is then present).
    expect(resolveOptions('amazonec2', opts, { 'amazonec2-ip-address': '' }, {}).values.ipAddress).toBe('')
  })

  it('names the flag and the env var when a required option is missing', () => {
    expect(errorLine(() => resolveOptions('amazonec2', opts, {}, {}))).toBe(
      '--amazonec2-ip-address is required for the amazonec2 driver: pass --amazonec2-ip-address <value> (or set X_IP)',
    )
  })
  it('rejects bad numbers, booleans and choices naming where the value came from', () => {
    const ip = { 'amazonec2-ip-address': '127.0.0.1' }
    expect(errorLine(() => resolveOptions('amazonec2', opts, { ...ip, 'amazonec2-root-size': 'big' }, {}))).toMatch(/--amazonec2-root-size from the command line must be a whole number, got "big"/)
    expect(errorLine(() => resolveOptions('amazonec2', opts, { ...ip, 'amazonec2-volume-type': 'gp9' }, {}))).toMatch(/must be one of gp3, io2/)
    expect(errorLine(() => resolveOptions('amazonec2', opts, {}, { X_IP: '1', AWS_DEFAULT_REGION: 'x' }))).toBe('no error')
  })
  it('shows a value\'s control characters escaped, so a hostile value cannot break the one error line', () => {
    const ip = { 'amazonec2-ip-address': '127.0.0.1' }
    const withCheck: OptionSpec[] = [...opts, { name: 'user', type: 'string', description: 'u', validate: (v) => `"${String(v)}" is not a login name` }]
    for (const [flags, line] of [
      [{ 'amazonec2-volume-type': 'gp3\nx = "1"' }, '--amazonec2-volume-type must be one of gp3, io2, got "gp3\\nx = \\"1\\""'],
      [{ 'amazonec2-root-size': '4\r2' }, '--amazonec2-root-size from the command line must be a whole number, got "4\\r2"'],
      [{ 'amazonec2-user': 'ada\nroot' }, '--amazonec2-user: "ada\\nroot" is not a login name'],
    ] as const) {
      const got = errorLine(() => resolveOptions('amazonec2', withCheck, { ...ip, ...flags }, {}))
      expect(got).toBe(line)
      expect(got).not.toMatch(/[\n\r]/)
    }
  })
  it('splits list env vars on commas', () => {
    const o: OptionSpec[] = [{ name: 'tags', type: 'string[]', env: ['T'], description: 't' }]
    expect(resolveOptions('d', o, {}, { T: 'a, b,,c' }).values.tags).toEqual(['a', 'b', 'c'])
  })
  it('for an existing machine: the saved value beats a variable set later, secrets still come from the environment, a bad saved value is named', () => {
    const saved = { config: { Region: 'ap-south-1', IPAddress: '127.0.0.2', RootSize: 30, SecretKey: 'never-read' }, from: '/store/machines/m1/config.json' }
    const r = resolveOptions('amazonec2', opts, {}, { AWS_DEFAULT_REGION: 'eu-west-1', AWS_SECRET_ACCESS_KEY: 'shh' }, saved)
    expect(r.values).toMatchObject({ region: 'ap-south-1', ipAddress: '127.0.0.2', rootSize: 30, secretKey: 'shh', volumeType: 'gp3' })
    // A flag given to a later command still wins (docker-machine has none, plugins may).
    expect(resolveOptions('amazonec2', opts, { 'amazonec2-region': 'us-west-2' }, {}, saved).values.region).toBe('us-west-2')
    expect(errorLine(() => resolveOptions('amazonec2', opts, {}, {}, { ...saved, config: { ...saved.config, RootSize: 'lots' } }))).toBe(
      '--amazonec2-root-size from /store/machines/m1/config.json (RootSize) must be a whole number, got "lots"',
    )
    expect(errorLine(() => resolveOptions('amazonec2', opts, {}, {}, { ...saved, config: { ...saved.config, VolumeType: 'gp9' } }))).toBe(
      '--amazonec2-volume-type from /store/machines/m1/config.json (VolumeType) must be one of gp3, io2, got "gp9"',
    )
    expect(errorLine(() => resolveOptions('amazonec2', opts, {}, {}, { ...saved, config: { ...saved.config, Region: { $gt: '' } } }))).toMatch(/must be text/)
  })
  it('checks a bound of this host only for a value given now, not for a machine saved on a bigger host', () => {
    const mem: OptionSpec[] = [{ name: 'memory', type: 'int', default: 2048, description: 'm', validateNew: (v) => (Number(v) > 4096 ? 'more than this host has' : undefined) }]
    expect(errorLine(() => resolveOptions('q', mem, { 'q-memory': '8192' }, {}))).toBe('--q-memory: more than this host has')
    expect(resolveOptions('q', mem, {}, {}, { config: { Memory: 8192 } }).values.memory).toBe(8192)
  })
  it('types a driver\'s options from its declaration', () => {
    const def = defineDriver({
      name: 'demo',
      description: 'd',
      options: [
        { name: 'instance-type', type: 'string', default: 't3.micro', description: 'i' },
        { name: 'disk-size', type: 'int', description: 'd' },
        { name: 'spot', type: 'boolean', description: 's' },
        { name: 'http-tokens', type: 'string', choices: ['required', 'optional'], default: 'required', description: 'h' },
        { name: 'zone', type: 'string', required: true, description: 'z' },
      ],
      load: async () => ({ createDriver: () => ({}) as never }),
    })
    type Opts = DriverContext<typeof def.options>['options']
    expectTypeOf<Opts['instanceType']>().toEqualTypeOf<string>()
    expectTypeOf<Opts['diskSize']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<Opts['spot']>().toEqualTypeOf<boolean>()
    expectTypeOf<Opts['httpTokens']>().toEqualTypeOf<'required' | 'optional'>()
    expectTypeOf<Opts['zone']>().toEqualTypeOf<string>()
    const r = resolveOptions('demo', def.options, { 'demo-zone': 'a' }, {})
    expect(r.values).toEqual({ instanceType: 't3.micro', spot: false, httpTokens: 'required', zone: 'a' })
  })
})

describe('an option with a cluster default (swarm-ports) on a machine that joins a swarm later', () => {
  const swarmPorts: OptionSpec[] = [{ name: 'swarm-ports', type: 'boolean', env: ['AWS_SWARM_PORTS'], configKey: 'SwarmPorts', clusterDefault: true, description: 's' }]
  const joining = (saved: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
    resolveOptions('amazonec2', swarmPorts, withClusterDefaults('amazonec2', swarmPorts, {}, env, saved), env, { config: saved }).values.swarmPorts

  it('a lone create saves no value (false for it), so a later join takes the cluster default', () => {
    const lone = resolveOptions('amazonec2', swarmPorts, {}, {})
    expect(lone.values.swarmPorts).toBe(false)
    expect(lone.config).toEqual({})
    expect(joining(lone.config)).toBe(true)
  })

  it('an opt-out given at create (flag or environment) is saved and stays one at join; the environment at join counts when nothing was saved', () => {
    const optedOut = resolveOptions('amazonec2', swarmPorts, {}, { AWS_SWARM_PORTS: 'false' })
    expect(optedOut.config).toEqual({ SwarmPorts: false })
    expect(joining(optedOut.config)).toBe(false)
    expect(joining(resolveOptions('amazonec2', swarmPorts, { 'amazonec2-swarm-ports': false }, {}).config)).toBe(false)
    expect(joining({}, { AWS_SWARM_PORTS: 'false' })).toBe(false)
    expect(joining({ SwarmPorts: true })).toBe(true)
  })
})
