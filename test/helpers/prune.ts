/**
 * `machine prune` run in this process (so nock answers its cloud calls), as a user sees it: its
 * stdout, stderr and exit code. And a store holding machines that own some cloud ids.
 */
import { format } from 'node:util'
import { Config } from '@oclif/core'
import { vi } from 'vitest'
import { authOptionsFor, CONFIG_VERSION, defaultEngineOptions, defaultSwarmOptions, type HostConfig } from '../../src/core/host-config.js'
import { storeMarker } from '../../src/driver-kit/store-marker.js'
import { Store } from '../../src/store/store.js'
import { ROOT } from './cli.js'
import { tempStore } from './cli.js'

export interface PruneRun {
  code: number
  stdout: string
  stderr: string
}

export async function runPrune(args: string[], env: Record<string, string | undefined> = {}): Promise<PruneRun> {
  const config = await Config.load(ROOT)
  const { default: Prune } = await import('../../src/commands/prune.js')
  let stdout = ''
  let stderr = ''
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true))
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true))
  // oclif prints the --json envelope with console.log, which vitest takes over.
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${format(...a)}\n`))
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v)
  process.exitCode = undefined
  try {
    await Prune.run(args, config)
  } finally {
    out.mockRestore()
    err.mockRestore()
    log.mockRestore()
    vi.unstubAllEnvs()
  }
  const code = Number(process.exitCode ?? 0)
  process.exitCode = undefined
  return { code, stdout, stderr }
}

/** The machine-store tag of what the last store storeOwning made would have made (a live binding). */
export let storeMark = ''

/** A store whose machines (name → [driver, machine id]) record those ids, as create saves them. */
export async function storeOwning(machines: Record<string, [string, string]>): Promise<string> {
  const path = await tempStore()
  const store = new Store(path)
  for (const [name, [driver, id]] of Object.entries(machines)) {
    await store.reserve(name)
    const host: HostConfig = {
      ConfigVersion: CONFIG_VERSION,
      Driver: { MachineName: name, MachineId: id },
      DriverName: driver,
      HostOptions: { Driver: driver, Memory: 0, Disk: 0, EngineOptions: defaultEngineOptions(), SwarmOptions: defaultSwarmOptions(), AuthOptions: authOptionsFor(path, store.dir(name)) },
      Name: name,
    }
    await store.save(host)
  }
  storeMark = storeMarker(path)
  return path
}
