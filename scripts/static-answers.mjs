#!/usr/bin/env node
// Part of `npm run build`, after the manifest: the answers of `machine --help` (root) and
// `machine version` that depend on nothing but the build, written to dist/bundle/static-answers.json
// so that a start can print them without loading oclif (src/fast/static-answers.ts; oclif's
// Config.load and its ~120 CommonJS files were ~4x bare Node for a fixed text).
// The help text is oclif's own, rendered here by the built CLI as a user's start would render
// it without a terminal (80 columns, no colour) and with no user theme or plugins (an empty
// HOME); its VERSION line, the only part that depends on the running Node, is kept as a marker.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
// The same marker is replaced by src/fast/static-answers.ts.
const USER_AGENT_MARK = '\u0000user-agent\u0000'

const home = mkdtempSync(join(tmpdir(), 'machine-static-'))
try {
  const env = { PATH: process.env.PATH, HOME: home, MACHINE_NO_FAST_PATH: '1' }
  const r = spawnSync(process.execPath, [join(root, 'bin/run.js'), '--help'], { env, encoding: 'utf8' })
  if (r.status !== 0 || r.stderr) throw new Error(`machine --help failed (${r.status}): ${r.stderr}`)
  const ua = /^VERSION\n {2}(.+)$/m.exec(r.stdout)
  if (!ua) throw new Error(`no VERSION line in machine --help:\n${r.stdout}`)
  const answers = { bin: pkg.oclif.bin, version: pkg.version, rootHelp: r.stdout.replace(ua[0], `VERSION\n  ${USER_AGENT_MARK}`) }
  writeFileSync(join(root, 'dist/bundle/static-answers.json'), JSON.stringify(answers))
} finally {
  rmSync(home, { recursive: true, force: true })
}
