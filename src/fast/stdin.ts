/**
 * oclif fills a command's missing optional argument from stdin when stdin is not a terminal (its
 * parser's readStdin: the lines until EOF, given up after OCLIF_STDIN_TIMEOUT_MS, else 10 ms):
 * `echo dev | machine version` is `machine version dev`. A fast path that would leave such an
 * argument out asks this first. When stdin gives something, it is handed to oclif through the
 * cache oclif's parser reads before stdin (globalThis.oclif.stdinCache), and oclif answers.
 */
import { EOL } from 'node:os'
import { createInterface } from 'node:readline'
import { isatty } from 'node:tty'

type OclifGlobal = { oclif?: { stdinCache?: string } }

/** True when oclif would find no argument on stdin; false after handing oclif what it would read. */
export async function noArgumentOnStdin(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (isatty(0)) return true
  const text = await new Promise<string | undefined>((resolve) => {
    // As oclif reads it, so that it would see the same text.
    const lines: string[] = []
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: false })
    const timer = setTimeout(() => {
      rl.removeAllListeners('close')
      rl.close()
      resolve(undefined)
    }, Number(env.OCLIF_STDIN_TIMEOUT_MS) || 10)
    rl.on('line', (line) => lines.push(line))
    rl.once('close', () => {
      clearTimeout(timer)
      resolve(lines.join(EOL))
    })
  })
  // Nothing (no EOF in time, or an empty stdin) is what oclif leaves the argument out for; any
  // text, even blank, oclif takes as the argument and answers.
  if (!text) return true
  const g = globalThis as OclifGlobal
  g.oclif = { ...g.oclif, stdinCache: text }
  return false
}
