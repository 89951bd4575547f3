/**
 * The guest's clock after a resume (a local VM driver's `stop --save`, then `start`): it carries
 * on from the moment the state was saved, so it is behind by as long as the VM was saved (TLS
 * certificate checks, file times and logs would all be off). Set over SSH from the host's clock:
 * an image may have no NTP client, a NAT'd guest may reach no NTP server, and a hypervisor's own
 * time sync needs its guest tools.
 *
 * Setting the time to a host timestamp sent in the command would be late by however long sudo
 * takes to start under emulation (often hundreds of ms). Instead the guest's offset is measured
 * first (its `date` against the host's clock at the middle of the round trip; the quicker of two
 * tries: the first pays for cold caches, and each costs about a second under TCG), and the guest
 * then adds that offset to its own clock at the instant it sets it.
 */
import type { DriverContext, SshInfo } from './contract.js'
import { withGuestSession } from './guest-session.js'
import type { SshSession } from './ssh.js'

/** The host's wall clock in nanoseconds since the epoch, to the microsecond. */
export const hostNowNs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n

/** The root shell command that moves the guest's clock by `offsetNs` at the instant it runs. */
export function shiftClockCommand(offsetNs: bigint): string {
  // dash's arithmetic is 64-bit: nanoseconds since the epoch fit until 2262.
  return `n=$(( $(date +%s%N) + (${offsetNs}) )); date -u -s "@$((n / 1000000000)).$(printf %09d $((n % 1000000000)))" >/dev/null`
}

/**
 * Measure the guest's offset from the host and remove it. Returns the offset found (positive:
 * the guest was behind), in milliseconds.
 */
export async function syncGuestClock(session: Pick<SshSession, 'exec'>, o: { timeoutMs: number; tries?: number }): Promise<number> {
  let best: { rtt: bigint; offset: bigint } | undefined
  for (let i = 0; i < (o.tries ?? 2); i++) {
    const t0 = hostNowNs()
    const r = await session.exec('date +%s%N', { timeoutMs: o.timeoutMs })
    const t1 = hostNowNs()
    const guest = /^\d{19}$/.exec(r.stdout.trim())?.[0]
    if (r.code !== 0 || !guest) throw new Error(`the guest's date said ${JSON.stringify(r.stdout.trim() || r.stderr.trim())}`)
    const rtt = t1 - t0
    const offset = (t0 + t1) / 2n - BigInt(guest)
    if (!best || rtt < best.rtt) best = { rtt, offset }
  }
  const { offset } = best!
  const r = await session.exec(`sudo -n sh -c '${shiftClockCommand(offset)}'`, { timeoutMs: o.timeoutMs })
  if (r.code !== 0) throw new Error(`setting it failed: ${r.stderr.trim() || `exit ${r.code}`}`)
  return Number(offset / 1_000_000n)
}

/**
 * After a driver resumed its VM from a saved state: set the guest's clock from the host's over
 * one SSH session (guest-session.ts). A failure is said, not thrown: the
 * VM runs, its clock behind. `timeoutMs` bounds each step (30 s is plenty: each command costs a
 * second or so on an emulated guest).
 */
export async function resyncClockAfterResume(ctx: DriverContext, info: SshInfo, timeoutMs: number): Promise<void> {
  try {
    const behind = await withGuestSession(ctx, info, timeoutMs, (session) => syncGuestClock(session, { timeoutMs }))
    ctx.log.debug(`the guest's clock was ${behind} ms behind: set from the host's`)
  } catch (e) {
    ctx.signal.throwIfAborted()
    ctx.log.info(`The clock of "${ctx.machineName}" could not be set after the resume (${(e as Error).message}): it is behind by the time it was saved`)
  }
}
