import { MachineError } from './errors.js'
import { evaluate, parseTableFormat } from './go-template.js'
import type { LsRow } from './ls-row.js'
import { naturalCompare } from './names.js'

export type { LsRow } from './ls-row.js'

export const DEFAULT_LS_FORMAT = 'table {{.Name}}\t{{.Active}}\t{{.DriverName}}\t{{.State}}\t{{.URL}}\t{{.Swarm}}\t{{.DockerVersion}}\t{{.Error}}'

const HEADERS: Record<string, string> = {
  Name: 'NAME',
  Active: 'ACTIVE',
  ActiveHost: 'ACTIVE_HOST',
  ActiveSwarm: 'ACTIVE_SWARM',
  DriverName: 'DRIVER',
  Arch: 'ARCH',
  State: 'STATE',
  URL: 'URL',
  Swarm: 'SWARM',
  DockerVersion: 'DOCKER',
  Error: 'ERRORS',
  ResponseTime: 'RESPONSE',
  SwarmOptions: 'SWARM_OPTIONS',
  EngineOptions: 'ENGINE_OPTIONS',
}

/** Compile an ls format (core/go-template.ts): `{{.Field}}` of a row, `table` for a header, \t and \n. */
export function compileFormat(format: string): { table: boolean; render: (row: LsRow) => string; header: string } {
  const { table, template } = parseTableFormat(format)
  // A row's fields are flat strings: no paths into them, no json.
  if (!template || template.actions.some((a) => a.fn || a.path.length !== 1)) {
    throw new MachineError('invalid-format', `Unsupported --format template "${format}"`, {
      hint: 'use fields like {{.Name}} {{.State}} {{.URL}}, optionally after "table"',
    })
  }
  for (const a of template.actions) {
    if (!Object.hasOwn(HEADERS, a.path[0]!)) {
      throw new MachineError('invalid-format', `Unknown --format field "${a.path[0]}"`, {
        hint: `use one of ${Object.keys(HEADERS).join(', ')}`,
      })
    }
  }
  const render = (row: LsRow) => template.map((a) => evaluate(a, row)!.value)
  const header = template.map((a) => HEADERS[a.path[0]!]!)
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
