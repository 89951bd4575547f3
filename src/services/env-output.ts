import { MachineError } from '../core/errors.js'
import { DOCKER_ENV_NAMES, detectShell, noProxyVar, renderEnv, shellStyle } from '../core/env-render.js'
import type { Store } from '../store/store.js'
import { checkEnvTarget } from './env.js'
import { nameOrDefault } from './each-machine.js'

export interface EnvRequest {
  name?: string
  shell?: string
  unset?: boolean
  noProxy?: boolean
  swarm?: boolean
  /** Program name and argv for the hint line. */
  program: string
  argv: string[]
  env: NodeJS.ProcessEnv
}

/** `machine env`: the text to print, and the variables for --json. */
export async function envOutput(store: Store, r: EnvRequest): Promise<{ text: string; json: unknown }> {
  // A --shell the user typed is checked before anything else; a shell guessed from $SHELL only
  // once the machine is known, so "no such machine" is not hidden behind "$SHELL is not set".
  // `--shell ''` is a mistake to report, not "no flag".
  if (r.shell !== undefined) shellStyle(r.shell)
  const shellNow = () => {
    const shell = detectShell(r.shell, r.env)
    shellStyle(shell)
    return shell
  }
  // Quoted for the shell by renderEnv.
  const command = [r.program, ...r.argv]
  if (r.unset) {
    const shell = shellNow()
    if (r.name) throw new MachineError('usage', 'Expected no machine name when the -u flag is present', { hint: `run "${r.program} env -u"` })
    const vars: Array<readonly [string, string | undefined]> = DOCKER_ENV_NAMES.map((k) => [k, undefined] as const)
    if (r.noProxy) vars.push([r.env.no_proxy ? 'no_proxy' : 'NO_PROXY', undefined])
    return { text: renderEnv({ shell, vars, command }), json: { unset: vars.map(([k]) => k) } }
  }
  const name = await nameOrDefault(store, r.name, 'env')
  const target = await checkEnvTarget(store, name, { swarm: r.swarm })
  const shell = shellNow()
  const vars: Array<readonly [string, string | undefined]> = [...target.vars]
  if (r.noProxy) vars.push(noProxyVar(r.env, target.host))
  return { text: renderEnv({ shell, vars, command }), json: Object.fromEntries(vars) }
}
