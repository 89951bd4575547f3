import nock from 'nock'
import { beforeAll, expect } from 'vitest'

/** Every interceptor a cloud test arranged was used, and no request went unmatched. */
export function expectMockDone(m: { readonly unmatched: string[]; pending(): string[] }): void {
  expect(m.unmatched).toEqual([])
  expect(m.pending()).toEqual([])
  expect(nock.isDone()).toBe(true)
}

/** Refuses, for the whole file, every connection but to loopback: a request no interceptor matches fails instead of reaching a cloud. */
export function onlyLoopback(): void {
  beforeAll(() => {
    nock.disableNetConnect()
    nock.enableNetConnect('127.0.0.1')
  })
}
