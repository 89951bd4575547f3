/**
 * The google driver's lifecycle on Compute Engine. Resources, in creation order:
 *   1. a firewall rule (one per network + port set, shared by the machines that need exactly
 *      those ports) allowing SSH, the engine port and --google-open-port values to instances
 *      carrying its name as a network tag (firewall.ts);
 *   2. the instance, with its boot disk (autoDelete), labelled with the machine's name and id
 *      (create.ts), or with --google-use-existing an existing instance adopted (existing.ts).
 * Each is journaled before it is made; remove() deletes in reverse order and keeps a firewall
 * rule that another machine still uses (remove.ts). What they share, the API calls and waits,
 * is session.ts; the power operations and queries are here.
 */
import { randomUUID } from 'node:crypto'
import type { Driver, SshInfo } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { savedSshInfo } from '../../src/driver-kit/ssh-info.js'
import { ENGINE_PORT, SSH_PORT } from './config.js'
import { closeClusterPorts, openClusterPorts } from './cluster-ports.js'
import { create, preCreateCheck } from './create.js'
import { remove } from './remove.js'
import { GoogleSession, stateOf, type GoogleContext } from './session.js'

export { stateOf }
export { listResources } from './prune.js'

export function createDriver(ctx: GoogleContext): Driver {
  const s = new GoogleSession(ctx)
  const { name, c } = s
  const where = (p: string) => ({ project: p, zone: s.zone })

  const driver: Driver = {
    preCreateCheck: () => preCreateCheck(s),
    create: (journal) => create(s, journal),
    remove: (journal) => remove(s, journal),
    openClusterPorts: (journal) => openClusterPorts(s, journal),
    closeClusterPorts: (journal) => closeClusterPorts(s, journal),

    async start() {
      const p = await s.project()
      const inst = await s.getInstance(p, ctx.signal)
      if (inst.status !== 'RUNNING') {
        const resume = inst.status === 'SUSPENDED'
        const what = `${resume ? 'resume' : 'start'} instance ${name}`
        await s.run(what, (g) => (resume ? g.resumeInstance(p, s.zone, name, randomUUID()) : g.startInstance(p, s.zone, name, randomUUID())), where(p), ctx.signal)
      }
      // A stopped instance gets a new ephemeral IP when it starts again.
      const running = await s.waitRunning(p, ctx.signal)
      c.IPAddress = running.ip
      const internal = running.inst.networkInterfaces?.[0]?.networkIP
      if (internal) c.PrivateIPAddress = internal
    },

    async stop() {
      const p = await s.project()
      await s.run(`stop instance ${name}`, (g) => g.stopInstance(p, s.zone, name, randomUUID()), where(p), ctx.signal)
    },

    async restart() {
      // `reset` is a hard reset (like the power button): the instance keeps its IP and disk.
      const p = await s.project()
      await s.run(`reset instance ${name}`, (g) => g.resetInstance(p, s.zone, name, randomUUID()), where(p), ctx.signal)
    },

    async kill() {
      // GCE has no "pull the plug"; stop with discardLocalSsd skips preserving local SSD data,
      // the fastest stop there is (the guest still gets the ACPI shutdown signal).
      const p = await s.project()
      await s.run(`stop instance ${name}`, (g) => g.stopInstance(p, s.zone, name, randomUUID(), { discardLocalSsd: true }), where(p), ctx.signal)
    },

    async state() {
      const p = await s.project()
      const inst = await s.find(`read instance ${name}`, (g) => g.getInstance(p, s.zone, name), ctx.signal)
      // Gone from the cloud: docker-machine's "None" state.
      if (!inst) return ''
      return stateOf(inst.status)
    },

    async ip() {
      const p = await s.project()
      const inst = await s.getInstance(p, ctx.signal)
      const ip = s.ipOf(inst)
      if (!ip) {
        throw new MachineError('no-ip', `Instance ${name} has no ${s.internalIp ? 'internal' : 'external'} IP address (it is ${inst.status ?? 'in an unknown state'})`, {
          hint: stateOf(inst.status) === 'Stopped' ? `start it with "machine start ${name}"` : undefined,
        })
      }
      c.IPAddress = ip
      return ip
    },

    /** The internal IP: the nodes of a swarm on one VPC network talk over it (the swarm rule is there). */
    async clusterAddress() {
      if (typeof c.PrivateIPAddress === 'string' && c.PrivateIPAddress) return c.PrivateIPAddress
      const p = await s.project()
      const internal = (await s.getInstance(p, ctx.signal)).networkInterfaces?.[0]?.networkIP
      if (internal) c.PrivateIPAddress = internal
      return internal ?? undefined
    },

    async sshInfo(): Promise<SshInfo> {
      return savedSshInfo(ctx, { host: await driver.ip(), port: Number(c.SSHPort ?? SSH_PORT), user: s.o.username })
    },

    enginePort: () => ENGINE_PORT,
  }
  return driver
}
