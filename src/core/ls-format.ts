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

// Filters live in ls-filter.ts (shared with the fast path); re-exported for existing importers.
export { matchesFilters, parseFilters, type LsFilters } from './ls-filter.js'

export const sortRows = (rows: LsRow[]): LsRow[] => [...rows].sort((a, b) => naturalCompare(a.Name, b.Name))

/** Go-style duration text for ResponseTime ("7ms", "1.5s"). */
export function goDuration(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`
  if (ms < 1000) return `${Math.round(ms)}ms`
  return `${+(ms / 1000).toFixed(3)}s`
}
