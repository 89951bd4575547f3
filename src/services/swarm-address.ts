import { isLoopbackHost } from '../core/engine-url.js'
import { isIP } from 'node:net'
import { MachineError } from '../core/errors.js'
import { programName } from '../core/program-name.js'
import type { OpenMachine } from './machine.js'

// The address a node advertises to its swarm: what the other nodes dial (2377 to managers,
// 7946 gossip, 4789 VXLAN). It must be the node's address on the network the nodes share:
// dockerd cannot guess it on a host with two NICs (moby 25279), and a NAT address every VM has
// alike (QEMU's user networking gives each VM 10.0.2.15) would make every node the same peer.

/** QEMU's user-mode (slirp) guest address: the same on every VM, reachable from none of the others. */
export const QEMU_NAT_ADDRESS = '10.0.2.15'


/** "192.0.2.7:2376" or "[::1]:2376" (the none driver's ip()) → the host alone. */
export function stripPort(a: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a)
  if (bracketed) return bracketed[1]!
  if (isIP(a) === 6) return a
  return a.replace(/:\d+$/, '')
}

export interface AdvertiseChoice {
  address: string
  /** Where it came from, for --debug and the docs' table: 'swarm-addr' | 'driver' | 'ip'. */
  source: 'swarm-addr' | 'cluster-address' | 'ip'
}

/**
 * The node's advertise address, in order: the one the user gave (`--swarm-addr` at create,
 * `--advertise-addr` on `swarm init/join`, saved as SwarmOptions.Address), the driver's
 * clusterAddress(), else its ip(). Refused: the QEMU NAT address, and a loopback address on a
 * host machine reaches over SSH (there it is a port forward, not the host's own address); a
 * loopback address of an engine recorded without SSH (`none` on this host) is its own.
 */
export async function chooseAdvertiseAddress(m: OpenMachine, ssh: boolean): Promise<AdvertiseChoice> {
  const name = m.host.Name
  const given = m.host.HostOptions.SwarmOptions.Address
  const fromDriver = given ? undefined : await m.driver.clusterAddress?.()
  const choice: AdvertiseChoice = given
    ? { address: stripPort(given), source: 'swarm-addr' }
    : fromDriver
      ? { address: stripPort(fromDriver), source: 'cluster-address' }
      : { address: stripPort(await m.driver.ip()), source: 'ip' }
  const fix = `give "${name}" an address the other machines reach (${programName()} swarm init/join --advertise-addr ADDR, or create --swarm-addr ADDR)`
  if (choice.address === QEMU_NAT_ADDRESS) {
    throw new MachineError('no-cluster-address', `Machine "${name}" has only ${QEMU_NAT_ADDRESS}, the NAT address every QEMU VM has alike, to advertise to a swarm`, { hint: fix })
  }
  if (ssh && isLoopbackHost(choice.address) && choice.source !== 'swarm-addr') {
    throw new MachineError('no-cluster-address', `Machine "${name}" is reached at ${choice.address} through a port forward, which is no address other machines can reach`, { hint: fix })
  }
  return choice
}

/** True for an address only the host itself can reach (a manager there cannot take other nodes). */
export const isLoopbackAddress = isLoopbackHost
