import { describe, expect, it } from 'vitest'
import { errorLine } from '../helpers/errors.js'
import { naturalCompare, nearest, validateMachineName } from '../../src/core/names.js'

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
  it('orders names naturally: numbers by value, letters ignoring case, then byte order', () => {
    const names = ['m10', 'web', 'M2', 'm2', 'a', 'm1', 'm02', 'b-1', 'm', 'm1.5', 'm1.10', 'node99999999999999999999', 'node100000000000000000000']
    expect([...names].sort(naturalCompare)).toEqual([
      'a', 'b-1', 'm', 'm1', 'm1.5', 'm1.10', 'M2', 'm02', 'm2', 'm10', 'node99999999999999999999', 'node100000000000000000000', 'web',
    ])
    expect(naturalCompare('x', 'x')).toBe(0)
  })
})
