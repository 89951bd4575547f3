// The layers of src/ depend one way: commands and cli/ (the terminal: oclif, output, progress)
// call services, and services report through their Reporter interface without knowing the
// terminal. A service that imports src/cli/ ties every other caller (a test, another front end)
// to the terminal and makes the two folders depend on each other. The layers below services
// (core, store, certs, ssh, provision, registry, the driver kit) know neither. This test fails
// naming each file and import that breaks the rule.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')

/** Which folders of src/ a folder must not import. */
const RULES: Array<{ dir: string; forbidden: string[] }> = [
  // src/dashboard/ is a front end like src/cli/ (the web page's): services do not know it.
  { dir: 'src/services', forbidden: ['src/cli', 'src/commands', 'src/fast', 'src/dashboard'] },
  ...['src/core', 'src/store', 'src/certs', 'src/ssh', 'src/provision', 'src/registry', 'src/driver-kit'].map((dir) => ({
    dir,
    forbidden: ['src/cli', 'src/commands', 'src/fast', 'src/services', 'src/dashboard'],
  })),
]

// Static, type, re-export, side-effect and dynamic imports (the `from` may follow a multi-line list).
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"`])(\.{1,2}\/[^'"`\n]+)\1/g

/** Relative imports of `source` (at repository path `file`) that land in one of `forbidden`. */
export function layerViolations(file: string, source: string, forbidden: string[]): string[] {
  return [...source.matchAll(SPECIFIER)]
    .map((m) => m[2]!)
    .filter((spec) => {
      const target = relative(root, resolve(dirname(join(root, file)), spec)).split(sep).join('/')
      return forbidden.some((f) => target === f || target.startsWith(`${f}/`))
    })
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`
    if (e.isDirectory()) return sourceFiles(path)
    return e.isFile() && e.name.endsWith('.ts') ? [path] : []
  })
}

describe('layering of src/', () => {
  for (const { dir, forbidden } of RULES) {
    it(`no file under ${dir}/ imports ${forbidden.join(', ')}`, () => {
      const files = sourceFiles(dir)
      expect(files.length).toBeGreaterThan(0)
      const violations = files.flatMap((f) => layerViolations(f, readFileSync(join(root, f), 'utf8'), forbidden).map((i) => `${f}: ${i}`))
      expect(violations, 'report through services/reporter.ts, or move what is shared into a lower layer').toEqual([])
    })
  }

  it('the checker sees static, type, re-export and dynamic imports, and resolves paths', () => {
    const f = 'src/services/demo.ts'
    const source = [
      "import type { Output } from '../cli/output.js'",
      'import {',
      '  Progress,',
      "} from '../cli/progress.js'",
      "export { programName } from '../cli/program.js'",
      "const { default: Cmd } = await import('../commands/ls.js')",
      "import x from '../core/../cli/base.js'",
      "import { sleep } from '../driver-kit/wait.js'",
      "import { reporter } from './reporter.js'",
      "import { Command } from '@oclif/core'",
    ].join('\n')
    expect(layerViolations(f, source, ['src/cli', 'src/commands'])).toEqual(['../cli/output.js', '../cli/progress.js', '../cli/program.js', '../commands/ls.js', '../core/../cli/base.js'])
  })
})
