import { Flags } from '@oclif/core'
import type { FlagSpecs } from './flag-spec.js'

/** oclif flags from plain flag declarations (see flag-spec.ts). */
export function oclifFlags(specs: FlagSpecs): Record<string, any> {
  const out: Record<string, any> = {}
  for (const [name, s] of Object.entries(specs)) {
    const common = {
      description: s.description,
      ...(s.char ? { char: s.char as 'a' } : {}),
      ...(s.env ? { env: s.env } : {}),
      ...(s.helpGroup ? { helpGroup: s.helpGroup } : {}),
    }
    if (s.type === 'boolean') out[name] = Flags.boolean(common)
    else if (s.type === 'integer') out[name] = s.default !== undefined ? Flags.integer({ ...common, default: Number(s.default) }) : Flags.integer(common)
    else if (s.multiple) out[name] = Flags.string({ ...common, multiple: true, multipleNonGreedy: true })
    else out[name] = s.default !== undefined ? Flags.string({ ...common, default: String(s.default) }) : Flags.string(common)
  }
  return out
}
