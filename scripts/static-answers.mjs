#!/usr/bin/env node
// Part of `npm run build`, after the manifest: the answers of `machine --help` (root) and
// `machine version` that depend on nothing but the build, written to dist/bundle/static-answers.json
// and root-help-parts.json so that a start can print them without loading oclif
// (src/fast/static-answers.ts; oclif's Config.load and its ~120 CommonJS files were ~4x bare Node
// for a fixed text).
// The root help is oclif's own, rendered here by the built CLI with no user theme or plugins (an
// empty HOME): kept as printed without a terminal (80 columns, no colour) and as its parts (lines,
// text sections and the rows of its lists), read from a rendering so wide that nothing wraps. A
// start in a terminal lays the parts out as oclif would (src/fast/help-layout.ts), which is
// checked here against oclif's own output at 80 columns, at 40 (the narrowest terminal oclif
// knows) and with bold headers. Its VERSION line, the only part that depends on the running Node,
// is kept as a marker.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const { layOutRootHelp, partsOfUnwrappedHelp, PLAIN_TEXT } = await import(join(root, 'dist/src/fast/help-layout.js'))
// The marker a start replaces with its user agent, and how it does (src/fast/static-answers.ts).
const { USER_AGENT_MARK, withUserAgent } = await import(join(root, 'dist/src/fast/static-answers.js'))
// Wide enough that oclif wraps nothing.
const UNWRAPPED = 100000

const home = mkdtempSync(join(tmpdir(), 'machine-static-'))
try {
  /** oclif's root help as a start without a terminal gets it, with `env` added. */
  const oclifHelp = (env = {}) => {
    const r = spawnSync(process.execPath, [join(root, 'bin/run.js'), '--help'], { env: { PATH: process.env.PATH, HOME: home, MACHINE_NO_FAST_PATH: '1', ...env }, encoding: 'utf8' })
    if (r.status !== 0 || r.stderr) throw new Error(`machine --help failed (${r.status}): ${r.stderr}`)
    return r.stdout
  }
  const wide = oclifHelp({ OCLIF_COLUMNS: String(UNWRAPPED) })
  const ua = /^VERSION\n {2}(.+)$/m.exec(wide)
  if (!ua) throw new Error(`no VERSION line in machine --help:\n${wide}`)
  let parts
  try {
    parts = partsOfUnwrappedHelp(wide.replace(ua[0], `VERSION\n  ${USER_AGENT_MARK}`))
  } catch (e) {
    throw new Error(`static-answers: machine --help: ${e.message}`)
  }
  const plain = oclifHelp()
  const answers = { bin: pkg.oclif.bin, version: pkg.version, rootHelp: plain.replace(ua[0], `VERSION\n  ${USER_AGENT_MARK}`) }
  const withUa = withUserAgent(parts, ua[1])
  const beyond = beyondLayout(withUa)
  if (beyond) console.warn(`static-answers: ${beyond}: oclif renders the root help in a terminal`)
  else {
    const checks = [
      [{ width: 80, bold: false }, plain],
      [{ width: 40, bold: false }, oclifHelp({ OCLIF_COLUMNS: '40' })],
      [{ width: UNWRAPPED, bold: true }, oclifHelp({ OCLIF_COLUMNS: String(UNWRAPPED), FORCE_COLOR: '1' })],
    ]
    for (const [look, expected] of checks) {
      if (layOutRootHelp(withUa, look) !== expected) {
        throw new Error(`static-answers: the root help laid out without oclif (src/fast/help-layout.ts) differs from oclif's at ${JSON.stringify(look)}: does it still follow @oclif/core's help/formatter.js?`)
      }
    }
    // Read by a start in a terminal only: the other answers do not parse it.
    writeFileSync(join(root, 'dist/bundle/root-help-parts.json'), JSON.stringify(parts))
  }
  writeFileSync(join(root, 'dist/bundle/static-answers.json'), JSON.stringify(answers))
} finally {
  rmSync(home, { recursive: true, force: true })
}

/** Why help-layout.ts could lay these parts out other than oclif would, if it could. */
function beyondLayout(parts) {
  if (pkg.oclif.theme || pkg.oclif.helpOptions || pkg.helpOptions) return 'package.json sets a help theme or help options'
  // oclif renders each text with ejs more than once, before and after wrapping it: an escaped
  // tag (<%% or %%>) becomes a tag the next time, and the wrapped text is not the one printed.
  const sources = readFileSync(join(root, 'oclif.manifest.json'), 'utf8') + JSON.stringify(pkg)
  if (/<%%|%%>/.test(sources)) return 'a text of the manifest or package.json holds an escaped ejs tag'
  for (const part of parts) {
    if (typeof part === 'string') continue
    const texts = 'rows' in part ? part.rows.flat() : part.text
    const odd = texts.find((t) => !PLAIN_TEXT.test(t))
    if (odd !== undefined) return `${part.header} holds characters other than help-layout.ts's PLAIN_TEXT (${JSON.stringify(odd)})`
  }
  return undefined
}
