import { MachineError } from './errors.js'
import { naturalCompare } from './names.js'

/** One row of `machine ls`, with docker-machine's template field names. */
export interface LsRow {
  Name: string
  Active: string
  ActiveHost: boolean
  ActiveSwarm: boolean
  DriverName: string
  State: string
  URL: string
  Swarm: string
  DockerVersion: string
  Error: string
  ResponseTime: string
  SwarmOptions: string
  EngineOptions: string
  /** Not a template field: engine labels, for --filter label=. */
  labels: string[]
  /** Not a template field: set when the config failed to load (row survives filters). */
  loadError?: boolean
}

export const DEFAULT_LS_FORMAT = 'table {{.Name}}\t{{.Active}}\t{{.DriverName}}\t{{.State}}\t{{.URL}}\t{{.Swarm}}\t{{.DockerVersion}}\t{{.Error}}'

const HEADERS: Record<string, string> = {
  Name: 'NAME',
  Active: 'ACTIVE',
  ActiveHost: 'ACTIVE_HOST',
  ActiveSwarm: 'ACTIVE_SWARM',
  DriverName: 'DRIVER',
  State: 'STATE',
  URL: 'URL',
  Swarm: 'SWARM',
  DockerVersion: 'DOCKER',
  Error: 'ERRORS',
  ResponseTime: 'RESPONSE',
  SwarmOptions: 'SWARM_OPTIONS',
  EngineOptions: 'ENGINE_OPTIONS',
}

const FIELD = /\{\{\s*\.([A-Za-z]+)\s*\}\}/g

/** Compile a Go-template-style format: `{{.Field}}` placeholders, `table` prefix, literal \t and \n. */
export function compileFormat(format: string): { table: boolean; render: (row: LsRow) => string; header: string } {
  let f = format
  const table = /^table\s/.test(f) || f === 'table'
  if (table) f = f.replace(/^table\s*/, '')
  f = f.replace(/\\t/g, '\t').replace(/\\n/g, '\n')
  const stripped = f.replace(FIELD, '')
  if (/\{\{|\}\}/.test(stripped)) {
    throw new MachineError('invalid-format', `Unsupported --format template "${format}"`, {
      hint: 'use fields like {{.Name}} {{.State}} {{.URL}}, optionally after "table"',
    })
  }
  for (const m of f.matchAll(FIELD)) {
    if (!(m[1]! in HEADERS)) {
      throw new MachineError('invalid-format', `Unknown --format field "${m[1]}"`, {
        hint: `use one of ${Object.keys(HEADERS).join(', ')}`,
      })
    }
  }
  const render = (row: LsRow) => f.replace(FIELD, (_, k: string) => String(row[k as keyof LsRow] ?? ''))
  const header = f.replace(FIELD, (_, k: string) => HEADERS[k]!)
  return { table, render, header }
}

/**
 * Go text/tabwriter with docker-machine's settings (minwidth 5, tabwidth 1, padding 3, spaces):
 * each tab-terminated cell is padded to its column's width; the text after the last tab is not.
 */
export function tabwrite(lines: string[], minwidth = 5, padding = 3): string {
  const rows = lines.map((l) => l.split('\t'))
  const widths: number[] = []
  for (const cells of rows) {
    cells.slice(0, -1).forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? minwidth, [...c].length + padding)
    })
  }
  return rows
    .map((cells) => cells.map((c, i) => (i < cells.length - 1 ? c + ' '.repeat(widths[i]! - [...c].length) : c)).join(''))
    .join('\n')
}

export function renderLs(rows: LsRow[], format = DEFAULT_LS_FORMAT): string {
  const { table, render, header } = compileFormat(format)
  const lines = rows.map(render)
  if (!table) return lines.map((l) => `${l}\n`).join('')
  return `${tabwrite([header, ...lines])}\n`
}

export type LsFilters = Record<'driver' | 'state' | 'name' | 'label' | 'swarm', string[]>

export function parseFilters(specs: readonly string[]): LsFilters {
  const f: LsFilters = { driver: [], state: [], name: [], label: [], swarm: [] }
  for (const spec of specs) {
    const eq = spec.indexOf('=')
    if (eq <= 0) throw new MachineError('invalid-filter', `Unsupported filter syntax "${spec}"`, { hint: 'use --filter key=value' })
    const key = spec.slice(0, eq).toLowerCase()
    const value = spec.slice(eq + 1)
    if (!(key in f)) {
      throw new MachineError('invalid-filter', `Unsupported filter key '${key}'`, { hint: 'use driver, state, name, label or swarm' })
    }
    if (key === 'name') {
      try {
        new RegExp(value)
      } catch {
        throw new MachineError('invalid-filter', `Invalid regular expression in --filter name=${value}`)
      }
    }
    f[key as keyof LsFilters].push(value)
  }
  return f
}

/** Values of one key OR together; different keys AND. Rows whose config failed to load always pass. */
export function matchesFilters(row: LsRow, f: LsFilters): boolean {
  if (row.loadError) return true
  const any = (vals: string[], test: (v: string) => boolean) => vals.length === 0 || vals.some(test)
  return (
    any(f.driver, (v) => v.toLowerCase() === row.DriverName.toLowerCase()) &&
    any(f.state, (v) => v.toLowerCase() === row.State.toLowerCase()) &&
    any(f.name, (v) => new RegExp(v).test(row.Name)) &&
    any(f.swarm, (v) => row.Swarm.replace(/ \(master\)$/, '') === v) &&
    any(f.label, (v) => {
      const [k, val = ''] = v.split(/=(.*)/s)
      return row.labels.some((l) => {
        const [lk, lv = ''] = l.split(/=(.*)/s)
        return lk === k && lv.toLowerCase() === val.toLowerCase()
      })
    })
  )
}

export const sortRows = (rows: LsRow[]): LsRow[] => [...rows].sort((a, b) => naturalCompare(a.Name, b.Name))

/** Go-style duration text for ResponseTime ("7ms", "1.5s"). */
export function goDuration(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`
  if (ms < 1000) return `${Math.round(ms)}ms`
  return `${+(ms / 1000).toFixed(3)}s`
}
