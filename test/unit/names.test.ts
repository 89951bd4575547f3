import { describe, expect, it } from 'vitest'
import { errorLine } from '../helpers/errors.js'
import { nearest, validateMachineName } from '../../src/core/names.js'

describe('machine names', () => {
  it('accepts docker-machine valid names', () => {
    for (const n of ['a', 'web1', 'my.host-2', '9lives']) expect(() => validateMachineName(n)).not.toThrow()
  })
  it('rejects invalid names with the rule in the message', () => {
    const lineOf = (n: string) => errorLine(() => validateMachineName(n))
    for (const n of ['-a', '.a', 'a_b', 'a b', '', 'ünï', 'a/b']) expect(lineOf(n), n).toMatch(/^Invalid machine name ".*": use letters, digits/)
    expect(lineOf('a'.repeat(64))).toMatch(/at most 63/)
  })
  it('suggests the nearest driver name', () => {
    expect(nearest('amazon', ['none', 'generic', 'amazonec2', 'azure'])).toBe('amazonec2')
    expect(nearest('qemo', ['qemu', 'none'])).toBe('qemu')
    expect(nearest('zzzzzzzz', ['qemu', 'none'])).toBeUndefined()
  })
})
