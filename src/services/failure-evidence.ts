import { chmod, copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MachineError, messageOf } from '../core/errors.js'
import { failedDir } from '../store/paths.js'

/** How many failed creates' evidence is kept (oldest removed first). */
const KEEP = 10

/**
 * Before a failed create's machine directory is removed, keep what explains the failure: the
 * machine's own logs (the qemu driver's console.log, firmware.log, qemu.log) and the create's
 * transcript, debug lines included, in <store>/failed/<name>-<time>/. Only a machine that logged
 * something leaves evidence: for the others (a refused SSH key, a bad flag) the error line says
 * it all and the store stays byte-identical. Returns that directory, or undefined when nothing
 * was kept (the failure itself is what the user must see, so this never throws).
 */
export async function keepFailureEvidence(storePath: string, name: string, machineDir: string, transcript: readonly string[], error: unknown): Promise<string | undefined> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const dir = join(failedDir(storePath), `${name}-${stamp}`)
  try {
    const logs = (await readdir(machineDir).catch(() => [] as string[])).filter((f) => f.endsWith('.log'))
    if (!logs.length) return undefined
    await mkdir(dir, { recursive: true, mode: 0o700 })
    for (const f of logs) {
      await copyFile(join(machineDir, f), join(dir, f))
      await chmod(join(dir, f), 0o600)
    }
    await writeFile(join(dir, 'create.log'), `${[...transcript, `Error: ${messageOf(error)}`].join('\n')}\n`, { mode: 0o600 })
    await prune(failedDir(storePath))
    return dir
  } catch {
    return undefined
  }
}

async function prune(root: string): Promise<void> {
  // Names end in an ISO time: sorting by that suffix sorts by age.
  const stampOf = (d: string) => d.slice(-24)
  const dirs = (await readdir(root)).sort((a, b) => stampOf(a).localeCompare(stampOf(b)))
  for (const d of dirs.slice(0, Math.max(0, dirs.length - KEEP))) await rm(join(root, d), { recursive: true, force: true })
}

/** The create's error with the evidence named in its one line (the machine directory is gone). */
export function withEvidence(e: unknown, evidenceDir: string, machineDir: string): MachineError {
  const kept = `what the machine and the create logged (--debug lines included) is kept in ${evidenceDir}`
  if (e instanceof MachineError) {
    // A hint pointing into the machine directory (removed by the rollback) points at the copy.
    const hint = e.hint && !e.hint.includes(machineDir) ? `${e.hint}; ${kept}` : kept
    return new MachineError(e.code, e.message, { hint, exitCode: e.exitCode, cause: e })
  }
  return new MachineError('error', messageOf(e), { hint: kept, cause: e })
}
