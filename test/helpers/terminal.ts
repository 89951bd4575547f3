/**
 * The built CLI in a pseudo-terminal, as a user's shell runs it: util-linux script(1) (as
 * bench/cli-startup.mjs does), its width set with stty first. What comes back is what the terminal
 * received: the CLI's stdout and stderr, with CR LF line ends.
 */
import { spawn } from 'node:child_process'
import { shq } from '../../src/provision/shell.js'
import { BIN, ROOT } from './cli.js'

export interface TerminalRun {
  /** Columns of the terminal (stty cols; 0 is a terminal that does not say). */
  cols: number
  /** The whole environment of the CLI (PATH is added): nothing else leaks in from the test's. */
  env: NodeJS.ProcessEnv
  /** Node options before the CLI (e.g. --import a tracer). */
  nodeArgs?: string[]
  /** Send the CLI's stderr to /dev/null, so that only stdout is a terminal. */
  quietStderr?: boolean
}

export function runInTerminal(args: string[], o: TerminalRun): Promise<string> {
  const argv = [process.execPath, ...(o.nodeArgs ?? []), BIN, ...args].map(shq).join(' ')
  const command = `stty cols ${o.cols} && exec ${argv}${o.quietStderr ? ' 2>/dev/null' : ''}`
  return new Promise((resolve, reject) => {
    const p = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', (e) => reject(new Error(`script(1) (util-linux) is needed to run the CLI in a terminal: ${e.message}`)))
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`machine ${args.join(' ')} in a terminal exited ${code}: ${out}${err}`))))
    p.stdin.end()
  })
}
