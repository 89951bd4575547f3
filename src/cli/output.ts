/**
 * Where command output goes. Progress and info lines go to stdout as docker-machine's did (so
 * they stay out of `eval $(machine env)`, which only prints to stdout what must be evaluated);
 * in --json mode everything except the final envelope is silent.
 */
export class Output {
  readonly json: boolean
  readonly debugEnabled: boolean
  readonly tty: boolean

  constructor(o: { json: boolean; debug: boolean }) {
    this.json = o.json
    this.debugEnabled = o.debug
    this.tty = !!process.stdout.isTTY && !o.json
  }

  info(line: string): void {
    if (!this.json) process.stdout.write(`${line}\n`)
  }

  /** Notes that must not pollute stdout (e.g. next to `env` output). */
  note(line: string): void {
    if (!this.json) process.stderr.write(`${line}\n`)
  }

  debug(line: string): void {
    if (this.debugEnabled) process.stderr.write(`[debug] ${line}\n`)
  }

  raw(text: string): void {
    if (!this.json) process.stdout.write(text)
  }
}
