import { MachineError } from '../core/errors.js'
import { programName } from '../core/program-name.js'
import type { ClusterPeer } from '../driver-kit/contract.js'
import type { Store } from '../store/store.js'
import { whileBooting } from './boot-watch.js'
import { waitForState } from './lifecycle.js'
import type { OpenMachine } from './machine.js'
import { provisionMachine, sshTarget } from './provision.js'
import type { Reporter, StepReport } from './reporter.js'

// A machine that joins (or starts) a swarm must be on the network the swarm's machines share.
// One made without it (a qemu VM created without --qemu-network) is put on it here, as the
// driver's plan says (Driver.clusterNetworkFor): recorded in its config, the NIC at its next
// boot, the guest told its address over SSH, the server certificate made to cover it. A running
// machine is restarted for that only when the user said so (--restart): a stopped one is
// started, as a join needs its engine anyway.

/** Run a shell script as root on the machine's host, within `signal`. */
export type RunAsRoot = (m: OpenMachine, script: string, signal: AbortSignal, report: StepReport) => Promise<void>

export interface ClusterNetworkOptions {
  /** The command the user ran, to name in the fix ("machine swarm join s4 --cluster s1"). */
  command: string
  /** The user allows a restart of a running machine. */
  restart: boolean
  reporter: Reporter
  signal?: AbortSignal
  /** What is done on the host: by default over SSH, as provisioning does (tests give their own). */
  host?: HostSide
}

/** The host's side of putting a machine on its network. */
export interface HostSide {
  runAsRoot: RunAsRoot
  /** Re-provision: a server certificate that covers the new address, the engine answering, the config saved. */
  provision: (store: Store, m: OpenMachine, o: { reporter: Reporter; signal?: AbortSignal }) => Promise<unknown>
}

/** The saved machine as a cluster peer for Driver.clusterNetworkFor. */
export const peerOf = (h: { Name: string; DriverName: string; Driver: Record<string, unknown> }): ClusterPeer => ({ name: h.Name, driverName: h.DriverName, config: h.Driver })

/**
 * Put `m` on the network its cluster shares (beside `peer`, a member; none for a new swarm) when
 * its driver says it is not there yet. Nothing is changed when the machine runs and no restart
 * was allowed. The caller holds the machine's lock.
 */
export async function ensureOnClusterNetwork(store: Store, m: OpenMachine, peer: ClusterPeer | undefined, o: ClusterNetworkOptions): Promise<void> {
  // An address the user gave is theirs to make reachable.
  if (m.host.HostOptions.SwarmOptions.Address) return
  const plan = await m.driver.clusterNetworkFor?.(peer)
  if (!plan) return
  const name = m.host.Name
  // A paused or failed VM's QEMU runs too, without the NIC: only a stopped one takes it as is.
  const running = (await m.driver.state()) !== 'Stopped'
  if (running && plan.needsStop && !o.restart) {
    throw new MachineError('restart-needed', `"${name}" is not on ${plan.network}, which the swarm's machines share; putting it there restarts it`, {
      hint: `run "${o.command} --restart", or stop it first ("${programName()} stop ${name}")`,
    })
  }
  const r = o.reporter
  if (running && plan.needsStop) {
    r.info(`Stopping "${name}" to put it on ${plan.network}`)
    await m.driver.stop()
    await waitForState(m, 'Stopped', 300_000, o.signal)
  }
  const address = await plan.attach()
  // Saved at once: rm takes the machine off the network even if what follows fails.
  await store.save(m.host)
  r.info(`"${name}" is on ${plan.network} at ${address}`)
  if (!running || plan.needsStop) {
    r.info(`Starting "${name}"...`)
    await m.driver.start()
    await waitForState(m, 'Running', 300_000, o.signal)
  }
  const host = o.host ?? { runAsRoot: runOverSsh(store, r), provision: provisionMachine }
  await r.step(`Giving "${name}" its address ${address}`, { timeoutMs: 360_000, signal: o.signal }, (signal, report) => host.runAsRoot(m, plan.guestSetup(), signal, report))
  plan.done()
  // The server certificate covers the new address (as a machine made on the network has it);
  // this also waits for the engine and saves the config.
  await host.provision(store, m, { reporter: r, signal: o.signal })
}

/** The script as root over one SSH connection, waited for while the host boots. */
const runOverSsh =
  (store: Store, r: Reporter): RunAsRoot =>
  async (m, script, signal, report) => {
    const { connectSsh } = await import('../ssh/index.js')
    const { shq, sudoFor } = await import('../provision/shell.js')
    const info = await m.driver.sshInfo()
    const session = await whileBooting(m, signal, report, (s) => connectSsh(sshTarget(store, m.host.Name, info), { retryForMs: 300_000, signal: s, log: (l) => r.debug(l) }))
    try {
      await session.run(`${sudoFor(info.user)}sh -c ${shq(script)}`, { timeoutMs: 60_000 })
    } finally {
      session.close()
    }
  }
