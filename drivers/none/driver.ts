import type { Driver, DriverContext } from '../../src/driver-kit/contract.js'
import { NotSupportedError } from '../../src/driver-kit/contract.js'
import { checkEngineUrl } from '../../src/driver-kit/engine-url.js'
import type { options } from './options.js'

export function createDriver(ctx: DriverContext<typeof options>): Driver {
  // Resolved by the kit (flag, then the saved config's URL) and checked by the option's validate.
  const { url } = ctx.options
  const hostPort = () => {
    const u = new URL(url)
    return u.port ? `${u.hostname}:${u.port}` : u.hostname
  }
  const unsupported = (op: string) => Promise.reject(new NotSupportedError('none', op))
  return {
    // Again here, for callers that build a context without resolveOptions (the option's validate hook).
    preCreateCheck: async () => checkEngineUrl(url),
    create: async () => {
      ctx.config.IPAddress = new URL(url).hostname.replace(/^\[|\]$/g, '')
    },
    remove: async () => {},
    start: () => unsupported('start'),
    stop: () => unsupported('stop'),
    restart: () => unsupported('restart'),
    kill: () => unsupported('kill'),
    state: async () => 'Running',
    // docker-machine's none driver answers host:port here.
    ip: async () => hostPort(),
    sshInfo: () => unsupported('open an SSH connection to'),
    engineUrl: async () => url,
  }
}
