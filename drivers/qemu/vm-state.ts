/**
 * A VM's saved state (`machine stop --save`): QEMU's migration stream of the paused VM (its RAM
 * and devices) written to a file in the machine directory, and beside it a small record of what
 * it was saved by. `start` launches QEMU with `-incoming defer` and feeds it the file back, so the
 * guest carries on where it was instead of booting.
 *
 * Migration to a file rather than `savevm` into the qcow2 overlay: savevm needs every writable
 * disk to be qcow2 (an aarch64 VM's UEFI variable store is raw), keeps the snapshot in the disk
 * until deleted, and loadvm rolls the disk back to it. The stream goes through `exec:` (QEMU 7.2
 * has no `file:` URI), whose command QEMU runs with /bin/sh: the path is shell-quoted.
 *
 * The disk is not part of the file: the state is only valid with the disk exactly as QEMU left it
 * (it flushes the disk when the migration completes). So any cold boot deletes the state first.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { writeFileAtomic } from '../../src/driver-kit/fs.js'
import { shq } from '../../src/driver-kit/shell.js'
import { sleep } from '../../src/driver-kit/wait.js'
import { qemuArgs, type LaunchSpec, type QmpEndpoint } from './cmdline.js'
import { qmpExecute, type QmpCommand } from './qmp.js'

/** What the state file was saved by; a resume with anything else would load garbage or fail. */
export interface SavedStateRecord {
  /** `qemu --version`'s number: the migration format is only promised between equal versions here. */
  qemuVersion: string
  /** Hash of the command line without what changes from run to run (ports, sockets): the VM's hardware. */
  hardware: string
  savedAt: string
}

/**
 * The command line's part that describes the guest's hardware: what must be equal for QEMU to
 * load the state (machine type, accelerator, CPUs, memory, devices, disks). The forwarded host
 * ports, the QMP socket, the pid file and the cluster NIC's UDP ports are not hardware.
 */
export function hardwareFingerprint(spec: LaunchSpec): string {
  const normal: LaunchSpec = {
    ...spec,
    sshPort: 0,
    engineHostPort: 0,
    qmp: { path: '' },
    pidFile: '',
    daemonize: false,
    ...(spec.cluster ? { cluster: { ...spec.cluster, localPort: 0, switchPort: 0 } } : {}),
  }
  delete normal.incoming
  return createHash('sha256').update(qemuArgs(normal).join('\0')).digest('hex')
}

/** Why a saved state cannot be resumed with `now`, or undefined when it can. */
export function unusableBecause(saved: SavedStateRecord | undefined, now: Omit<SavedStateRecord, 'savedAt'>): string | undefined {
  if (!saved) return 'its record is missing or unreadable'
  if (saved.qemuVersion !== now.qemuVersion) return `it was saved by QEMU ${saved.qemuVersion}, this is QEMU ${now.qemuVersion}`
  if (saved.hardware !== now.hardware) return 'the VM\'s settings (accelerator, CPUs, memory, devices) changed since'
  return undefined
}

export async function readRecord(path: string): Promise<SavedStateRecord | undefined> {
  try {
    const j = JSON.parse(await readFile(path, 'utf8')) as Partial<SavedStateRecord>
    if (typeof j.qemuVersion !== 'string' || typeof j.hardware !== 'string') return undefined
    return { qemuVersion: j.qemuVersion, hardware: j.hardware, savedAt: String(j.savedAt ?? '') }
  } catch {
    return undefined
  }
}

export interface StateFiles {
  /** The migration stream. */
  state: string
  /** Its SavedStateRecord (JSON). */
  record: string
}

export const hasSavedState = (f: StateFiles): boolean => existsSync(f.state)

export async function discardState(f: StateFiles): Promise<void> {
  await Promise.all([rm(f.state, { force: true }), rm(f.record, { force: true }), rm(`${f.state}.tmp`, { force: true })])
}

interface MigrateInfo {
  status?: string
  'error-desc'?: string
}

/**
 * Pause the VM and write its state to `f.state` (owner-only: it holds the guest's memory, keys
 * included). On success the VM is left paused in "postmigrate" for the caller to quit; on failure
 * it runs again and nothing is left behind.
 */
export async function saveState(qmp: QmpEndpoint, f: StateFiles, record: Omit<SavedStateRecord, 'savedAt'>, o: { timeoutMs: number; pollMs: number; signal: AbortSignal }): Promise<void> {
  const tmp = `${f.state}.tmp`
  // Made here with its mode; the shell's `>` then truncates it and keeps the mode.
  await writeFile(tmp, '', { mode: 0o600 })
  const run = (c: QmpCommand[]) => qmpExecute(qmp, c, 10_000)
  try {
    await run([
      { execute: 'stop' },
      // QEMU's default bandwidth limit is for live migration over a network (32 MiB/s before
      // QEMU 9.1); to a local file as fast as the disk takes it.
      { execute: 'migrate-set-parameters', arguments: { 'max-bandwidth': 2 ** 40 } },
      { execute: 'migrate', arguments: { uri: `exec:cat > ${shq(tmp)}` } },
    ])
    const deadline = Date.now() + o.timeoutMs
    for (;;) {
      const [info] = (await run([{ execute: 'query-migrate' }])) as [MigrateInfo]
      if (info.status === 'completed') break
      if (info.status === 'failed' || info.status === 'cancelled') throw new Error(info['error-desc'] ?? `migration ${info.status}`)
      if (Date.now() > deadline) {
        await run([{ execute: 'migrate_cancel' }]).catch(() => undefined)
        throw new Error(`not written within ${Math.round(o.timeoutMs / 1000)} s`)
      }
      o.signal.throwIfAborted()
      await sleep(o.pollMs)
    }
    await rename(tmp, f.state)
    const full: SavedStateRecord = { ...record, savedAt: new Date().toISOString() }
    await writeFileAtomic(f.record, `${JSON.stringify(full, null, 2)}\n`, 0o600)
  } catch (e) {
    await discardState(f)
    // The guest was only paused: let it carry on as it was.
    await run([{ execute: 'cont' }]).catch(() => undefined)
    throw e
  }
}

/**
 * Feed the saved state to a QEMU launched with `-incoming defer`; resolves once the guest runs
 * again (loaded, the VM is paused as it was saved: `cont` runs it). A state QEMU cannot load makes it exit: that,
 * or a load that does not finish in time, rejects.
 */
export async function loadState(qmp: QmpEndpoint, f: StateFiles, o: { timeoutMs: number; pollMs: number; alive: () => Promise<boolean>; signal: AbortSignal }): Promise<void> {
  await qmpExecute(qmp, [{ execute: 'migrate-incoming', arguments: { uri: `exec:cat ${shq(f.state)}` } }], 10_000)
  const deadline = Date.now() + o.timeoutMs
  for (;;) {
    let status = ''
    try {
      const [r] = await qmpExecute(qmp, [{ execute: 'query-status' }], 10_000)
      status = String((r as { status?: unknown }).status ?? '')
    } catch (e) {
      if (!(await o.alive())) throw new Error('QEMU could not load it and exited')
      throw e
    }
    if (status === 'running') return
    // The stream says the VM was paused (saveState stops it before writing): run it.
    if (status === 'paused') {
      await qmpExecute(qmp, [{ execute: 'cont' }], 10_000)
      continue
    }
    if (status !== 'inmigrate' && status !== 'prelaunch' && status !== 'restore-vm') throw new Error(`QEMU is in state "${status}" after loading it`)
    if (Date.now() > deadline) throw new Error(`not loaded within ${Math.round(o.timeoutMs / 1000)} s`)
    o.signal.throwIfAborted()
    await sleep(o.pollMs)
  }
}
