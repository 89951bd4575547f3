/**
 * Host ports for a local VM's forwards (QEMU's slirp, VirtualBox's NAT port forwarding). Always
 * 127.0.0.1: the VM's SSH and engine are never exposed on other interfaces.
 */
import { createServer, type Server } from 'node:net'

const listen = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(srv))
  })

const close = (srv: Server): Promise<void> => new Promise((r) => srv.close(() => r()))

/** Is `port` free to bind on 127.0.0.1 right now? */
export async function isPortFree(port: number): Promise<boolean> {
  try {
    await close(await listen(port))
    return true
  } catch {
    return false
  }
}

/**
 * `count` distinct free ports. All are held open until every one is found, so the kernel cannot
 * hand out the same port twice. (Another process may still take one before QEMU binds it: the
 * caller retries the launch with new ports when QEMU says the forward could not be set up.)
 */
export async function freePorts(count: number, avoid: readonly number[] = []): Promise<number[]> {
  const held: Server[] = []
  const ports: number[] = []
  try {
    while (ports.length < count) {
      const srv = await listen(0)
      held.push(srv)
      const addr = srv.address()
      const p = typeof addr === 'object' && addr ? addr.port : 0
      if (p && !avoid.includes(p) && !ports.includes(p)) ports.push(p)
    }
    return ports
  } finally {
    await Promise.all(held.map(close))
  }
}

/**
 * Reuse `wanted` ports when all are still free (so a restarted VM keeps its addresses and its
 * server certificate stays valid); otherwise new ones for those that were taken.
 */
export async function reusePorts(wanted: readonly number[]): Promise<{ ports: number[]; changed: boolean }> {
  const free = await Promise.all(wanted.map((p) => (p > 0 ? isPortFree(p) : Promise.resolve(false))))
  const missing = free.filter((f) => !f).length
  if (missing === 0) return { ports: [...wanted], changed: false }
  const fresh = await freePorts(missing, wanted)
  let i = 0
  return { ports: wanted.map((p, k) => (free[k] ? p : fresh[i++]!)), changed: true }
}

/**
 * A guest port moved by the environment variable `name` (1-65535), else the standard one
 * (`fallback`: 22 for SSH, 2376 for the engine). For a guest reached through a port forward, and
 * for the local drivers' test doubles, whose guests listen on free ports of 127.0.0.1 rather than
 * on 22 and 2376 of an address of their own. Anything else in the variable is ignored.
 */
export function guestPort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const n = Number(env[name] ?? process.env[name] ?? '')
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : fallback
}
