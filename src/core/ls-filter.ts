/**
 * `ls --filter` and `ls --timeout` (core/timeout-flag.ts): parsed and checked once, for both the
 * oclif command and the fast path (src/fast/run.ts), so a bad value is the same one-line error
 * on either. Filters on
 * what the saved config says (name, driver, label, swarm) are applied before any machine is
 * probed: `ls --filter name=web1` over a store of a hundred machines contacts one.
 */
import { MachineStates } from './state.js'
import { MachineError } from './errors.js'
import { checkTimeoutFlag } from './timeout-flag.js'
import { swarmColumn } from './swarm-cluster.js'
import type { LsRow } from './ls-row.js'
import type { LoadedEntry } from '../store/store.js'

export type LsFilters = Record<'driver' | 'state' | 'name' | 'label' | 'swarm', string[]>

export const LS_FILTER_KEYS = ['driver', 'state', 'name', 'label', 'swarm'] as const
const KEYS = LS_FILTER_KEYS

export function parseFilters(specs: readonly string[]): LsFilters {
  const f: LsFilters = { driver: [], state: [], name: [], label: [], swarm: [] }
  for (const spec of specs) {
    const eq = spec.indexOf('=')
    if (eq <= 0) throw new MachineError('invalid-filter', `Unsupported filter syntax "${spec}"`, { hint: `use --filter KEY=VALUE with KEY one of ${KEYS.join(', ')}` })
    const key = spec.slice(0, eq).toLowerCase()
    const value = spec.slice(eq + 1)
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new MachineError('invalid-filter', `Unsupported filter key '${key}'`, { hint: `use ${KEYS.slice(0, -1).join(', ')} or ${KEYS.at(-1)}` })
    }
    if (key === 'name') {
      try {
        new RegExp(value)
      } catch {
        throw new MachineError('invalid-filter', `Invalid regular expression in --filter name=${value}`, { hint: 'write a JavaScript regular expression, e.g. name=^web' })
      }
    }
    if (key === 'state' && !MachineStates.some((s) => s.toLowerCase() === value.toLowerCase())) {
      throw new MachineError('invalid-filter', `Unsupported state "${value}" in --filter state=${value}`, { hint: `use one of ${MachineStates.join(', ')}` })
    }
    f[key as keyof LsFilters].push(value)
  }
  return f
}

type Facts = Pick<LsRow, 'Name' | 'DriverName' | 'State' | 'Swarm' | 'labels'>

const any = (vals: string[], test: (v: string) => boolean): boolean => vals.length === 0 || vals.some(test)

const labelMatches = (labels: string[], v: string): boolean => {
  const [k, val = ''] = v.split(/=(.*)/s)
  return labels.some((l) => {
    const [lk, lv = ''] = l.split(/=(.*)/s)
    return lk === k && lv.toLowerCase() === val.toLowerCase()
  })
}

/** The filters that need only the saved config; `state` needs a probe. */
function matchesConfig(r: Facts, f: LsFilters): boolean {
  return (
    any(f.driver, (v) => v.toLowerCase() === r.DriverName.toLowerCase()) &&
    any(f.name, (v) => new RegExp(v).test(r.Name)) &&
    any(f.swarm, (v) => r.Swarm.replace(/ \(master\)$/, '') === v) &&
    any(f.label, (v) => labelMatches(r.labels, v))
  )
}

/** Values of one key OR together; different keys AND. Rows whose config failed to load always pass. */
export function matchesFilters(row: LsRow, f: LsFilters): boolean {
  if (row.loadError) return true
  return matchesConfig(row, f) && any(f.state, (v) => v.toLowerCase() === row.State.toLowerCase())
}

/**
 * The entries worth probing: those whose saved config passes the name, driver, label and swarm
 * filters (entries that failed to load are kept, as their rows survive every filter). The
 * listing applies all filters again to the probed rows, so this only ever removes work.
 */
export function filterBeforeProbe(entries: LoadedEntry[], f: LsFilters): LoadedEntry[] {
  // The SWARM column comes from the saved configs alone, as the row will show it.
  const swarm = f.swarm.length ? swarmColumn(entries.flatMap((e) => (e.host ? [e.host] : []))) : new Map<string, string>()
  return entries.filter(({ name, host, error }) => {
    if (error || !host) return true
    return matchesConfig({ Name: name, DriverName: host.DriverName, State: '', Swarm: swarm.get(name) ?? '', labels: host.HostOptions?.EngineOptions?.Labels ?? [] }, f)
  })
}

/** Both checks, before the store is read: what `ls` (either path) runs first. */
export function checkLsFlags(r: { filter?: string[]; timeout?: string | number }): { filters: LsFilters; timeout: number } {
  return { timeout: checkTimeoutFlag(r.timeout), filters: parseFilters(r.filter ?? []) }
}
