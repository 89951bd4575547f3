import { MachineError } from '../core/errors.js'
import { interrupted } from '../driver-kit/wait.js'
import type { Reporter, StepOptions, StepReport } from '../services/reporter.js'
import type { Output } from './output.js'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/** Without a terminal, a long step says it is still going this often. */
const HEARTBEAT_MS = 30_000

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`

/**
 * Named steps with a timeout each. On a terminal a spinner shows the running step, its elapsed
 * time and what it reports (e.g. the guest's boot stage); without one (CI, set-up logs) the step
 * prints its title, each new detail, a line every 30 s while it runs, and its duration at the
 * end. Every step also ends when `signal` aborts (Ctrl-C), so the caller can roll back at once.
 */
export class Progress {
  /**
   * `view`: when several machines work at once, each step's lines start with its machine
   * (`prefix`, "web1: ") and its spinner is that machine's own live line (`owner`).
   */
  constructor(
    private readonly out: Output,
    private readonly signal: AbortSignal,
    private readonly view: ReporterView = { prefix: '', owner: '' },
  ) {}

  async step<T>(title: string, timeoutMs: number, fn: (signal: AbortSignal, report: StepReport) => Promise<T>): Promise<T> {
    const { prefix, owner } = this.view
    const started = Date.now()
    const elapsed = () => Math.floor((Date.now() - started) / 1000)
    const ac = new AbortController()
    const onAbort = () => ac.abort(this.signal.reason)
    this.signal.addEventListener('abort', onAbort, { once: true })
    let detail = ''
    let lastPrinted = Date.now()
    let timer: NodeJS.Timeout | undefined
    let ticker: NodeJS.Timeout | undefined
    if (this.out.tty) {
      let i = 0
      const draw = () => this.out.setLive(owner, `${prefix}${FRAMES[i++ % FRAMES.length]} ${title} (${elapsed()}s${detail ? `, ${detail}` : ''})`)
      draw()
      ticker = setInterval(draw, 120)
    } else {
      this.out.info(`${prefix}${title}...`)
      ticker = setInterval(() => {
        if (Date.now() - lastPrinted < HEARTBEAT_MS) return
        lastPrinted = Date.now()
        this.out.info(`${prefix}  ${title}: ${elapsed()}s${detail ? `, ${detail}` : ''}`)
      }, 1000)
    }
    const report: StepReport = (d) => {
      if (d === detail) return
      detail = d
      if (!this.out.tty) {
        lastPrinted = Date.now()
        this.out.info(`${prefix}  ${d} (${elapsed()}s)`)
      }
    }
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new MachineError('step-timeout', `"${title}" did not finish within ${Math.round(timeoutMs / 1000)} s${detail ? ` (last: ${detail})` : ''}`, {
          hint: 'run again with --debug to see where it stalls',
        })
        ac.abort(e)
        reject(e)
      }, timeoutMs)
      ac.signal.addEventListener('abort', () => reject(ac.signal.reason instanceof Error ? ac.signal.reason : interrupted()), { once: true })
      if (this.signal.aborted) onAbort()
    })
    const end = (mark: string) => {
      clearInterval(ticker)
      this.out.setLive(owner, undefined)
      this.out.info(`${prefix}${mark} ${title} (${secs(Date.now() - started)})`)
    }
    try {
      const r = await Promise.race([fn(ac.signal, report), stopped])
      end('✔')
      return r
    } catch (e) {
      end('✖')
      throw e
    } finally {
      clearTimeout(timer)
      clearInterval(ticker)
      this.signal.removeEventListener('abort', onAbort)
      stopped.catch(() => undefined)
    }
  }
}

/** How a reporter shows itself: its lines' prefix and the owner of its live line (Output.setLive). */
export interface ReporterView {
  prefix: string
  owner: string
}

/**
 * The services' Reporter on the terminal: lines go through `out` (stdout, stderr, nothing under
 * --json), steps are Progress steps under the operation's signal, and a warning is a note
 * "Warning: …" unless `onWarning` takes it (rm -f tells it with the machine's outcome).
 * `scoped(name)` is the same for one machine of several working at once: its lines start with
 * "name: " and its spinner is a line of its own.
 */
export class TerminalReporter implements Reporter {
  constructor(
    private readonly out: Output,
    private readonly onWarning?: (problem: string) => void,
    private readonly view: ReporterView = { prefix: '', owner: '' },
  ) {}

  info(line: string): void {
    this.out.info(`${this.view.prefix}${line}`)
  }

  note(line: string): void {
    this.out.note(`${this.view.prefix}${line}`)
  }

  warn(problem: string): void {
    if (this.onWarning) this.onWarning(problem)
    else this.note(`Warning: ${problem}`)
  }

  debug(line: string): void {
    this.out.debug(`${this.view.prefix}${line}`)
  }

  step<T>(title: string, o: StepOptions, fn: (signal: AbortSignal, report: StepReport) => Promise<T>): Promise<T> {
    return new Progress(this.out, o.signal ?? new AbortController().signal, this.view).step(title, o.timeoutMs, fn)
  }

  record(): { lines: string[]; stop(): void } {
    const { prefix } = this.view
    if (!prefix) return this.out.record()
    // One machine's failure evidence holds its own lines only, without the prefix.
    const debug = `[debug] ${prefix}`
    return this.out.record((l) => (l.startsWith(prefix) ? l.slice(prefix.length) : l.startsWith(debug) ? `[debug] ${l.slice(debug.length)}` : undefined))
  }

  scoped(name: string, onWarning = this.onWarning): TerminalReporter {
    return new TerminalReporter(this.out, onWarning, { prefix: `${this.view.prefix}${name}: `, owner: `${this.view.owner}/${name}` })
  }
}
