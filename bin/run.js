#!/usr/bin/env node
// Entry point of `machine`. Node's compile cache makes every start after the first one faster
// (oclif and our modules are read from cached bytecode).
import module from 'node:module'
// Static, so it loads with this file (two tiny modules, compiled before the cache is on): a
// dynamic import here measured ~1 ms of CPU more per start.
import { hoistGlobalFlags } from '../dist/src/cli/global-argv.js'

module.enableCompileCache?.()

// `machine ls | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0)
    throw e
  })
}

// Shell completion asks on every Tab: answered from the manifest and the store listing alone.
if (process.argv[2] === '__complete') {
  const { runComplete } = await import('../dist/src/completion/run.js')
  await runComplete(process.argv.slice(3), new URL('../oclif.manifest.json', import.meta.url))
  process.exit()
}

// Global flags before the command (docker-machine's order) move after it, for oclif.
const argv = hoistGlobalFlags(process.argv.slice(2))

// `env` and `ls` are run without loading oclif when their arguments are plain (see src/fast).
if ((argv[0] === 'env' || argv[0] === 'ls') && !process.env.MACHINE_NO_FAST_PATH) {
  const { runFast } = await import('../dist/src/fast/run.js')
  if (await runFast(argv[0], argv.slice(1))) process.exit()
}

const { execute } = await import('@oclif/core')
await execute({ args: argv, dir: import.meta.url })
