#!/usr/bin/env node
// Entry point of `machine`. Node's compile cache is on before anything else loads, so every
// start after the first reads our bundle (dist/bundle, scripts/bundle.mjs) and oclif from cached
// bytecode. The rest is in src/main.ts.
import module from 'node:module'

module.enableCompileCache?.()
// The bundle's files import each other by relative paths to .js files that are ES modules
// (package.json "type"), in one directory tree: their URLs are the importer's URL joined with the
// path. Node's resolver would also stat and realpath each one (an oclif command's start loads
// ~30 of them: ~10% of it). Anything else resolves as Node does. (Node >= 22.15 has registerHooks.)
const bundle = new URL('../dist/bundle/', import.meta.url).href
module.registerHooks?.({
  resolve(specifier, context, next) {
    if ((specifier.startsWith('./') || specifier.startsWith('../')) && specifier.endsWith('.js') && context.parentURL?.startsWith(bundle)) {
      return { url: new URL(specifier, context.parentURL).href, format: 'module', shortCircuit: true }
    }
    return next(specifier, context)
  },
})
const { main } = await import('../dist/bundle/src/main.js')
await main(process.argv.slice(2), import.meta.url)
