/**
 * `machine ls`'s parsed flags → the service request, once for both paths: the oclif command
 * (commands/ls.ts) and the fast path (fast/run.ts).
 */
import type { Config } from '@oclif/core'
import { checkLsFlags, filterBeforeProbe } from '../core/ls-filter.js'
import type { LsRequest } from '../services/ls.js'
import type { LoadedEntry } from '../store/store.js'
import type { LsFlagValues } from './flag-spec.js'

/**
 * Checks the flags now, before the store is read (a bad --filter or --timeout is its one-line
 * error, never a slow listing), and returns the request for the store's entries: those that pass
 * the filters on saved config, so only the machines listed are probed.
 */
export function lsRequest(flags: LsFlagValues, env: NodeJS.ProcessEnv = process.env): (entries: LoadedEntry[], config?: Config) => LsRequest {
  const { filters, timeout } = checkLsFlags({ filter: flags.filter, timeout: flags.timeout })
  return (entries, config) => ({
    quiet: !!flags.quiet,
    filter: flags.filter,
    timeout,
    format: flags.format,
    config,
    dockerHost: env.DOCKER_HOST,
    env,
    entries: filterBeforeProbe(entries, filters),
  })
}
