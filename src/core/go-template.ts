import { MachineError } from './errors.js'

/**
 * The subset of Go templates `inspect --format` needs: `{{.A.B}}`, `{{json .A}}`,
 * `{{prettyjson .A}}`, over the config's JSON (so keys are the JSON names).
 */
export function renderGoTemplate(format: string, data: unknown): string {
  const out = format.replace(/\{\{\s*(?:(json|prettyjson)\s+)?(\.[A-Za-z0-9_.]*)\s*\}\}/g, (_, fn: string | undefined, path: string) => {
    let v: unknown = data
    for (const key of path.split('.').filter(Boolean)) {
      if (v === null || typeof v !== 'object' || !(key in (v as object))) {
        throw new MachineError('invalid-format', `Template field ${path} does not exist`, { hint: 'see "machine inspect NAME" for the field names' })
      }
      v = (v as Record<string, unknown>)[key]
    }
    if (fn === 'json') return JSON.stringify(v)
    if (fn === 'prettyjson') return JSON.stringify(v, null, 4)
    if (v === null || v === undefined) return '<no value>'
    if (typeof v === 'object') return Array.isArray(v) ? `[${v.join(' ')}]` : `map[${Object.entries(v).map(([k, x]) => `${k}:${String(x)}`).join(' ')}]`
    return String(v)
  })
  if (out.includes('{{')) {
    throw new MachineError('invalid-format', `Unsupported template in --format "${format}"`, { hint: 'use fields like {{.Driver.IPAddress}}, {{json .HostOptions}} or {{prettyjson .Driver}}' })
  }
  return out
}
