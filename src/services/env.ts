import { existsSync, readFileSync } from 'node:fs'
import { certCoversHost } from '../certs/certs.js'
import { dockerEnvVars } from '../core/env-render.js'
import { MachineError } from '../core/errors.js'
import type { Store } from '../store/store.js'
import { parseEngineUrl } from '../core/engine-url.js'
import { inSwarm } from '../core/swarm-cluster.js'
import { engineUrlOf, machineTlsFiles } from './machine.js'

export interface EnvTarget {
  url: string
  host: string
  vars: Array<readonly [string, string]>
}

/**
 * What `env`/`config` point at, from the saved config only (no driver code, no network), with a
 * local check that the server certificate covers the address, so a changed IP is caught here
 * with its fix instead of as an x509 error inside docker.
 */
export async function checkEnvTarget(store: Store, name: string, o: { swarm?: boolean } = {}): Promise<EnvTarget> {
  const host = await store.load(name)
  let url = engineUrlOf(host)
  if (!url) {
    // Unfinished creates were refused by load(): this config itself lacks the address.
    throw new MachineError('no-url', `Machine "${name}" has no engine address in its config.json (Driver.URL or IPAddress)`, {
      hint: `start it with "machine start ${name}" if it is stopped, or remove it with "machine rm -f ${name}" and create it again`,
    })
  }
  if (o.swarm && inSwarm(host.HostOptions.SwarmOptions)) {
    // Swarm mode: a manager of NAME's cluster that accepts connections (NAME first if it is one).
    const { reachableManagerName } = await import('./swarm-reach.js')
    return checkEnvTarget(store, await reachableManagerName(store, host))
  }
  if (o.swarm) {
    // A classic Swarm master of a docker-machine store: its swarm-manage port, as docker-machine did.
    const sw = host.HostOptions.SwarmOptions
    if (!sw.Master) throw new MachineError('not-swarm-master', `"${name}" is not a swarm master`, { hint: 'make it a swarm manager with "machine swarm init NAME", or join it to one with "machine swarm join NAME --cluster MASTER"' })
    const port = new URL(sw.Host.replace(/^tcp:/, 'http:')).port || '3376'
    url = `tcp://${parseEngineUrl(url).host}:${port}`
  }
  const tls = machineTlsFiles(store, name)
  let h = url
  if (url.startsWith('tcp://')) {
    h = parseEngineUrl(url).host
    if (existsSync(tls.server) && !certCoversHost(readFileSync(tls.server, 'utf8'), h)) {
      throw new MachineError('cert-mismatch', `The server certificate of "${name}" does not cover its address ${h} (the IP has probably changed)`, {
        hint: `run "machine regenerate-certs -f ${name}"`,
      })
    }
  }
  return { url, host: h, vars: dockerEnvVars({ url, certPath: store.dir(name), name }) }
}
