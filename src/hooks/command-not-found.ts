import type { Hook } from '@oclif/core'
import { programName } from '../core/program-name.js'
import { reportError } from '../cli/render-error.js'
import { MachineError } from '../core/errors.js'
import { nearest } from '../core/names.js'

/**
 * An unknown command is reported like every other error: one line naming it, with the nearest
 * command as the fix, or with --json (anywhere on the line) the JSON envelope with the code
 * "unknown-command". Without this hook oclif prints its own "command nosuch not found" and
 * ignores --json. Returning normally tells oclif the case is handled; the exit code is set.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const bin = programName()
  const json = opts.argv?.includes('--json') || opts.id === '--json'
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  let err: MachineError
  if (opts.id.startsWith('-')) {
    // Only global flags were given (`machine --json`, `machine -s DIR`): bin/run.js leaves them
    // first when no command follows them.
    err = new MachineError('usage', 'No command given', {
      hint: `run "${bin} COMMAND" ("${bin} --help" lists the commands)`,
      exitCode: 2,
    })
  } else {
    const guess = nearest(opts.id, ids)
    err = new MachineError('unknown-command', `Unknown command "${opts.id}"`, {
      hint: guess ? `did you mean "${bin} ${guess}"? ("${bin} --help" lists the commands)` : `run "${bin} --help" to list the commands`,
      exitCode: 2,
    })
  }
  reportError(err, { json, command: opts.id.startsWith('-') ? undefined : opts.id })
}

export default hook
