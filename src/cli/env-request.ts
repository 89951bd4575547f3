/**
 * `machine env`'s parsed flags and argument → the service request, once for both paths: the
 * oclif command (commands/env.ts) and the fast path (fast/run.ts).
 */
import type { EnvRequest } from '../services/env-output.js'
import type { EnvFlagValues } from './flag-spec.js'
import { programName } from '../core/program-name.js'

export function envRequest(flags: EnvFlagValues, name: string | undefined, proc: Pick<NodeJS.Process, 'argv' | 'env'> = process): EnvRequest {
  return {
    name,
    shell: flags.shell,
    unset: !!flags.unset,
    noProxy: !!flags['no-proxy'],
    swarm: !!flags.swarm,
    context: !!flags.context,
    program: programName(),
    // The hint repeats the command line as typed: process.argv, not the argv bin/run.js passes
    // on (global flags moved after the command), so either path prints the same line.
    argv: proc.argv.slice(2),
    env: proc.env,
  }
}
