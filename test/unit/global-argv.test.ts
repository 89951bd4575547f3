import { describe, expect, it } from 'vitest'
import { GLOBAL_FLAGS } from '../../src/cli/flag-spec.js'
import { hoistGlobalFlags } from '../../src/cli/global-argv.js'

describe('global flags before the command (bin/run.js)', () => {
  it('moves every declared global flag, long and short, to after the command', () => {
    for (const [name, s] of Object.entries(GLOBAL_FLAGS)) {
      const spellings = [`--${name}`, ...('char' in s ? [`-${s.char}`] : [])]
      for (const f of spellings) {
        const given = s.type === 'boolean' ? [f] : [f, 'V']
        expect(hoistGlobalFlags([...given, 'ls', '-q'])).toEqual(['ls', ...given, '-q'])
      }
      if (s.type !== 'boolean') expect(hoistGlobalFlags([`--${name}=V`, 'ls'])).toEqual(['ls', `--${name}=V`])
    }
  })

  it('moves --json too, and leaves argv without leading global flags alone', () => {
    expect(hoistGlobalFlags(['--json', '-D', 'nosuch'])).toEqual(['nosuch', '--json', '-D'])
    expect(hoistGlobalFlags(['env', '-s', 'DIR', 'dev'])).toEqual(['env', '-s', 'DIR', 'dev'])
    expect(hoistGlobalFlags(['-s'])).toEqual(['-s'])
    expect(hoistGlobalFlags(['--json'])).toEqual(['--json'])
  })
})
