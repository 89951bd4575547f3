/**
 * Where command output goes. Progress and info lines go to stdout as docker-machine's did (so
 * they stay out of `eval "$(machine env)"`, which only prints to stdout what must be evaluated);
 * in --json mode everything except the final envelope is silent.
 *
 * On a terminal one "live" line (a spinner) may sit at the bottom: every other line is printed
 * above it (the live line is cleared, the line written, the live line drawn again), so nothing
 * printed while a step runs lands on the spinner's line.
 */
export class Output {
  readonly json: boolean
  readonly debugEnabled: boolean
  readonly tty: boolean
  private liveText: string | undefined
  private readonly taps = new Set<(line: string) => void>()

  constructor(o: { json: boolean; debug: boolean }) {
    this.json = o.json
    this.debugEnabled = o.debug
    this.tty = !!process.stdout.isTTY && !o.json
  }

  info(line: string): void {
    this.tell(line)
    if (!this.json) this.above(() => process.stdout.write(`${line}\n`))
  }

  /** Notes that must not pollute stdout (e.g. next to `env` output). */
  note(line: string): void {
    this.tell(line)
    if (!this.json) this.above(() => process.stderr.write(`${line}\n`))
  }

  debug(line: string): void {
    this.tell(`[debug] ${line}`)
    if (this.debugEnabled) this.above(() => process.stderr.write(`[debug] ${line}\n`))
  }

  /**
   * Every info, note and debug line (debug ones even without --debug), with the time, until
   * the returned function is called: the transcript a failed create keeps for its user.
   */
  record(): { lines: string[]; stop(): void } {
    const lines: string[] = []
    const tap = (l: string) => lines.push(`${new Date().toISOString()} ${l}`)
    this.taps.add(tap)
    return { lines, stop: () => this.taps.delete(tap) }
  }

  private tell(line: string): void {
    for (const t of this.taps) t(line)
  }

  raw(text: string): void {
    if (!this.json) this.above(() => process.stdout.write(text))
  }

  /** Draw (or with undefined, erase) the live line; terminals only. */
  live(text: string | undefined): void {
    if (!this.tty) return
    process.stdout.write(`\r\x1b[K${text ?? ''}`)
    this.liveText = text
  }

  private above(write: () => void): void {
    if (this.liveText === undefined) return write()
    process.stdout.write('\r\x1b[K')
    write()
    process.stdout.write(this.liveText)
  }
}
