/**
 * Short SSH sessions a local VM driver opens into its guest around a saved state (`stop --save`,
 * then `start`): flush the guest's disks before the hypervisor saves it, and set its clock after
 * a resume (guest-clock.ts). Each is one connection with the guest's host key pinned as for any
 * other, bounded by the caller's timeout, and never fatal: the save or the resume itself is what
 * the user asked for, so a failure is said in one line and the operation goes on.
 */
import { existsSync } from 'node:fs'
import type { DriverContext, SshInfo } from './contract.js'
import { knownHostsPath } from './layout.js'
import { connectSsh, type SshSession } from './ssh.js'

/** One SSH session to the guest for `fn`, closed after it. */
export async function withGuestSession<T>(ctx: DriverContext, info: SshInfo, timeoutMs: number, fn: (session: SshSession) => Promise<T>): Promise<T> {
  if (!info.port || !existsSync(info.keyPath)) throw new Error('the machine has no SSH port or key')
  const session = await connectSsh({ ...info, knownHostsPath: knownHostsPath(ctx.machineDir) }, { timeoutMs, signal: ctx.signal, log: (l) => ctx.log.debug(l) })
  try {
    return await fn(session)
  } finally {
    session.close()
  }
}

/**
 * `sync` in the guest before its state is saved: a state later discarded (stop or kill of a Saved
 * machine) or refused by the hypervisor then loses nothing the guest had written. A failure is
 * said and the save goes on (the saved state itself holds what was not written). An abort
 * (Ctrl-C) is not swallowed.
 */
export async function flushGuestDisks(ctx: DriverContext, info: SshInfo, timeoutMs: number): Promise<void> {
  try {
    await withGuestSession(ctx, info, timeoutMs, async (session) => {
      const r = await session.exec('sync', { timeoutMs })
      if (r.code !== 0) throw new Error(r.stderr.trim() || `sync exited ${r.code}`)
    })
  } catch (e) {
    ctx.signal.throwIfAborted()
    ctx.log.info(`"${ctx.machineName}" could not be asked to flush its disks before saving (${(e as Error).message}): saving it anyway`)
  }
}
