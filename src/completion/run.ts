/**
 * `machine __complete --cur=WORD WORDS...`: the answer the completion scripts ask for on each Tab
 * (see complete.ts). bin/run.js calls this before loading oclif. It never fails loudly: a
 * completion that prints an error into the user's command line is worse than none.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { SHELLS } from '../core/env-render.js'
import { isValidMachineName } from '../core/names.js'
import { flagName } from '../driver-kit/options.js'
import { BUILTIN_DRIVERS } from '../registry/builtin.js'
import { machinesDir, resolveStorePath } from '../store/paths.js'
import { complete, formatCompletion, type CompletionManifest } from './complete.js'

export async function runComplete(argv: readonly string[], manifestPath: URL): Promise<void> {
  const curArg = argv[0]?.startsWith('--cur=') ? argv[0] : undefined
  const cur = curArg ? curArg.slice('--cur='.length) : ''
  const before = curArg ? argv.slice(1) : argv
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as CompletionManifest
    // Only create has driver flags: their choices come from the drivers' option lists (index modules, no SDK).
    const driverChoices = before.includes('create') ? await builtinDriverChoices() : undefined
    const out = complete(cur, before, { manifest, machines: storeMachines, drivers: Object.keys(BUILTIN_DRIVERS).sort(), shells: SHELLS, driverChoices })
    process.stdout.write(formatCompletion(out))
  } catch (e) {
    if (process.env.MACHINE_COMPLETE_DEBUG) process.stderr.write(`${(e as Error).stack}\n`)
  }
}

async function builtinDriverChoices(): Promise<Record<string, readonly string[]>> {
  const out: Record<string, readonly string[]> = {}
  for (const def of await Promise.all(Object.values(BUILTIN_DRIVERS).map((load) => load()))) {
    for (const o of def.options) if (o.choices) out[flagName(def.name, o)] = o.choices
  }
  return out
}

/** The store's machine names from its directory listing alone (no config is read: this runs per key press). */
function storeMachines(storagePath: string | undefined): string[] {
  try {
    const dir = machinesDir(resolveStorePath(storagePath))
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && isValidMachineName(e.name))
      .map((e) => e.name)
      .sort()
  } catch {
    return []
  }
}
