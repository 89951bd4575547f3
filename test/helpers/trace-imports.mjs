// Preloaded with --import by tests: appends every module URL the process loads to
// $MACHINE_TRACE_IMPORTS, so a test can prove a command never loads a cloud SDK.
// The CLI runs from its bundle (dist/bundle, scripts/bundle.mjs): a bundle file is written
// followed by the sources it holds (from dist/bundle/meta.json), as `src:<path>` lines, so a
// test can say which of our modules (src/…, drivers/…) and which npm packages a command loaded.
import { appendFileSync, readFileSync } from 'node:fs'
import { registerHooks } from 'node:module'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const out = process.env.MACHINE_TRACE_IMPORTS
const root = resolve(import.meta.dirname, '..', '..')
let meta
const sourcesOf = (url) => {
  if (!url.startsWith('file:')) return []
  meta ??= JSON.parse(readFileSync(join(root, 'dist', 'bundle', 'meta.json'), 'utf8'))
  const file = relative(root, fileURLToPath(url)).split('\\').join('/')
  return Object.keys(meta.outputs[file]?.inputs ?? {}).map((i) => `src:${i}`)
}
// At load, not resolve: bin/run.js resolves the bundle's own imports itself (short-circuiting
// the resolve hooks registered before it), but every module still goes through the load hooks.
registerHooks({
  load(url, context, next) {
    if (out) appendFileSync(out, [url, ...sourcesOf(url)].map((l) => `${l}\n`).join(''))
    return next(url, context)
  },
})
