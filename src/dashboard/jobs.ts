import { randomUUID } from 'node:crypto'
import { Output } from '../cli/output.js'
import { TerminalReporter } from '../cli/progress.js'
import { MachineError, messageOf } from '../core/errors.js'
import type { Reporter } from '../services/reporter.js'

/** What a job tells its watchers: a line, then once its end (ok, or the error and its fix). */
export type JobEvent = { type: 'line'; line: string } | { type: 'done'; ok: true; result?: unknown } | { type: 'done'; ok: false; error: string; hint?: string }

/**
 * One operation started from the page (create, start, rm, …): it runs in this process through
 * the same service the CLI command calls, with the CLI's own reporter (steps with their
 * timeouts, the same lines) whose output goes to the job's watchers instead of the terminal.
 */
export class Job {
  readonly id = randomUUID()
  readonly events: JobEvent[] = []
  private readonly watchers = new Set<(e: JobEvent) => void>()
  readonly done: Promise<void>

  constructor(
    readonly title: string,
    run: (reporter: Reporter) => Promise<unknown>,
  ) {
    // json: nothing reaches the dashboard's terminal; listen() hands every line to the page.
    const out = new Output({ json: true, debug: false })
    const stop = out.listen((line) => {
      if (!line.startsWith('[debug] ')) this.emit({ type: 'line', line })
    })
    this.done = run(new TerminalReporter(out))
      .then(
        (result) => this.emit({ type: 'done', ok: true, result }),
        (e: unknown) => this.emit({ type: 'done', ok: false, error: messageOf(e), ...(e instanceof MachineError && e.hint ? { hint: e.hint } : {}) }),
      )
      .finally(stop)
  }

  private emit(e: JobEvent): void {
    this.events.push(e)
    for (const w of this.watchers) w(e)
  }

  /** Everything told so far, then each new event; returns the function that stops watching. */
  watch(fn: (e: JobEvent) => void): () => void {
    for (const e of this.events) fn(e)
    this.watchers.add(fn)
    return () => this.watchers.delete(fn)
  }
}

/** The jobs of this run, by id (a finished one stays readable: the page may connect after it ended). */
export class Jobs {
  private readonly byId = new Map<string, Job>()

  start(title: string, run: (reporter: Reporter) => Promise<unknown>): Job {
    const job = new Job(title, run)
    this.byId.set(job.id, job)
    // Keep the last 200: a long session must not grow without bound.
    if (this.byId.size > 200) this.byId.delete(this.byId.keys().next().value!)
    return job
  }

  get(id: string): Job | undefined {
    return this.byId.get(id)
  }

  /** Every job's end, for a clean shutdown. */
  all(): Job[] {
    return [...this.byId.values()]
  }
}
