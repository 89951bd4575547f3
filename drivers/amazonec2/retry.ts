import { NOT_RETRYABLE } from './errors.js'

/**
 * The SDK's retry-strategy (v2) interface, written structurally so this module needs no SDK
 * import. The SDK's own retry middleware calls it: we only decide whether and how long to wait.
 *
 * Why not the SDK's standard strategy: its back-off base (100 ms / 500 ms for throttling) is not
 * adjustable without importing a transitive package, and it retries EC2 capacity errors (HTTP
 * 500) that an immediate retry cannot fix. This strategy retries throttling (RequestLimitExceeded),
 * transient and 5xx errors with full-jitter exponential back-off, up to --amazonec2-retries times.
 */
interface Token {
  getRetryCount(): number
  getRetryDelay(): number
}
interface ErrorInfo {
  errorType: 'TRANSIENT' | 'THROTTLING' | 'SERVER_ERROR' | 'CLIENT_ERROR'
  error?: { name?: string }
  retryAfterHint?: Date
}

const token = (count: number, delay: number): Token => ({ getRetryCount: () => count, getRetryDelay: () => delay })

export interface BackoffRetryStrategy {
  mode: string
  acquireInitialRetryToken(scope: string): Promise<Token>
  refreshRetryTokenForRetry(t: Token, info: ErrorInfo): Promise<Token>
  recordSuccess(t: Token): void
}

/**
 * @param maxRetries retries after the first attempt (docker-machine's --amazonec2-retries).
 * @param baseDelayMs first back-off; doubled per retry (×4 for throttling), capped at 20 s.
 */
export function backoffRetryStrategy(maxRetries: number, baseDelayMs: number, random: () => number = Math.random): BackoffRetryStrategy {
  return {
    mode: 'standard',
    async acquireInitialRetryToken() {
      return token(0, 0)
    },
    async refreshRetryTokenForRetry(t, info) {
      const n = t.getRetryCount()
      const retryable = info.errorType !== 'CLIENT_ERROR' && !NOT_RETRYABLE.has(info.error?.name ?? '')
      // Throwing tells the SDK middleware to give up and rethrow the original error.
      if (!retryable || n >= maxRetries) throw new Error('no more retries')
      const base = info.errorType === 'THROTTLING' ? baseDelayMs * 4 : baseDelayMs
      const ceiling = Math.min(20_000, base * 2 ** n)
      let delay = Math.round(ceiling * (0.5 + random() / 2))
      const hinted = info.retryAfterHint ? info.retryAfterHint.getTime() - Date.now() : 0
      if (hinted > delay) delay = Math.min(hinted, 20_000)
      return token(n + 1, delay)
    },
    recordSuccess() {},
  }
}
