#!/usr/bin/env node
// Exit 0 when node_modules/ is installed from this package-lock.json, so `npm ci` would change
// nothing; otherwise print why not (one line) and exit 1. npm writes node_modules/.package-lock.json
// (its "hidden lockfile") at the end of every install: each package the lock lists must be
// there with the same version and integrity, and its package.json must be on disk. Optional
// packages for other platforms are never installed; packages the lock no longer lists must
// be gone.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..')
const read = (p) => JSON.parse(readFileSync(join(root, p), 'utf8'))

function check() {
  if (!existsSync(join(root, 'node_modules'))) return 'node_modules/ is missing'
  let hidden
  try {
    hidden = read('node_modules/.package-lock.json').packages ?? {}
  } catch {
    return 'node_modules/ was not completed by npm (no node_modules/.package-lock.json)'
  }
  const lock = read('package-lock.json').packages ?? {}
  for (const [path, want] of Object.entries(lock)) {
    if (!path) continue // the project itself
    const have = hidden[path]
    if (!have) {
      if (want.optional) continue
      return `${path} is not installed`
    }
    if ((want.version ?? '') !== (have.version ?? '')) return `package-lock.json wants ${path}@${want.version}, ${have.version ?? 'another version'} is installed`
    if (want.integrity && have.integrity && want.integrity !== have.integrity) return `${path}@${want.version} is installed from another tarball than package-lock.json names (integrity differs)`
  }
  for (const [path, have] of Object.entries(hidden)) {
    if (!lock[path]) return `${path} is installed but not in package-lock.json`
    if (!have.link && !existsSync(join(root, path, 'package.json'))) return `${path} is incomplete (no package.json)`
  }
  return undefined
}

const why = check()
if (why) {
  console.log(why)
  process.exit(1)
}
