/**
 * Where command output goes. Progress and info lines go to stdout as docker-machine's did (so
 * they stay out of `eval "$(machine env)"`, which only prints to stdout what must be evaluated);
 * in --json mode everything except the final envelope is silent.
 *
 * On a terminal "live" lines (spinners: one, or one per machine when several work at once) may
 * sit at the bottom: every other line is printed above them (the live lines are cleared, the line
 * written, the live lines drawn again), so nothing printed while a step runs lands on a spinner.
 */
export class Output {
  readonly json: boolean
  readonly debugEnabled: boolean
  private isTerminal: boolean | undefined
  /** The live lines by owner ('' for a lone spinner, a machine's name when several run), in order. */
  private readonly liveRows = new Map<string, string>()
  /** How many live lines are on the screen now (the cursor is at the end of the last one). */
  private drawn = 0
  private readonly taps = new Set<(line: string) => void>()

  constructor(o: { json: boolean; debug: boolean }) {
    this.json = o.json
    this.debugEnabled = o.debug
  }

  /**
   * Whether stdout is a terminal (live lines are drawn): asked when something is first shown, not
   * when an Output is made. Node makes process.stdout (and loads its stream modules, ~10 M
   * instructions) on first use, which a command that reports nothing (`ip`) never needs.
   */
  get tty(): boolean {
    this.isTerminal ??= !this.json && !!process.stdout.isTTY
    return this.isTerminal
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
   * the returned function is called: the transcript a failed create keeps for its user. `only`
   * keeps (and may rewrite) some lines: one machine's among several.
   */
  record(only?: (line: string) => string | undefined): { lines: string[]; stop(): void } {
    const lines: string[] = []
    const tap = (l: string) => {
      const kept = only ? only(l) : l
      if (kept !== undefined) lines.push(`${new Date().toISOString()} ${kept}`)
    }
    this.taps.add(tap)
    return { lines, stop: () => this.taps.delete(tap) }
  }

  /**
   * Every info, note and debug line told from now on, as it is told, until the returned function
   * is called: the dashboard streams an operation's lines to the page this way (with `json` set,
   * nothing reaches the terminal).
   */
  listen(fn: (line: string) => void): () => void {
    this.taps.add(fn)
    return () => this.taps.delete(fn)
  }

  private tell(line: string): void {
    for (const t of this.taps) t(line)
  }

  raw(text: string): void {
    if (!this.json) this.above(() => process.stdout.write(text))
  }

  /** Draw (or with undefined, erase) the live line; terminals only. */
  live(text: string | undefined): void {
    this.setLive('', text)
  }

  /** Draw (or with undefined, erase) `owner`'s live line among the others; terminals only. */
  setLive(owner: string, text: string | undefined): void {
    if (!this.tty) return
    if (text === undefined) this.liveRows.delete(owner)
    else this.liveRows.set(owner, text)
    process.stdout.write(this.eraseLive() + this.drawLive())
  }

  private above(write: () => void): void {
    if (this.liveRows.size === 0 && this.drawn === 0) return write()
    process.stdout.write(this.eraseLive())
    write()
    process.stdout.write(this.drawLive())
  }

  /** Back to the start of the first live line and clear from there (one line: just that line). */
  private eraseLive(): string {
    const n = this.drawn
    this.drawn = 0
    return n > 1 ? `\x1b[${n - 1}A\r\x1b[J` : '\r\x1b[K'
  }

  private drawLive(): string {
    // A line wider than the terminal would wrap, and the next erase would miss its first part.
    const width = process.stdout.columns
    const rows = [...this.liveRows.values()].map((r) => (width && r.length >= width ? `${r.slice(0, width - 2)}…` : r))
    this.drawn = rows.length
    return rows.join('\n')
  }
}
