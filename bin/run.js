#!/usr/bin/env node
// Entry point of `machine`. Node's compile cache is on before anything else loads, so every
// start after the first reads our bundle (dist/bundle, scripts/bundle.mjs) and oclif from cached
// bytecode. The rest is in src/main.ts.
import module from 'node:module'

module.enableCompileCache?.()
const { main } = await import('../dist/bundle/src/main.js')
await main(process.argv.slice(2), import.meta.url)
