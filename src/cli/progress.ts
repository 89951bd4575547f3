import { MachineError } from '../core/errors.js'
import type { Output } from './output.js'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/**
 * Named steps with a timeout each. On a TTY a spinner shows the running step and its elapsed
 * time; elsewhere each step is one plain line. Every step also ends when `signal` aborts
 * (Ctrl-C), so the caller can roll back straight away.
 */
export class Progress {
  constructor(
    private readonly out: Output,
    private readonly signal: AbortSignal,
  ) {}

  async step<T>(title: string, timeoutMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const started = Date.now()
    const ac = new AbortController()
    const onAbort = () => ac.abort(this.signal.reason)
    this.signal.addEventListener('abort', onAbort, { once: true })
    let timer: NodeJS.Timeout | undefined
    let spin: NodeJS.Timeout | undefined
    if (this.out.tty) {
      let i = 0
      const draw = () =>
        process.stdout.write(`\r\x1b[K${FRAMES[i++ % FRAMES.length]} ${title} (${Math.floor((Date.now() - started) / 1000)}s)`)
      draw()
      spin = setInterval(draw, 120)
    } else {
      this.out.info(`${title}...`)
    }
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new MachineError('step-timeout', `"${title}" did not finish within ${Math.round(timeoutMs / 1000)} s`, {
          hint: 'run again with --debug to see where it stalls',
        })
        ac.abort(e)
        reject(e)
      }, timeoutMs)
      ac.signal.addEventListener('abort', () => reject(ac.signal.reason instanceof Error ? ac.signal.reason : interrupted()), { once: true })
      if (this.signal.aborted) onAbort()
    })
    const secs = () => ((Date.now() - started) / 1000).toFixed(1)
    try {
      const r = await Promise.race([fn(ac.signal), stopped])
      if (spin) process.stdout.write(`\r\x1b[K✔ ${title} (${secs()}s)\n`)
      return r
    } catch (e) {
      if (spin) process.stdout.write(`\r\x1b[K✖ ${title} (${secs()}s)\n`)
      throw e
    } finally {
      clearTimeout(timer)
      if (spin) clearInterval(spin)
      this.signal.removeEventListener('abort', onAbort)
      stopped.catch(() => undefined)
    }
  }
}

export const interrupted = (): MachineError => new MachineError('interrupted', 'Interrupted', { exitCode: 130 })
