// Drivers see `machine` only through the driver kit (src/driver-kit, published as
// `machine/driver-kit`): a driver that reaches into src/core, src/ssh, src/store… couples itself to
// internals a plugin driver cannot import. This test fails naming each file and import that does.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')

/** Built-in drivers, and any out-of-tree driver package kept as a test fixture. */
const SCANNED_DIRS = ['drivers', 'test/fixtures']
const SOURCE_FILE = /\.(?:[mc]?ts|[mc]?js|tsx)$/

// `import … from 'x'`, `import type … from 'x'`, `export … from 'x'` (the `from` may follow a
// multi-line brace list), `import 'x'`, `import('x')`, `require('x')`. Comments are not stripped:
// a commented-out internal import is reported too, which errs on the strict side.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"`])([^'"`\n]+)\1/g

/** Repository path (slash-separated) an import lands on, or undefined for node:/npm packages. */
function targetOf(file: string, specifier: string): string | undefined {
  let path: string
  if (specifier.startsWith('./') || specifier.startsWith('../')) path = relative(root, resolve(dirname(join(root, file)), specifier))
  // The package's own name: `machine/driver-kit` is the published kit, anything else is internal.
  else if (specifier === 'machine' || specifier.startsWith('machine/')) path = specifier.slice('machine/'.length)
  else return undefined
  // Compiled output mirrors the sources: dist/src/core/… is src/core/….
  return path.split(sep).join('/').replace(/^dist\//, '')
}

const insideKit = (path: string): boolean => path === 'src/driver-kit' || path.startsWith('src/driver-kit/')
const insideSrc = (path: string): boolean => path === 'src' || path.startsWith('src/')

/** Imports of `source` (at repository path `file`) that reach src/ outside the driver kit. */
export function forbiddenImports(file: string, source: string): string[] {
  const found: string[] = []
  for (const m of source.matchAll(SPECIFIER)) {
    const target = targetOf(file, m[2]!)
    if (target !== undefined && insideSrc(target) && !insideKit(target)) found.push(m[2]!)
  }
  return found
}

function sourceFiles(dir: string): string[] {
  let entries
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
  return entries.flatMap((e) => {
    const path = `${dir}/${e.name}`
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path)
    return e.isFile() && SOURCE_FILE.test(e.name) ? [path] : []
  })
}

describe('driver imports', () => {
  it('no file under drivers/ (or a fixture driver) imports src/ outside src/driver-kit/', () => {
    const files = SCANNED_DIRS.flatMap(sourceFiles)
    // Every built-in driver is scanned: an empty scan must not pass.
    for (const d of ['amazonec2', 'azure', 'generic', 'google', 'none', 'qemu', 'virtualbox']) expect(files).toContain(`drivers/${d}/index.ts`)
    const violations = files.flatMap((f) => forbiddenImports(f, readFileSync(join(root, f), 'utf8')).map((i) => `${f}: ${i}`))
    expect(violations, 'import it through the driver kit (src/driver-kit) instead').toEqual([])
  })

  describe('the checker', () => {
    const f = 'drivers/demo/driver.ts'

    it('reports static, type, re-export, side-effect, dynamic and require imports of src/ internals', () => {
      const source = [
        "import { MachineError } from '../../src/core/errors.js'",
        "import type { MachineState } from '../../src/core/state.js'",
        'import {',
        '  connectSsh,',
        '  SshUnreachableError,',
        "} from '../../src/ssh/index.js'",
        "export { writeFileAtomic } from '../../src/store/atomic.js'",
        "export * from '../../src/certs/index.js'",
        "import '../../src/hooks/init.js'",
        "const ssh = await import('../../src/ssh/connect.js')",
        'const cjs = require("../../src/registry/index.js")',
      ].join('\n')
      expect(forbiddenImports(f, source)).toEqual([
        '../../src/core/errors.js',
        '../../src/core/state.js',
        '../../src/ssh/index.js',
        '../../src/store/atomic.js',
        '../../src/certs/index.js',
        '../../src/hooks/init.js',
        '../../src/ssh/connect.js',
        '../../src/registry/index.js',
      ])
    })

    it('resolves paths: a detour through the kit, compiled output and the package name count too', () => {
      expect(forbiddenImports(f, "import x from '../../src/driver-kit/../core/errors.js'")).toEqual(['../../src/driver-kit/../core/errors.js'])
      expect(forbiddenImports(f, "import x from '../../dist/src/core/errors.js'")).toEqual(['../../dist/src/core/errors.js'])
      expect(forbiddenImports(f, "import x from 'machine/src/core/errors.js'")).toEqual(['machine/src/core/errors.js'])
      expect(forbiddenImports('test/fixtures/plugin/src/driver.ts', "import x from '../../../../src/ssh/index.js'")).toEqual(['../../../../src/ssh/index.js'])
    })

    it('allows the kit, the driver’s own modules, node: and npm packages', () => {
      const source = [
        "import { defineDriver } from '../../src/driver-kit/index.js'",
        "import { connectSsh } from '../../src/driver-kit/ssh.js'",
        "import { kit } from '../../dist/src/driver-kit/index.js'",
        "import { defineDriver as d } from 'machine/driver-kit'",
        "import { driverConformance } from 'machine/driver-kit/conformance'",
        "import { settings } from './settings.js'",
        "import { other } from '../qemu/settings.js'",
        "import { join } from 'node:path'",
        "import { EC2Client } from '@aws-sdk/client-ec2'",
        "const c = await import('@google-cloud/compute/build/src/v1/index.js')",
      ].join('\n')
      expect(forbiddenImports(f, source)).toEqual([])
    })
  })
})
