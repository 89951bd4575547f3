import { existsSync } from 'node:fs'
import { MachineError } from '../core/errors.js'
import type { HostConfig } from '../core/host-config.js'
import { programName } from '../core/program-name.js'
import type { Store } from '../store/store.js'
import { engineTimeoutMs, engineVersion, readTls } from './engine.js'
import { engineUrlOf, machineTlsFiles } from './machine.js'

/**
 * `machine version NAME`: the engine's own version, asked over TLS with the machine's client
 * certificate. What is missing locally (no URL yet, certificate files gone or not PEM) is named
 * with its fix before anything is dialled. Connect, TLS handshake and answer together are bounded
 * (20 s, or MACHINE_ENGINE_TIMEOUT_MS): an engine that says nothing is reported, not waited on.
 */
export async function machineEngineVersion(store: Store, host: HostConfig, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const name = host.Name
  const url = engineUrlOf(host)
  if (!url) {
    throw new MachineError('no-engine-url', `Machine "${name}" has no engine URL yet (its create did not finish)`, { hint: `run "${programName()} provision ${name}", or remove it with "${programName()} rm ${name}"` })
  }
  const files = machineTlsFiles(store, name)
  const missing = [files.ca, files.cert, files.key].filter((f) => !existsSync(f))
  if (missing.length) {
    throw new MachineError('missing-certs', `Machine "${name}" has no client certificate files: ${missing.join(', ')} missing`, { hint: `run "${programName()} regenerate-certs ${name}"` })
  }
  const creds = await readTls(files).catch((e: unknown) => {
    if (e instanceof MachineError && e.code === 'bad-pem') throw new MachineError('bad-pem', `Machine "${name}": ${e.message}`, { hint: `run "${programName()} regenerate-certs ${name}"` })
    throw e
  })
  return engineVersion(url, creds, engineTimeoutMs(env), { machine: name })
}
