/**
 * The fast path for the hot commands, `env` and `ls`: bin/run.js calls it before loading oclif
 * (measured with bench/cli-startup.mjs: `env` 65 ms instead of 155 ms). The flags are the same
 * declarations (cli/flag-spec.ts), parsed here with node:util, and they become a request through
 * the same mapper as the oclif command's (cli/env-request.ts, cli/ls-request.ts). Anything
 * unusual (help, a usage error, a plugin driver) returns false and the normal oclif path
 * handles it, with oclif's messages.
 */
import { envRequest } from '../cli/env-request.js'
import { ENV_FLAGS, LS_FLAGS } from '../cli/flag-spec.js'
import { reportError, successEnvelope } from '../cli/render-error.js'
import { resolveStorePath } from '../store/paths.js'
import { Store } from '../store/store.js'
import { parseFlags } from './parse.js'

export async function runFast(command: string, argv: string[]): Promise<boolean> {
  const env = command === 'env' ? parseFlags(argv, ENV_FLAGS, 1) : undefined
  const ls = command === 'ls' ? parseFlags(argv, LS_FLAGS, 0) : undefined
  const p = env ?? ls
  if (!p) return false
  const json = !!p.flags.json
  const store = new Store(resolveStorePath(p.flags['storage-path']))
  try {
    let out: { text: string; json: unknown }
    if (env) {
      const { envOutput } = await import('../services/env-output.js')
      out = await envOutput(store, envRequest(env.flags, env.args[0]))
    } else {
      const { lsRequest } = await import('../cli/ls-request.js')
      const request = lsRequest(ls!.flags)
      // Plugin drivers need oclif's plugin hooks: leave such stores to the normal path.
      const { BUILTIN_DRIVERS } = await import('../registry/builtin.js')
      const entries = await store.loadAll()
      if (entries.some((e) => e.host && !(e.host.DriverName in BUILTIN_DRIVERS))) return false
      const { lsOutput } = await import('../services/ls.js')
      out = await lsOutput(store, request(entries))
    }
    process.stdout.write(json ? `${JSON.stringify(successEnvelope(command, out.json), null, 2)}\n` : out.text)
  } catch (e) {
    reportError(e, { json, command, debug: !!p.flags.debug, storePath: store.path })
  }
  return true
}
