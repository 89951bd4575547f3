/**
 * The fast path for the hot commands, `env` and `ls`: bin/run.js calls it before loading oclif
 * (measured with bench/cli-startup.mjs: `env` 65 ms instead of 155 ms). The flags are the same
 * declarations (cli/flag-spec.ts), parsed here with node:util, and they become a request through
 * the same mapper as the oclif command's (cli/env-request.ts, cli/ls-request.ts). Anything
 * unusual (help, a usage error, a plugin driver) returns false and the normal oclif path
 * handles it, with oclif's messages.
 * Its imports are static: bundled (scripts/bundle.mjs), env's and ls's code is one file, and a
 * dynamic import would be one more file to load on every start.
 */
import { envRequest } from '../cli/env-request.js'
import { ENV_FLAGS, LS_FLAGS, type GlobalFlagValues } from '../cli/flag-spec.js'
import { lsRequest } from '../cli/ls-request.js'
import { reportError, successEnvelope } from '../cli/render-error.js'
import { exitOnEpipe, writeStdout } from '../cli/stdio.js'
import { BUILTIN_DRIVERS } from '../registry/builtin.js'
import { envOutput } from '../services/env-output.js'
import { lsOutput } from '../services/ls.js'
import { resolveStorePath } from '../store/paths.js'
import { Store } from '../store/store.js'
import { parseFlags } from './parse.js'
import { noArgumentOnStdin } from './stdin.js'

type Output = { text: string; json: unknown }

export async function runFast(command: string, argv: string[]): Promise<boolean> {
  if (command === 'env') {
    const p = parseFlags(argv, ENV_FLAGS, 1)
    // Without NAME, oclif may find it on stdin.
    if (!p || (p.args.length === 0 && !(await noArgumentOnStdin()))) return false
    return respond(command, p.flags, (store) => envOutput(store, envRequest(p.flags, p.args[0])))
  }
  if (command === 'ls') {
    const p = parseFlags(argv, LS_FLAGS, 0)
    return !!p && respond(command, p.flags, async (store) => {
      const request = lsRequest(p.flags)
      // Plugin drivers need oclif's plugin hooks: leave such stores to the normal path.
      const entries = await store.loadAll()
      if (entries.some((e) => e.host && !(e.host.DriverName in BUILTIN_DRIVERS))) return undefined
      return lsOutput(store, request(entries))
    })
  }
  return false
}

/** What BaseCommand does around a command: the store, the --json envelope, one-line errors. */
async function respond(command: string, flags: GlobalFlagValues & { json?: boolean }, run: (store: Store) => Promise<Output | undefined>): Promise<boolean> {
  const json = !!flags.json
  const store = new Store(resolveStorePath(flags['storage-path']))
  try {
    const out = await run(store)
    if (!out) return false
    await writeStdout(json ? `${JSON.stringify(successEnvelope(command, out.json), null, 2)}\n` : out.text)
  } catch (e) {
    exitOnEpipe()
    reportError(e, { json, command, debug: !!flags.debug, storePath: store.path })
  }
  return true
}
