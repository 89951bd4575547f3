import { describe, expect, it } from 'vitest'
import { resolveOptions, type OptionSpec } from '../../src/driver-kit/options.js'
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

describe('driver options: flag → env → default', () => {
  it('takes flags first, then env, then defaults; secrets never reach the config', () => {
    const r = resolveOptions('amazonec2', opts, { 'amazonec2-ip-address': '127.0.0.1', 'amazonec2-root-size': '40' }, { AWS_DEFAULT_REGION: 'eu-west-1', AWS_SECRET_ACCESS_KEY: 'shh' })
    expect(r.config).toEqual({ Region: 'eu-west-1', RootSize: 40, Monitoring: false, OpenPort: [], IPAddress: '127.0.0.1', VolumeType: 'gp3' })
    expect(r.secrets).toEqual({ 'secret-key': 'shh' })
    expect(r.values['secret-key']).toBe('shh')
    expect(JSON.stringify(r.config)).not.toContain('shh')
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
  it('splits list env vars on commas', () => {
    const o: OptionSpec[] = [{ name: 'tags', type: 'string[]', env: ['T'], description: 't' }]
    expect(resolveOptions('d', o, {}, { T: 'a, b,,c' }).values.tags).toEqual(['a', 'b', 'c'])
  })
})
