/**
 * `machine prune`: what this tool made in a cloud account that no machine of this store owns, and
 * its deletion through each driver's own remove(journal), the code `rm` runs.
 *
 * Ownership: every create tags (labels) what it makes with the machine's id, which the machine's
 * config.json records as Driver.MachineId (and its journal.json while the create runs). A resource
 * is owned when a machine of THIS store records its id. A resource no machine owns is a leak of
 * this store when its machine-store tag is this store's mark (driver-kit/store-marker.ts: a crash,
 * an `rm -f`, a store deleted and made again at the same place); otherwise it is another store's
 * (another computer's, a store elsewhere, or made before stores were marked), which prune lists
 * but deletes only when asked to (--all-stores): nothing in the cloud tells a deleted store's
 * machines from another computer's live ones.
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Config } from '@oclif/core'
import { MachineError, messageOf } from '../core/errors.js'
import type { DriverDefinition, DriverModule, TaggedResource } from '../driver-kit/contract.js'
import { MemoryJournal } from '../driver-kit/memory-journal.js'
import { escapeControl, resolveOptions, type ResolvedOptions } from '../driver-kit/options.js'
import { storeMarker } from '../driver-kit/store-marker.js'
import { BUILTIN_DRIVERS } from '../registry/builtin.js'
import { getDriverDefinition, loadDriverModule } from '../registry/index.js'
import { FileJournal } from '../store/journal.js'
import type { Store } from '../store/store.js'
import type { Reporter } from './reporter.js'

export interface Leak extends TaggedResource {
  driver: string
  /** Made from this store (its machine-store tag is this store's mark): a leak of ours, deleted by default. */
  ours: boolean
}

/** What one cloud driver found, and what it needs to delete it. */
interface DriverScan {
  def: DriverDefinition
  mod: DriverModule
  options: ResolvedOptions['values']
  leaks: Leak[]
}

export interface PruneScan {
  leaks: Leak[]
  /** Tagged resources a machine of this store owns (left alone). */
  owned: number
  /** Drivers asked. */
  drivers: string[]
  /** One line per driver that could not list (the others' findings stand). */
  problems: string[]
  scans: DriverScan[]
}

export interface ScanInput {
  /** -d: these drivers only; otherwise every built-in cloud driver whose credentials are configured here. */
  drivers?: string[]
  /** The drivers' flags as given (--amazonec2-region…), resolved as create resolves them. */
  flags: Record<string, unknown>
  env: NodeJS.ProcessEnv
  config?: Config
  signal: AbortSignal
  reporter: Reporter
}

/** The cloud drivers to ask: the named ones (each must be able to list), else the configured built-ins. */
async function driversToAsk(o: ScanInput): Promise<DriverDefinition[]> {
  const clouds = (await Promise.all(Object.values(BUILTIN_DRIVERS).map((load) => load()))).filter((d) => d.prune)
  if (o.drivers?.length) {
    const defs = await Promise.all([...new Set(o.drivers)].map((d) => getDriverDefinition(d, o.config)))
    for (const d of defs) {
      if (!d.prune) throw new MachineError('not-supported', `The ${d.name} driver makes nothing in a cloud account: prune has nothing to list`, { hint: `pass -d with one of ${clouds.map((c) => c.name).join(', ')}` })
    }
    return defs
  }
  return clouds.filter((d) => d.prune?.configured(o.env))
}

/**
 * The machine ids this store records (config.json, and the journals: a create records the id
 * there before it makes anything), and the names of entries whose config.json records no id yet
 * or cannot be read (a create still running, a broken file): a resource tagged with such a name is
 * treated as theirs, never deleted on a guess.
 */
export async function storeOwnership(store: Store): Promise<{ ids: Set<string>; protectedNames: Set<string> }> {
  const ids = new Set<string>()
  const protectedNames = new Set<string>()
  for (const name of await store.names()) {
    let saved = false
    try {
      const id = (await store.load(name, { incomplete: true, listed: true })).Driver.MachineId
      if (typeof id === 'string' && id) {
        ids.add(id)
        saved = true
      }
    } catch {
      // Not saved yet, or unreadable: its name protects it (below).
    }
    try {
      for (const e of (await FileJournal.open(store.dir(name))).entries()) {
        const id = e.data?.machineId
        if (typeof id === 'string' && id) ids.add(id)
      }
    } catch {
      // A corrupt journal: the name protects it if config.json does not say.
    }
    if (!saved) protectedNames.add(name)
  }
  return { ids, protectedNames }
}

export async function scanForLeaks(store: Store, o: ScanInput): Promise<PruneScan> {
  const defs = await driversToAsk(o)
  const { ids, protectedNames } = await storeOwnership(store)
  const mark = storeMarker(store.path)
  const out: PruneScan = { leaks: [], owned: 0, drivers: defs.map((d) => d.name), problems: [], scans: [] }
  const log = { info: (l: string) => o.reporter.debug(l), debug: (l: string) => o.reporter.debug(l) }
  await Promise.all(
    defs.map(async (def) => {
      try {
        const options = resolveOptions(def.name, def.options, o.flags, o.env).values
        const mod = await loadDriverModule(def)
        if (!mod.listResources) throw new MachineError('not-supported', `The ${def.name} driver cannot list what it made`)
        const found = await mod.listResources({ options, env: o.env, signal: o.signal, log })
        const leaks: Leak[] = []
        for (const r of found) {
          if (ids.has(r.machineId) || (r.machineName && protectedNames.has(r.machineName))) out.owned++
          else leaks.push({ ...r, driver: def.name, ours: r.store === mark })
        }
        out.scans.push({ def, mod, options, leaks })
      } catch (e) {
        // With -d the user asked for this cloud: its failure is the command's. Otherwise one line, the others go on.
        if (o.drivers?.length && defs.length === 1) throw e
        out.problems.push(`${def.name}: ${messageOf(e)}`)
      }
    }),
  )
  // The table in a stable order: by driver as asked, each in its listing's (creation) order.
  out.scans.sort((a, b) => out.drivers.indexOf(a.def.name) - out.drivers.indexOf(b.def.name))
  out.leaks = out.scans.flatMap((s) => s.leaks)
  return out
}

export interface PruneOutcome {
  deleted: Leak[]
  /** One line per machine whose resources could not all be deleted. */
  failures: string[]
  /** The resources those failures left. */
  left: Leak[]
}

/**
 * Delete the leaks, machine by machine: its resources become the journal its create would have
 * written, and the driver's remove() deletes them as `rm` does (the instance before its group,
 * disk, NIC, IP…; a shared resource others still use kept). A machine whose removal fails is one
 * line; the others go on.
 */
export async function deleteLeaks(
  store: Store,
  scan: PruneScan,
  o: { env: NodeJS.ProcessEnv; signal: AbortSignal; reporter: Reporter; include: (l: Leak) => boolean },
): Promise<PruneOutcome> {
  const out: PruneOutcome = { deleted: [], failures: [], left: [] }
  for (const s of scan.scans) {
    const byMachine = new Map<string, Leak[]>()
    for (const l of s.leaks.filter(o.include)) byMachine.set(l.machineId, [...(byMachine.get(l.machineId) ?? []), l])
    for (const [machineId, leaks] of byMachine) {
      const journal = new MemoryJournal()
      for (const l of leaks) await journal.record(l.entry)
      const machineName = escapeControl(leaks.find((l) => l.machineName)?.machineName ?? 'unnamed')
      const who = `${s.def.name} machine ${machineName} (id ${escapeControl(machineId) || 'none'})`
      const ctx = {
        machineName,
        storePath: store.path,
        // Never written by remove(); a path no store entry has, for a driver that names it (not
        // built from the cloud's tags, which anyone with access to the account may have written).
        machineDir: join(tmpdir(), 'machine-prune-no-machine-dir'),
        config: { MachineId: machineId },
        options: s.options,
        log: { info: (l: string) => o.reporter.info(`${machineName}: ${l}`), debug: (l: string) => o.reporter.debug(`${machineName}: ${l}`) },
        signal: o.signal,
        env: o.env,
      }
      try {
        await s.mod.createDriver(ctx).remove(journal)
      } catch (e) {
        out.failures.push(`${who}: ${messageOf(e)}`)
      }
      const remaining = journal.entries()
      for (const l of leaks) {
        if (remaining.some((e) => e.kind === l.entry.kind && e.id === l.entry.id)) out.left.push(l)
        else out.deleted.push(l)
      }
    }
  }
  return out
}

/** "3d", "5h", "12m": how long ago `iso` was, for the table; '' when unknown. */
export function ageOf(iso: string | undefined, now = Date.now()): string {
  if (!iso) return ''
  const ms = now - Date.parse(iso)
  if (!Number.isFinite(ms)) return ''
  const m = Math.max(0, Math.floor(ms / 60_000))
  if (m < 60) return `${m}m`
  if (m < 48 * 60) return `${Math.floor(m / 60)}h`
  return `${Math.floor(m / 1440)}d`
}
