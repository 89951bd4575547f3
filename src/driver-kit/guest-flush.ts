/**
 * Before a local VM driver saves its VM's state (`machine stop --save`): the guest writes what it
 * holds in its page cache to its disk. A saved state may later be discarded (`stop` or `kill` of
 * a saved machine, or a state the hypervisor can no longer restore, and the VM boots afresh):
 * without this, files the guest wrote shortly before would go with it, as after a power cut.
 */
import { existsSync } from 'node:fs'
import type { DriverContext, SshInfo } from './contract.js'
import { knownHostsPath } from './layout.js'
import { connectSsh } from './ssh.js'

/**
 * `sync` in the guest over one SSH session (its host key pinned as for any connection), bounded
 * by `timeoutMs`. A failure is said, not thrown: the state is saved anyway (it holds the guest's
 * memory, so nothing is lost unless it is discarded).
 */
export async function flushGuestDisks(ctx: DriverContext, info: SshInfo, timeoutMs: number): Promise<void> {
  try {
    if (!info.port || !existsSync(info.keyPath)) throw new Error('the machine has no SSH port or key')
    const session = await connectSsh({ ...info, knownHostsPath: knownHostsPath(ctx.machineDir) }, { timeoutMs, signal: ctx.signal, log: (l) => ctx.log.debug(l) })
    try {
      const r = await session.exec('sync', { timeoutMs })
      if (r.code !== 0) throw new Error(r.stderr.trim() || `sync exited with ${r.code}`)
    } finally {
      session.close()
    }
  } catch (e) {
    ctx.log.info(`"${ctx.machineName}" could not be asked to flush its disks before saving (${(e as Error).message}): saving it anyway`)
  }
}
