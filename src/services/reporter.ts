// What services tell the user while they work, without knowing where it goes: the CLI hands in
// a terminal implementation (src/cli/progress.ts, a spinner on a terminal, plain lines in logs,
// silence under --json); a test or another front end can hand in its own. Services import nothing
// of src/cli/ (test/unit/layering.test.ts), so the dependency runs one way: cli → services.

/** What a running step can say about itself: a short detail shown with its title (e.g. the guest's boot stage). */
export type StepReport = (detail: string) => void

export interface StepOptions {
  /** The step fails with a "did not finish within N s" error after this long. */
  timeoutMs: number
  /** The operation's signal (Ctrl-C): the step ends at once with its reason. */
  signal?: AbortSignal
}

/** The lines a failed create keeps for its user (each with its time), until stop() is called. */
export interface Transcript {
  lines: string[]
  stop(): void
}

export interface Reporter {
  /** A line of progress ("Starting "dev"..."): on stdout, as docker-machine printed it. */
  info(line: string): void
  /** A line beside the command's output (rolling back, keeping a machine): on stderr. */
  note(line: string): void
  /** A problem the operation went past (rm -f): the front end decides how to tell it. */
  warn(problem: string): void
  /** Detail for --debug. */
  debug(line: string): void
  /**
   * Run `fn` as a named step: shown while it runs with what it reports, ended by its timeout or
   * the signal (fn gets a signal that aborts on either), marked done or failed with its duration.
   */
  step<T>(title: string, o: StepOptions, fn: (signal: AbortSignal, report: StepReport) => Promise<T>): Promise<T>
  /** Start keeping every line told from now on (debug ones too), for failure evidence. */
  record(): Transcript
  /**
   * The reporter of one machine among several worked on at once: every line and step is told as
   * that machine's ("web1: ✔ Waiting for SSH"), each running step its own line on a terminal.
   */
  scoped(name: string): Reporter
}
