/**
 * The boot watchdog: while the caller waits for SSH (or the engine) after a boot, read the
 * guest's serial console and
 *   - report each boot stage as it is reached ("guest: kernel booting"),
 *   - end the wait at once on a failure the console shows (kernel panic, no bootable disk…),
 *   - end it when the console stops moving for a bounded time, saying where the boot stopped,
 *   - end it when the guest reached its login prompt but cloud-init failed, and what is waited
 *     for (SSH, the engine) still does not answer a little later (cloud-init makes our user,
 *     installs its key and the engine's TLS configuration),
 *   - and, when an accelerator that `auto` chose is not proven yet, give it a bounded time to
 *     start the guest's kernel and otherwise hand over to a fallback (the driver restarts the VM
 *     under TCG), because a KVM that runs the firmware and then hangs the kernel is a real host.
 */
import { stat, readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { MachineError } from '../../src/driver-kit/errors.js'
import { describeFailure, describeStall, kernelStarted, readBootConsole, STAGE_LABEL, type BootView } from './boot-console.js'

export interface UnprovenAccel {
  /** "KVM", "HVF". */
  name: string
  /** How long the guest kernel gets to appear on the console. */
  withinMs: number
  /** The kernel started: the accelerator works on this host. */
  proven(view: BootView): Promise<void>
  /** It did not within `withinMs`: restart the VM without it (the watch then starts over on the new boot). */
  fallBack(view: BootView, withinMs: number): Promise<void>
}

export interface BootWatch {
  machineName: string
  consolePath: string
  /** The firmware's own log where it does not print on the console (SeaBIOS's debug port). */
  firmwarePath?: string
  signal: AbortSignal
  /** Is the VM's process still there? */
  alive(): Promise<boolean>
  onStage(label: string): void
  /** No console output for this long before the login prompt: the boot is stuck. */
  stallMs: number
  /**
   * At the login prompt with a cloud-init failure on the console, how long the wait still goes
   * on (default 15 s): what failed may not matter to SSH or the engine, which then answer within
   * seconds and end the watch.
   */
  cloudInitGraceMs?: number
  pollMs?: number
  unproven?: UnprovenAccel
  /** Read once when the watch (re)starts: when the current boot began. */
  launchedAt(): number
}

/** Resolves when `signal` aborts (the wait it guards ended); rejects with what went wrong. */
export async function watchBoot(w: BootWatch): Promise<void> {
  const poll = w.pollMs ?? 500
  let unproven = w.unproven
  let started = w.launchedAt()
  let lastSize = -1
  const sizeNow = async () => {
    const sizes = await Promise.all([w.consolePath, w.firmwarePath].map((p) => (p ? stat(p).then((s) => s.size, () => 0) : 0)))
    return sizes[0]! + sizes[1]!
  }
  // The firmware's lines come first: they were printed before the kernel wrote to the console.
  const readAll = async () => {
    const [fw, con] = await Promise.all([w.firmwarePath ? readFile(w.firmwarePath, 'utf8').catch(() => '') : '', readFile(w.consolePath, 'utf8').catch(() => '')])
    return readBootConsole(fw && con ? `${fw}\n${con}` : fw || con)
  }
  let lastGrowth = Date.now()
  let view: BootView = readBootConsole('')
  let shownStage = ''
  let cloudInitFailedAt: number | undefined
  const secs = (ms: number) => Math.round(ms / 1000)
  const bootFailed = (f: NonNullable<BootView['failure']>) =>
    new MachineError('boot-failed', `"${w.machineName}" did not boot: ${describeFailure(f)}`, { hint: `see ${w.consolePath}` })
  while (!w.signal.aborted) {
    const size = await sizeNow()
    if (size !== lastSize) {
      lastSize = size
      lastGrowth = Date.now()
      view = await readAll()
    }
    if (w.signal.aborted) return
    if (view.stage !== shownStage) {
      shownStage = view.stage
      if (view.stage !== 'silent') w.onStage(STAGE_LABEL[view.stage])
    }
    if (view.failure) throw bootFailed(view.failure)
    if (unproven) {
      if (kernelStarted(view)) {
        await unproven.proven(view)
        unproven = undefined
      } else if (Date.now() - started > unproven.withinMs) {
        const u = unproven
        unproven = undefined
        await u.fallBack(view, u.withinMs)
        // A new boot: its own console, its own clock.
        started = w.launchedAt()
        lastSize = -1
        lastGrowth = Date.now()
        view = readBootConsole('')
        shownStage = ''
        cloudInitFailedAt = undefined
        continue
      }
    }
    if (!(await w.alive())) {
      // The process may have ended because of what it printed last: read the console once more.
      view = await readAll()
      if (w.signal.aborted) return
      if (view.failure) throw bootFailed(view.failure)
      throw new MachineError('vm-exited', `The VM of "${w.machineName}" exited while booting${view.lastLine ? ` (the console last showed "${view.lastLine}")` : ''}`, {
        hint: `see ${w.consolePath}`,
      })
    }
    if (view.stage === 'login' && view.cloudInitFailed) {
      cloudInitFailedAt ??= Date.now()
      const grace = w.cloudInitGraceMs ?? 15_000
      if (Date.now() - cloudInitFailedAt > grace) {
        throw new MachineError('cloud-init-failed', `"${w.machineName}" booted to its login prompt, but cloud-init failed ("${view.cloudInitFailed}"); ${secs(grace)} s later it still did not answer`, {
          hint: `see ${w.consolePath}`,
        })
      }
    }
    if (view.stage !== 'login' && Date.now() - lastGrowth > w.stallMs) {
      throw new MachineError('boot-stalled', `"${w.machineName}" made no boot progress for ${secs(w.stallMs)} s: ${describeStall(view)}`, {
        hint: `see ${w.consolePath}`,
      })
    }
    await sleep(poll, undefined, { signal: w.signal }).catch(() => undefined)
  }
}
