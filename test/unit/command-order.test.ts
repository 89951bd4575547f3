/**
 * src/cli/command-order.ts replaces oclif's `a.id.localeCompare(b.id)` sort (scripts/oclif-patches.mjs):
 * it must order every pair as localeCompare does in the process's default locale, computing it
 * by code point only where that is provably the same answer.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { lazyRequires } from '../../scripts/oclif-patches.mjs'
import { compareCommandIds } from '../../src/cli/command-order.js'
import { ROOT } from '../helpers/cli.js'

/** Ids over an alphabet, deterministic (a small LCG), weighted to the characters that matter. */
function ids(alphabet: string, count: number): string[] {
  let seed = 42
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  return Array.from({ length: count }, () => Array.from({ length: Math.floor(next() * 7) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''))
}

/** The sort of `list` in a Node started with `env` (its default locale): by compareCommandIds and by localeCompare. */
function sortedIn(env: NodeJS.ProcessEnv, list: string[]): { ours: string[]; icu: string[]; locale: string } {
  const script = `
    const { compareCommandIds } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'cli', 'command-order.js'))})
    const list = JSON.parse(process.argv[1])
    console.log(JSON.stringify({ ours: [...list].sort(compareCommandIds), icu: [...list].sort((a, b) => a.localeCompare(b)), locale: navigator.language }))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(list)], { env: { ...process.env, LANG: '', LC_ALL: '', ...env }, encoding: 'utf8' })
  expect(r.stderr).toBe('')
  return JSON.parse(r.stdout)
}

describe('compareCommandIds', () => {
  it('orders as localeCompare in this process, on ids of [a-z:-] and on others', () => {
    for (const alphabet of ['abyz:-', 'abcdefghijklmnopqrstuvwxyz:-', 'aAbB0:-_ éz']) {
      const list = ids(alphabet, 400)
      for (let i = 0; i + 1 < list.length; i += 2) {
        expect(Math.sign(compareCommandIds(list[i]!, list[i + 1]!)), `${list[i]} vs ${list[i + 1]}`).toBe(Math.sign(list[i]!.localeCompare(list[i + 1]!)))
      }
    }
  })

  it('orders as localeCompare in other default locales, those that put y with i or aa after z included', () => {
    const list = [...ids('aiyjz:-', 300), 'aa', 'z', 'y', 'i', 'j', 'ch', 'h', 'swarm', 'swarm:init', 'regenerate-certs']
    const seen = new Set<string>()
    for (const env of [{ LANG: 'C.UTF-8' }, { LC_ALL: 'en_GB.UTF-8' }, { LC_ALL: 'lt_LT.UTF-8' }, { LC_ALL: 'da_DK.UTF-8' }, { LC_ALL: 'cs_CZ.UTF-8' }, { LANG: 'C' }]) {
      const { ours, icu, locale } = sortedIn(env, list)
      expect(ours, `${JSON.stringify(env)} (${locale})`).toEqual(icu)
      seen.add(icu.join(' '))
    }
    // The locales did sort differently: the check was needed.
    expect(seen.size).toBeGreaterThan(1)
  })
})

describe('lazyRequires (oclif-patches)', () => {
  it('defers a TypeScript-emitted require to the first use of its binding, constructions included', () => {
    const source = [
      '"use strict";',
      'const node_path_1 = require("node:path");',
      'const thing_1 = require("./thing");',
      'const other_1 = __importDefault(require("other"));',
      'exports.make = () => new thing_1.Thing(other_1.default, node_path_1.sep);',
    ].join('\n')
    const { source: out, count } = lazyRequires(source)
    expect(count).toBe(2)
    const loaded: string[] = []
    const require = (id: string) => (loaded.push(id), id === './thing' ? { Thing: class { args: unknown[]; constructor(...args: unknown[]) { this.args = args } } } : id === 'other' ? { default: 'o' } : { sep: '/' })
    const __importDefault = (m: unknown) => m
    const exports: { make?: () => { args: unknown[] } } = {}
    new Function('require', '__importDefault', 'exports', out)(require, __importDefault, exports)
    expect(loaded).toEqual(['node:path']) // builtins as before, the others not yet
    expect(exports.make!().args).toEqual(['o', '/'])
    expect(loaded).toEqual(['node:path', './thing', 'other'])
    exports.make!()
    expect(loaded).toHaveLength(3) // once each
  })
})
