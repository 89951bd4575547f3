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
  /** DOCKER_CONTEXT=NAME (the machine's docker context) instead of the TLS variables. */
  context?: boolean
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
    if (r.context) vars.push(['DOCKER_CONTEXT', undefined])
    if (r.noProxy) vars.push([r.env.no_proxy ? 'no_proxy' : 'NO_PROXY', undefined])
    return { text: renderEnv({ shell, vars, command }), json: { unset: vars.map(([k]) => k) } }
  }
  if (r.context && r.swarm) throw new MachineError('usage', '--context and --swarm cannot be used together', { hint: `run "${r.program} env --context MANAGER" with the manager's name` })
  const name = await nameOrDefault(store, r.name, 'env')
  const target = await checkEnvTarget(store, name, { swarm: r.swarm })
  const shell = shellNow()
  const vars: Array<readonly [string, string | undefined]> = r.context ? await contextVars(store, name, r.env) : [...target.vars]
  if (r.noProxy) vars.push(noProxyVar(r.env, target.host))
  if (r.context) return { text: renderEnv({ shell, vars, command }), json: { ...Object.fromEntries(vars.filter(([, v]) => v !== undefined)), unset: vars.flatMap(([k, v]) => (v === undefined ? [k] : [])) } }
  return { text: renderEnv({ shell, vars, command }), json: Object.fromEntries(vars) }
}

/**
 * env --context: the machine's context (made if missing and ours to make), and the variables that
 * select it. The TLS variables are unset: a DOCKER_HOST left from an earlier env would override
 * every context.
 */
async function contextVars(store: Store, name: string, env: NodeJS.ProcessEnv): Promise<Array<readonly [string, string | undefined]>> {
  const { requireMachineContext } = await import('./docker-context.js')
  await requireMachineContext(store, await store.load(name), env)
  return [['DOCKER_TLS_VERIFY', undefined], ['DOCKER_HOST', undefined], ['DOCKER_CERT_PATH', undefined], ['DOCKER_MACHINE_NAME', name], ['DOCKER_CONTEXT', name]]
}
