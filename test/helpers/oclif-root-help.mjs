// oclif's root help of the built CLI at many widths in one process, for
// test/commands/static-answers.test.ts: writes { width: text } as JSON to $OCLIF_HELP_OUT for each
// width in $OCLIF_HELP_WIDTHS (comma-separated).
// It is the start's own rendering with the width given as the input oclif reads it from: a start
// runs the CLI's help class (package.json oclif.helpClass, here loaded by oclif's loadHelpClass as
// the start loads it, so the bundled formatter renders) with options { maxWidth: stdtermwidth },
// stdtermwidth being the terminal's columns (screen.js), and prints what it logs with console.log.
// Colour is decided once per process, as in a start (supports-color, ansis): set FORCE_COLOR.
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { format } from 'node:util'
import core from '@oclif/core'

const { Config, loadHelpClass } = core
const root = resolve(import.meta.dirname, '..', '..')
const config = await Config.load(join(root, 'bin', 'run.js'))
const Help = await loadHelpClass(config)
const out = {}
const log = console.log
for (const width of process.env.OCLIF_HELP_WIDTHS.split(',').map(Number)) {
  let text = ''
  console.log = (...args) => (text += `${format(...args)}\n`)
  try {
    await new Help(config, { maxWidth: width }).showHelp(['--help'])
  } finally {
    console.log = log
  }
  out[width] = text
}
writeFileSync(process.env.OCLIF_HELP_OUT, JSON.stringify(out))
