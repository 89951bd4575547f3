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
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context)
    if (out) appendFileSync(out, [r.url, ...sourcesOf(r.url)].map((l) => `${l}\n`).join(''))
    return r
  },
})
