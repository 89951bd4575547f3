/**
 * scripts/deps-current.mjs: does node_modules/ match package-lock.json (so setup.sh and
 * `npm test` can skip `npm ci`)? Run on a made-up project laid out as npm leaves it.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

type Packages = Record<string, { version?: string; integrity?: string; optional?: boolean; link?: boolean }>

let project = ''
const write = (path: string, json: unknown) => {
  mkdirSync(join(project, path, '..'), { recursive: true })
  writeFileSync(join(project, path), JSON.stringify(json))
}
const lock = (packages: Packages) => write('package-lock.json', { lockfileVersion: 3, packages: { '': { name: 'p' }, ...packages } })
/** What npm leaves after an install: its hidden lockfile and each package's package.json. */
const installed = (packages: Packages) => {
  write('node_modules/.package-lock.json', { lockfileVersion: 3, packages })
  for (const [path, p] of Object.entries(packages)) if (!p.link) write(join(path, 'package.json'), { version: p.version })
}
const check = () => {
  const r = spawnSync(process.execPath, [join(project, 'scripts', 'deps-current.mjs')], { encoding: 'utf8' })
  return { status: r.status, out: r.stdout.trim(), err: r.stderr }
}

const A = { version: '1.2.0', integrity: 'sha512-aaa' }
const B = { version: '2.0.0', integrity: 'sha512-bbb' }

beforeEach(async () => {
  project = await tempDir('machine-deps-current-')
  mkdirSync(join(project, 'scripts'))
  copyFileSync(join(ROOT, 'scripts', 'deps-current.mjs'), join(project, 'scripts', 'deps-current.mjs'))
  lock({ 'node_modules/a': A, 'node_modules/b': B, 'node_modules/fsevents': { version: '2.3.3', optional: true } })
})

describe('scripts/deps-current.mjs', () => {
  it('current: exit 0 and nothing said (an optional package for another platform may be absent)', () => {
    installed({ 'node_modules/a': A, 'node_modules/b': B })
    expect(check()).toEqual({ status: 0, out: '', err: '' })
  })

  it('stale: exit 1 with one line saying why', () => {
    expect(check()).toEqual({ status: 1, out: 'node_modules/ is missing', err: '' })

    mkdirSync(join(project, 'node_modules'))
    expect(check()).toMatchObject({ status: 1, out: 'node_modules/ was not completed by npm (no node_modules/.package-lock.json)' })

    installed({ 'node_modules/a': A })
    expect(check()).toMatchObject({ status: 1, out: 'node_modules/b is not installed' })

    installed({ 'node_modules/a': { ...A, version: '1.1.0' }, 'node_modules/b': B })
    expect(check()).toMatchObject({ status: 1, out: 'package-lock.json wants node_modules/a@1.2.0, 1.1.0 is installed' })

    installed({ 'node_modules/a': { ...A, integrity: 'sha512-other' }, 'node_modules/b': B })
    expect(check()).toMatchObject({ status: 1, out: 'node_modules/a@1.2.0 is installed from another tarball than package-lock.json names (integrity differs)' })

    installed({ 'node_modules/a': A, 'node_modules/b': B, 'node_modules/c': { version: '3.0.0' } })
    expect(check()).toMatchObject({ status: 1, out: 'node_modules/c is installed but not in package-lock.json' })

    rmSync(join(project, 'node_modules'), { recursive: true })
    installed({ 'node_modules/a': A, 'node_modules/b': B })
    rmSync(join(project, 'node_modules', 'b', 'package.json'))
    expect(check()).toMatchObject({ status: 1, out: 'node_modules/b is incomplete (no package.json)' })
  })
})
