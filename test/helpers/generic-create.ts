/**
 * `machine create -d generic` against a chroot host (chroot-host.ts) with the TLS engine stand-in
 * started the moment the provisioner has installed the engine's certificate: what a real host's
 * dockerd does. For tests of commands that need a machine made by create itself.
 */
import { existsSync } from 'node:fs'
import type { ChrootHost } from './chroot-host.js'
import { runCli, type CliResult } from './cli.js'
import { startFakeEngine, type FakeEngine } from './fake-engine.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Run `create`, and as soon as the provisioner has installed the server certificate on the
 * chroot host and restarted "docker", start the TLS engine with exactly those files on the
 * engine port, as dockerd would. Returns the CLI result and the engine (if it was started).
 */
export async function createWithEngine(args: string[], store: string, host: ChrootHost, enginePort: number): Promise<{ r: CliResult; engine?: FakeEngine }> {
  const restarts = () => host.calls().filter((c) => c === 'systemctl restart docker').length
  const before = restarts()
  let finished = false
  let engine: FakeEngine | undefined
  const cli = runCli(args, { store, timeoutMs: 180_000 }).finally(() => {
    finished = true
  })
  const watcher = (async () => {
    while (!finished) {
      if (restarts() > before && existsSync(host.path('/etc/docker/server-key.pem'))) {
        engine = await startFakeEngine({
          caCert: await host.read('/etc/docker/ca.pem'),
          serverCert: await host.read('/etc/docker/server.pem'),
          serverKey: await host.read('/etc/docker/server-key.pem'),
          port: enginePort,
        })
        return
      }
      await sleep(100)
    }
  })()
  const r = await cli
  await watcher
  return { r, engine }
}

