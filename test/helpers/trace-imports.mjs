// Preloaded with --import by tests: appends every module URL the process loads to
// $MACHINE_TRACE_IMPORTS, so a test can prove a command never loads a cloud SDK.
import { appendFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const out = process.env.MACHINE_TRACE_IMPORTS
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context)
    if (out) appendFileSync(out, `${r.url}\n`)
    return r
  },
})
