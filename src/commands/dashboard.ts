import { spawn } from 'node:child_process'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { MachineError } from '../core/errors.js'

/** Whether a browser can be opened here: not in CI, and on Linux only with a display. */
export function canOpenBrowser(env: NodeJS.ProcessEnv, platform = process.platform): boolean {
  if (env.CI && env.CI !== 'false') return false
  if (platform === 'darwin' || platform === 'win32') return true
  return !!(env.DISPLAY || env.WAYLAND_DISPLAY)
}

/**
 * The system's "open this URL" (xdg-open, open, the URL protocol handler), detached; a failure is
 * only a note: the URL is printed. On Windows no cmd.exe: `start` would parse the URL as a
 * command line (its `&` and `^`).
 */
function openBrowser(url: string, onFail: (why: string) => void): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]]
  const p = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true })
  p.on('error', (e) => onFail(e.message))
  p.unref()
}

export default class Dashboard extends BaseCommand {
  static override summary = 'Serve a local web page to see and drive machines and their containers'
  static override description =
    'Serves a page on 127.0.0.1 only, protected by a random token in the URL it prints (and opens in the browser when there is one): every machine with its state, driver, address, engine version and swarm role, updated live; start, stop, restart, remove, regenerate certificates, the docker env line; each engine\'s containers (through the machine\'s TLS connection: the browser never holds a key) with their logs streamed, start, stop and remove; and a create form made from the drivers\' options. Runs until Ctrl-C. Requests without the token, from another origin or for another host name are refused (docs/dashboard.md).'
  static override examples = ['<%= config.bin %> dashboard', '<%= config.bin %> dashboard --port 8765 --no-open']
  // It runs until Ctrl-C and its output is the URL to open: there is no result for an envelope.
  static override enableJsonFlag = false
  static override flags = {
    port: Flags.string({ description: 'port on 127.0.0.1 to listen on [default: a free one]' }),
    'no-open': Flags.boolean({ description: 'do not open the browser (it is not opened in CI or without a display either)' }),
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parseArgs(Dashboard)
    const port = flags.port === undefined ? 0 : Number(flags.port)
    if (!Number.isInteger(port) || port < 0 || port > 65535 || (flags.port !== undefined && !/^\d+$/.test(flags.port))) {
      throw new MachineError('invalid-option', `--port "${flags.port}" is not a port number`, { hint: 'give 1 to 65535, or leave it out for a free one' })
    }
    // Loaded here, not at the top: `machine --help` and the command list stay cheap.
    const { startDashboard } = await import('../dashboard/server.js')
    const d = await startDashboard({ store: this.store, config: this.config, port })
    this.out.info(`Dashboard: ${d.url}`)
    this.out.info('Only this machine can reach it; the URL carries its access token. Press Ctrl-C to stop.')
    if (!flags['no-open'] && canOpenBrowser(process.env)) openBrowser(d.url, (why) => this.out.note(`Could not open a browser (${why}): open the URL above`))
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        this.out.note('Stopping the dashboard…')
        void d.close().then(resolve)
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    })
    return undefined
  }
}
