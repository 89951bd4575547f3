import { describe, expect, it } from 'vitest'
import { ENV_FLAGS, LS_FLAGS } from '../../src/cli/flag-spec.js'
import { parseFlags } from '../../src/fast/parse.js'

// The fast path's parser must give what oclif's would, or give up (undefined: oclif answers).
describe('fast path flag parsing', () => {
  const env = { MACHINE_STORAGE_PATH: '/store' }

  it('reads a bare NAME, with the flags their environment defaults', () => {
    const p = parseFlags(['dev'], ENV_FLAGS, 1, env)
    expect(p?.args).toEqual(['dev'])
    expect(p?.flags['storage-path']).toBe('/store')
    expect(p?.flags.unset).toBeUndefined()
  })

  it('reads no arguments at all, with declared defaults', () => {
    const p = parseFlags([], LS_FLAGS, 0, {})
    expect(p?.args).toEqual([])
    expect(p?.flags.timeout).toBe('10')
    expect(p?.flags['storage-path']).toBeUndefined()
  })

  it('takes a lone "-" as an argument, as parseArgs does', () => {
    expect(parseFlags(['-'], ENV_FLAGS, 1, env)?.args).toEqual(['-'])
  })

  it('parses flags in any position, short and long, with = or a separate value', () => {
    const p = parseFlags(['--shell=fish', 'dev', '-s', '/other', '--no-proxy'], ENV_FLAGS, 1, env)
    expect(p?.args).toEqual(['dev'])
    expect(p?.flags).toMatchObject({ shell: 'fish', 'storage-path': '/other', 'no-proxy': true })
    expect(parseFlags(['--filter', 'driver=none', '--filter=state=Running', '-q'], LS_FLAGS, 0, {})?.flags).toMatchObject({ filter: ['driver=none', 'state=Running'], quiet: true })
  })

  it('gives up on what oclif must answer: help, unknown flags, a flag without its value, extra arguments', () => {
    expect(parseFlags(['dev', '--help'], ENV_FLAGS, 1, env)).toBeUndefined()
    expect(parseFlags(['-h'], LS_FLAGS, 0, env)).toBeUndefined()
    expect(parseFlags(['dev', '--bogus'], ENV_FLAGS, 1, env)).toBeUndefined()
    expect(parseFlags(['dev', '--shell'], ENV_FLAGS, 1, env)).toBeUndefined()
    expect(parseFlags(['dev', 'prod'], ENV_FLAGS, 1, env)).toBeUndefined()
    expect(parseFlags(['dev'], LS_FLAGS, 0, env)).toBeUndefined()
    expect(parseFlags(['--', '-x'], ENV_FLAGS, 1, env)?.args).toEqual(['-x'])
  })
})
