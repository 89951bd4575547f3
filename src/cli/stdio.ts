/**
 * Output of a start: the first use of process.stdout or process.stderr loads Node's whole
 * streams stack (~15% of `env`'s time beyond bare Node), so the fast path writes a short answer
 * straight to the file descriptor, and the streams are only made when something needs them.
 */
import { writeSync } from 'node:fs'

let guarded = false

/** `machine ls | head` closes the pipe early: that is not an error. */
export function exitOnEpipe(): void {
  if (guarded) return
  guarded = true
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0)
      throw e
    })
  }
}

// Larger answers (ls of many machines) go through the stream, which waits on a full pipe.
const DIRECT_MAX = 16 * 1024

/**
 * Write `text` to stdout: directly when short, else through process.stdout. Resolves once the
 * text is handed to the OS, so the caller may process.exit() (a pipe that is full takes the
 * rest asynchronously: exiting before then cut `ls | wc -l` short).
 */
export async function writeStdout(text: string): Promise<void> {
  if (Buffer.byteLength(text) <= DIRECT_MAX) {
    const buf = Buffer.from(text)
    let done = 0
    try {
      while (done < buf.length) done += writeSync(1, buf, done)
      return
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EPIPE') process.exit(0)
      // A non-blocking pipe that is full (EAGAIN): the stream waits for it.
      if (code !== 'EAGAIN') throw e
      text = buf.subarray(done).toString()
    }
  }
  exitOnEpipe()
  await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()))
}
