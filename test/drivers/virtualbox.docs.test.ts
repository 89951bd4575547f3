/**
 * docs/drivers/virtualbox.md keeps in step with the driver's options: its flags table has a row
 * for every option, with the option's environment variable and (for plain values) its default,
 * and no row for a flag the driver does not have.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DriverDefinition } from '../../src/driver-kit/contract.js'
import virtualbox from '../../drivers/virtualbox/index.js'
import { ROOT } from '../helpers/cli.js'

const definition: DriverDefinition = virtualbox
const doc = readFileSync(join(ROOT, 'docs', 'drivers', 'virtualbox.md'), 'utf8')
/** Flag → [env var, default] cells of the Flags table. */
const rows = new Map(
  [...doc.matchAll(/^\| `(--virtualbox-[a-z0-9-]+)` \| `([A-Z0-9_]+)` \| ([^|]*) \|/gm)].map((m) => [m[1]!, { env: m[2]!, dflt: m[3]!.trim() }]),
)

describe('docs/drivers/virtualbox.md', () => {
  it('has a row for every option with its env var and default, and none for a flag that does not exist', () => {
    const flags = definition.options.map((o) => `--virtualbox-${o.name}`)
    expect([...rows.keys()].sort()).toEqual([...flags].sort())
    for (const o of definition.options) {
      const row = rows.get(`--virtualbox-${o.name}`)!
      expect(row.env, o.name).toBe(o.env?.[0])
      if (typeof o.default === 'number' || (typeof o.default === 'string' && !o.default.includes('://'))) expect(row.dflt, o.name).toBe(`\`${o.default}\``)
      if (o.type === 'boolean') expect(row.dflt, o.name).toBe('off')
    }
  })
})
