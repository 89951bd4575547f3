import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GLOBAL_FLAGS } from '../../src/cli/flag-spec.js'
import { hoistGlobalFlags, TOPICS } from '../../src/cli/global-argv.js'

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

  it('puts them after both words of a topic\'s command (swarm init), and knows every topic', () => {
    expect(hoistGlobalFlags(['-s', 'DIR', '--json', 'swarm', 'init', 'n1'])).toEqual(['swarm', 'init', '-s', 'DIR', '--json', 'n1'])
    expect(hoistGlobalFlags(['-s', 'DIR', 'swarm'])).toEqual(['swarm', '-s', 'DIR'])
    expect(hoistGlobalFlags(['-s', 'DIR', 'swarm', '--help'])).toEqual(['swarm', '-s', 'DIR', '--help'])
    const folders = readdirSync(join(import.meta.dirname, '../../src/commands'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)
    expect([...TOPICS].sort()).toEqual(folders.sort())
  })
})
