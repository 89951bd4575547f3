#!/usr/bin/env node
// Entry point of `machine`. Node's compile cache makes every start after the first one faster
// (oclif and our modules are read from cached bytecode).
import module from 'node:module'

module.enableCompileCache?.()

// `machine ls | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0)
    throw e
  })
}

// docker-machine takes global flags before the command (`machine -s DIR ls`); oclif wants them
// after it, so move them there. --json too: `machine --json ls` is `machine ls --json`, and
// `machine --json nosuch` reaches the command_not_found hook with --json in its argv.
const GLOBAL_WITH_VALUE = new Set(['-s', '--storage-path', '--tls-ca-cert', '--tls-ca-key', '--tls-client-cert', '--tls-client-key'])
const GLOBAL_BOOL = new Set(['-D', '--debug', '--json'])
const argv = process.argv.slice(2)
const moved = []
while (argv.length > 0) {
  const a = argv[0]
  const eqName = a.startsWith('--') ? a.split('=')[0] : a
  if (GLOBAL_BOOL.has(a)) moved.push(argv.shift())
  else if (GLOBAL_WITH_VALUE.has(eqName) && a.includes('=')) moved.push(argv.shift())
  else if (GLOBAL_WITH_VALUE.has(a) && argv.length > 1) moved.push(argv.shift(), argv.shift())
  else break
}
if (moved.length > 0 && argv.length > 0) argv.splice(1, 0, ...moved)
else argv.unshift(...moved)

// `env` and `ls` are run without loading oclif when their arguments are plain (see src/fast).
if ((argv[0] === 'env' || argv[0] === 'ls') && !process.env.MACHINE_NO_FAST_PATH) {
  const { runFast } = await import('../dist/src/fast/run.js')
  if (await runFast(argv[0], argv.slice(1))) process.exit()
}

const { execute } = await import('@oclif/core')
await execute({ args: argv, dir: import.meta.url })
