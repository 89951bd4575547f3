import nock from 'nock'
import { expect } from 'vitest'

/** Every interceptor a cloud test arranged was used, and no request went unmatched. */
export function expectMockDone(m: { readonly unmatched: string[]; pending(): string[] }): void {
  expect(m.unmatched).toEqual([])
  expect(m.pending()).toEqual([])
  expect(nock.isDone()).toBe(true)
}
