import { Flags, type Interfaces } from '@oclif/core'
import type { FlagSpec, FlagSpecs } from './flag-spec.js'

/** The oclif flag a declaration becomes, typed so a command's parsed flags are its FlagValues. */
type OclifFlag<S extends FlagSpec> = S['type'] extends 'boolean'
  ? Interfaces.BooleanFlag<boolean>
  : S['type'] extends 'integer'
    ? Interfaces.OptionFlag<S['default'] extends number ? number : number | undefined>
    : S['multiple'] extends true
      ? Interfaces.OptionFlag<string[] | undefined>
      : Interfaces.OptionFlag<string | undefined>

/** oclif flags from plain flag declarations (see flag-spec.ts). */
export function oclifFlags<S extends FlagSpecs>(specs: S): { [K in keyof S]: OclifFlag<S[K]> } {
  const out: Record<string, unknown> = {}
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
  return out as { [K in keyof S]: OclifFlag<S[K]> }
}
