import { connect } from 'node:net'
import { parseEngineUrl } from '../core/engine-url.js'
import { MachineError } from '../core/errors.js'
import type { HostConfig } from '../core/host-config.js'
import { programName } from '../core/program-name.js'
import { membersOf } from '../core/swarm-cluster.js'
import { envMs } from '../driver-kit/wait.js'
import type { Store } from '../store/store.js'
import { engineUrlOf } from './machine.js'

// `env --swarm NAME`: which manager of NAME's swarm the docker client should talk to, from the
// saved configs and one TCP dial per manager, all at once (no TLS, no driver code: env stays
// as lean as without --swarm; a listening engine port is what "reachable" means here).

function dial(url: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let host: string
    let port: number
    try {
      ;({ host, port } = parseEngineUrl(url))
    } catch {
      return resolve('no tcp:// engine URL')
    }
    const s = connect({ host, port })
    const done = (why?: string) => {
      s.destroy()
      resolve(why)
    }
    s.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`))
    s.once('connect', () => done())
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message))
  })
}

/** NAME when it is a manager that accepts connections, else the first other manager (by name) that does. */
export async function reachableManagerName(store: Store, host: HostConfig, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const all = (await store.loadAll()).flatMap((e) => (e.host ? [e.host] : []))
  const managers = membersOf(all, host.HostOptions.SwarmOptions.Discovery).filter((m) => m.manager)
  managers.sort((a, b) => Number(b.name === host.Name) - Number(a.name === host.Name))
  const timeout = envMs(env, 'MACHINE_SWARM_DIAL_MS', 2_000, { min: 1, max: 60_000 })
  const results = await Promise.all(managers.map(async (m) => dial(engineUrlOf(all.find((h) => h.Name === m.name)!), timeout)))
  const i = results.findIndex((why) => why === undefined)
  if (i >= 0) return managers[i]!.name
  const why = managers.map((m, j) => `${m.name}: ${results[j]}`).join(', ')
  throw new MachineError('no-reachable-manager', `No manager of the swarm of "${host.Name}" accepts connections${why ? ` (${why})` : ' (none is in this store)'}`, {
    hint: `start one with "${programName()} start ${managers[0]?.name ?? host.Name}"`,
  })
}
