import { MachineError } from './errors.js'

/**
 * The subset of Go templates `machine` reads, for `inspect --format` and `ls --format`:
 * `{{.A.B}}` (`{{.}}` is the data itself), `{{json .A}}` and `{{prettyjson .A}}`, over plain data
 * (so keys are the JSON names). Anything else between braces is not a template we can run.
 */
export interface TemplateAction {
  fn?: 'json' | 'prettyjson'
  /** Keys from the data's root; empty for `{{.}}`. */
  path: string[]
  /** As written, for messages: `.Driver.IPAddress`. */
  text: string
}

export interface GoTemplate {
  /** Literal text and actions, in order. */
  parts: Array<string | TemplateAction>
  actions: TemplateAction[]
  /** The text with each action replaced by `value(action)`. */
  map(value: (a: TemplateAction) => string): string
}

const ACTION = /\{\{\s*(?:(json|prettyjson)\s+)?(\.[A-Za-z0-9_.]*)\s*\}\}/g

/** The template's parts, or undefined when it holds braces this subset does not read. */
export function parseGoTemplate(format: string): GoTemplate | undefined {
  const parts: Array<string | TemplateAction> = []
  let last = 0
  for (const m of format.matchAll(ACTION)) {
    parts.push(format.slice(last, m.index))
    parts.push({ ...(m[1] ? { fn: m[1] as 'json' | 'prettyjson' } : {}), path: m[2]!.split('.').filter(Boolean), text: m[2]! })
    last = m.index + m[0].length
  }
  parts.push(format.slice(last))
  // As in Go, only `{{` opens an action: a lone `}}` is text.
  if (parts.some((p) => typeof p === 'string' && p.includes('{{'))) return undefined
  const actions = parts.filter((p): p is TemplateAction => typeof p !== 'string')
  return { parts, actions, map: (value) => parts.map((p) => (typeof p === 'string' ? p : value(p))).join('') }
}

/**
 * A docker-style table format: `table` in front asks for a header line, and the two-character
 * escapes `\t` and `\n` are a tab and a newline (shells make typing real ones awkward).
 */
export function parseTableFormat(format: string): { table: boolean; template: GoTemplate | undefined } {
  const table = /^table\s/.test(format) || format === 'table'
  const body = (table ? format.replace(/^table\s*/, '') : format).replace(/\\t/g, '\t').replace(/\\n/g, '\n')
  return { table, template: parseGoTemplate(body) }
}

/** An action's value as Go's text/template prints it; undefined when a key is missing. */
export function evaluate(a: TemplateAction, data: unknown): { value: string } | undefined {
  let v: unknown = data
  for (const key of a.path) {
    if (v === null || typeof v !== 'object' || !(key in (v as object))) return undefined
    v = (v as Record<string, unknown>)[key]
  }
  if (a.fn === 'json') return { value: JSON.stringify(v) }
  if (a.fn === 'prettyjson') return { value: JSON.stringify(v, null, 4) }
  if (v === null || v === undefined) return { value: '<no value>' }
  if (typeof v === 'object') {
    return { value: Array.isArray(v) ? `[${v.join(' ')}]` : `map[${Object.entries(v).map(([k, x]) => `${k}:${String(x)}`).join(' ')}]` }
  }
  return { value: String(v) }
}

/** `inspect --format`: the template rendered over the machine's config. */
export function renderGoTemplate(format: string, data: unknown): string {
  const t = parseGoTemplate(format)
  if (!t) {
    throw new MachineError('invalid-format', `Unsupported template in --format "${format}"`, { hint: 'use fields like {{.Driver.IPAddress}}, {{json .HostOptions}} or {{prettyjson .Driver}}' })
  }
  return t.map((a) => {
    const r = evaluate(a, data)
    if (!r) throw new MachineError('invalid-format', `Template field ${a.text} does not exist`, { hint: 'see "machine inspect NAME" for the field names' })
    return r.value
  })
}
