// src/fast/help-layout.ts lays out the root help without oclif, the way oclif's HelpFormatter and
// wrap-ansi do. test/commands/static-answers.test.ts compares the real help at every width; here
// the same code meets oclif's own functions on random texts, for the shapes today's help lacks
// (long words, rows without text, paragraphs, odd spacing, narrow columns).
import { createRequire } from 'node:module'
import type { Config } from '@oclif/core'
import { HelpFormatter } from '@oclif/core/help'
import { describe, expect, it } from 'vitest'
import { layOutRootHelp, partsOfUnwrappedHelp, PLAIN_TEXT, wrap } from '../../src/fast/help-layout.js'

// The copies of the libraries that oclif's help uses, required as oclif requires them.
const fromOclif = createRequire(createRequire(import.meta.url).resolve('@oclif/core'))
const wrapAnsi = fromOclif('wrap-ansi') as typeof import('wrap-ansi')
const stringWidth = fromOclif('string-width') as typeof import('string-width')

/** A seeded generator (mulberry32): the same cases on every run. */
function random(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz-.,:()$[]/éß…—'

/** Words of 1-12 letters (now and then up to 70), between 1-3 spaces, sometimes a newline. */
function text(rand: (n: number) => number, words: number, newlines = true): string {
  let out = rand(6) === 0 ? ' ' : ''
  for (let w = 0; w < words; w++) {
    const length = rand(15) === 0 ? 13 + rand(58) : 1 + rand(12)
    for (let c = 0; c < length; c++) out += LETTERS[rand(LETTERS.length)]
    out += newlines && rand(12) === 0 ? '\n'.repeat(1 + rand(2)) : ' '.repeat(1 + (rand(5) === 0 ? rand(3) : 0))
  }
  return out
}

describe('help layout without oclif', () => {
  it('takes as plain only characters string-width counts as one column, alone and in words, which normalization keeps', () => {
    const odd: string[] = []
    for (let code = 0; code <= 0xffff; code++) {
      const c = String.fromCharCode(code)
      if (!PLAIN_TEXT.test(c)) continue
      if (stringWidth(c) !== 1 || stringWidth(`a${c}b${c}`) !== 4 || c.normalize() !== c) odd.push(code.toString(16))
    }
    expect(odd).toEqual([])
    for (const c of ['\t', '\u00a0', '\u001b', '\u009b', '中', '\u0301', '\u200b', '\ufe0f', '\u2600', '😀']) expect(PLAIN_TEXT.test(`a${c}`), JSON.stringify(c)).toBe(false)
  })

  it('wraps as wrap-ansi wraps (hard) any plain text at any width, down to none', () => {
    const rand = random(1)
    for (let i = 0; i < 4000; i++) {
      const t = text(rand, rand(20))
      const columns = rand(62) - 2
      expect(wrap(t, columns), `${JSON.stringify(t)} at ${columns}`).toBe(wrapAnsi(t, columns, { hard: true }))
    }
  })

  it('lays out text sections and lists as oclif’s HelpFormatter does, from the parts of its unwrapped rendering', () => {
    const rand = random(2)
    const shapes = new Set<string>()
    for (let i = 0; i < 30; i++) {
      const summary = text(rand, 3 + rand(10), false).trim()
      const description = text(rand, rand(60))
      const name = () => Array.from({ length: 1 + rand(rand(4) === 0 ? 30 : 12) }, () => 'abcdefghij-'[rand(11)]).join('')
      const list = (n: number) => Array.from({ length: n }, () => [name(), rand(6) === 0 ? undefined : text(rand, 1 + rand(25), false)] as [string, string | undefined])
      const topics = list(rand(4))
      const commands = list(1 + rand(12))
      /** The shape of a root help (help/root.js, help/index.js showRootHelp), with oclif's functions at `width`. */
      const oclif = (width: number) => {
        const f = new HelpFormatter({} as Config, { maxWidth: width, stripAnsi: true })
        const listSection = (header: string, rows: [string, string | undefined][]) => (rows.length === 0 ? [] : [f.section(header, f.renderList(rows, { indentation: 2, spacer: '\n', stripAnsi: true }))])
        const sections = [summary, f.section('VERSION', f.wrap('machine/0.1.0 linux-x64 node-v24.0.0')), f.section('DESCRIPTION', f.wrap(description)), ...listSection('TOPICS', topics), ...listSection('COMMANDS', commands)]
        return `${sections.join('\n\n')}\n\n`
      }
      const parts = partsOfUnwrappedHelp(oclif(100_000))
      for (let width = 10; width <= 130; width += 1 + rand(4)) {
        const expected = oclif(width)
        expect(layOutRootHelp(parts, { width, bold: false }), `case ${i} at ${width}`).toBe(expected)
        if (/\n {2}[a-j-]+\n {6}\S/.test(expected)) shapes.add('a list in multiline form')
        if (/\n {2}[a-j-]+ +\S.*\n {4,}\S/.test(expected)) shapes.add('a row wrapped beside its name')
        if (/\nDESCRIPTION\n(?: {2}\S+\n)+\n {2}\S/.test(expected)) shapes.add('paragraphs')
      }
    }
    expect([...shapes].sort()).toEqual(['a list in multiline form', 'a row wrapped beside its name', 'paragraphs'])
  })

  it('refuses an unwrapped help it cannot take apart', () => {
    expect(() => partsOfUnwrappedHelp('  stray\n')).toThrow(/indented line outside any section/)
    expect(() => partsOfUnwrappedHelp('COMMANDS\n  a b   c\n  dd  e\n')).toThrow(/not a name and a text/)
  })
})
