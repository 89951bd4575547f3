import { MachineError } from './errors.js'
import { programName } from './program-name.js'

// create's swarm flags: docker-machine's names, in swarm mode's meaning. Checked before anything
// is made. Classic Swarm's flags that mean nothing in swarm mode are refused (discovery, whose
// token:// service is gone, and the options of the swarm containers) or, when they only set
// what swarm mode does by itself, ignored with one line each.

export interface SwarmFlags {
  swarm?: boolean
  'swarm-master'?: boolean
  'swarm-cluster'?: string
  'swarm-addr'?: string
  'swarm-discovery'?: string
  'swarm-image'?: string
  'swarm-strategy'?: string
  'swarm-host'?: string
  'swarm-opt'?: string[]
  'swarm-join-opt'?: string[]
  'swarm-experimental'?: boolean
}

/** What create does with a swarm after provisioning: nothing, start one, or join one. */
export type SwarmPlan = { kind: 'none' } | { kind: 'init'; address?: string } | { kind: 'join'; cluster?: string; manager: boolean; address?: string }

export interface SwarmFlagCheck {
  plan: SwarmPlan
  /** One line per flag accepted but without effect in swarm mode. */
  ignored: string[]
}

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z][0-9A-Za-z.:-]*)(:\d{1,5})?$/

/** An address a swarm node advertises (create's --swarm-addr, swarm init/join's --advertise-addr): an IP or host name, optionally :port. */
export function checkAdvertiseAddr(addr: string, flag: string): void {
  if (!ADDRESS.test(addr)) throw new MachineError('swarm-option', `${flag} ${JSON.stringify(addr)} is not an address (IP or host name, optionally :port)`, { hint: 'give the address the other machines reach this one at, e.g. 192.168.76.2' })
}

export function checkSwarmFlags(f: SwarmFlags): SwarmFlagCheck {
  const p = programName()
  const d = f['swarm-discovery']
  if (d) {
    const what = /^token:\/\//.test(d) ? 'token:// discovery (Docker Hub’s hosted service for classic Swarm) no longer exists' : `--swarm-discovery ${d} is classic Swarm’s, which swarm mode does not use`
    throw new MachineError('swarm-discovery', `${what}`, { hint: 'drop --swarm-discovery: --swarm-master starts a swarm, --swarm-cluster NAME joins the swarm of machine NAME' })
  }
  for (const k of ['swarm-opt', 'swarm-join-opt'] as const) {
    const v = f[k] ?? []
    if (v.length) {
      throw new MachineError('swarm-option', `--${k} ${v[0]} set a flag of classic Swarm’s ${k === 'swarm-opt' ? 'manage' : 'join'} container, which swarm mode does not run`, {
        hint: `drop it; configure the swarm with "docker swarm update" against a manager (eval "$(${p} env --swarm NAME)")`,
      })
    }
  }
  const joins = !!f.swarm || !!f['swarm-cluster']
  const member = joins || !!f['swarm-master']
  const addr = f['swarm-addr']
  if (addr !== undefined) {
    if (!member) throw new MachineError('swarm-option', `--swarm-addr ${addr} is the address a swarm node advertises, but this machine joins no swarm`, { hint: 'add --swarm-master or --swarm (or drop --swarm-addr)' })
    checkAdvertiseAddr(addr, '--swarm-addr')
  }
  const ignored: string[] = []
  if (f['swarm-image']) ignored.push(`--swarm-image ${f['swarm-image']} is ignored: swarm mode is built into the engine, no swarm image runs`)
  if (f['swarm-strategy']) ignored.push(`--swarm-strategy ${f['swarm-strategy']} is ignored: swarm mode spreads tasks itself; place them with deploy.placement in the Compose file`)
  if (f['swarm-host']) ignored.push(`--swarm-host ${f['swarm-host']} is ignored: a swarm is reached through a manager's own engine ("${p} env --swarm NAME")`)
  if (f['swarm-experimental']) ignored.push('--swarm-experimental is ignored: experimental engine features are --engine-opt experimental=true')
  if (!member) {
    if (ignored.length) throw new MachineError('swarm-option', `${ignored[0]!.replace(/ is ignored:.*/, '')} is a swarm option, but this machine joins no swarm`, { hint: 'add --swarm-master or --swarm, or drop it' })
    return { plan: { kind: 'none' }, ignored }
  }
  // docker-machine's masters were created with both --swarm and --swarm-master: that is a master.
  // With --swarm-cluster it is a manager of that machine's swarm.
  if (f['swarm-master'] && !f['swarm-cluster']) return { plan: { kind: 'init', ...(addr ? { address: addr } : {}) }, ignored }
  return { plan: { kind: 'join', manager: !!f['swarm-master'], ...(f['swarm-cluster'] ? { cluster: f['swarm-cluster'] } : {}), ...(addr ? { address: addr } : {}) }, ignored }
}
