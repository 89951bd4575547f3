/**
 * Turning what the Compute Engine API (through google-gax) throws into one line a user can act
 * on. Works on the plain fields of the error, so it needs no SDK import.
 */
import { MachineError } from '../../src/driver-kit/errors.js'

/** The fields of a google-gax GoogleError (REST transport) that tell failures apart. */
interface ApiErrorLike {
  message?: string
  /** gRPC status code (5 NOT_FOUND, 7 PERMISSION_DENIED, 8 RESOURCE_EXHAUSTED, 16 UNAUTHENTICATED…). */
  code?: number | string
  httpStatusCode?: number
  /** ErrorInfo reason, when the API sends one (RATE_LIMIT_EXCEEDED, SERVICE_DISABLED…). */
  reason?: string
}

export type ErrorClass = 'auth' | 'permission' | 'api-disabled' | 'quota' | 'throttled' | 'not-found' | 'conflict' | 'unavailable' | 'other'

const GRPC = { NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16 }

/** HTTP status of an API error (google-gax keeps it; older shapes only have the gRPC code). */
export function httpStatus(e: unknown): number | undefined {
  const x = e as ApiErrorLike
  if (typeof x?.httpStatusCode === 'number') return x.httpStatusCode
  switch (x?.code) {
    case GRPC.NOT_FOUND:
      return 404
    case GRPC.ALREADY_EXISTS:
      return 409
    case GRPC.PERMISSION_DENIED:
      return 403
    case GRPC.RESOURCE_EXHAUSTED:
      return 429
    case GRPC.UNAVAILABLE:
      return 503
    case GRPC.UNAUTHENTICATED:
      return 401
    default:
      return undefined
  }
}

/** First line of the message: API messages are one line, library ones sometimes are not. */
export const firstLine = (e: unknown): string => {
  const m = e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e) ? String((e as { message: unknown }).message) : String(e)
  return (m.split('\n').find((l) => l.trim()) ?? m).trim()
}

const RATE = /rate ?limit|per minute|per second|per 100 seconds|too many requests/i
const RESOURCE_QUOTA = /quota '[A-Z0-9_]+' exceeded/i

export function classify(e: unknown): ErrorClass {
  const x = e as ApiErrorLike
  const msg = firstLine(e)
  const status = httpStatus(e)
  const reason = String(x?.reason ?? '')
  // Credential-chain failures happen before any request is made.
  if (/could not load the default credentials|invalid_grant|invalid_client|unable to detect a project id|error:.*PEM|no key or keyfile set/i.test(msg)) return 'auth'
  if (status === 401) return 'auth'
  if (status === 429 || /^RATE_LIMIT_EXCEEDED$|rateLimitExceeded/i.test(reason)) {
    // 429 is a per-minute request limit; "Quota 'CPUS' exceeded" is a resource quota that waiting won't fix.
    return RESOURCE_QUOTA.test(msg) ? 'quota' : 'throttled'
  }
  if (status === 403) {
    if (RATE.test(msg) && !RESOURCE_QUOTA.test(msg)) return 'throttled'
    if (reason === 'SERVICE_DISABLED' || /has not been used in project|is disabled|accessNotConfigured/i.test(msg)) return 'api-disabled'
    if (/quota/i.test(msg)) return 'quota'
    return 'permission'
  }
  if (status === 404) return 'not-found'
  if (status === 409) return 'conflict'
  if (status === 503 || status === 502 || status === 500) return 'unavailable'
  return 'other'
}

/** Throttling and transient server errors are retried (with a request id, so retries cannot double-create). */
export const isRetryable = (e: unknown): boolean => ['throttled', 'unavailable'].includes(classify(e))
export const isNotFound = (e: unknown): boolean => classify(e) === 'not-found'

const ROLES_HINT = 'the account needs roles/compute.instanceAdmin.v1, roles/compute.securityAdmin and roles/iam.serviceAccountUser (see docs/drivers/google.md)'

/** A MachineError with a stable code, one line, and what to do about it. */
export function toMachineError(e: unknown, what: string, project: string): MachineError {
  if (e instanceof MachineError) return e
  const msg = firstLine(e)
  const line = `${what}: ${msg}`
  switch (classify(e)) {
    case 'auth':
      return new MachineError('google-credentials', `Google Cloud credentials were rejected or not found (${line})`, {
        hint: 'run "gcloud auth application-default login", or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file',
        cause: e,
      })
    case 'permission':
      return new MachineError('google-permission', `Permission denied in project ${project} (${line})`, { hint: ROLES_HINT, cause: e })
    case 'api-disabled':
      return new MachineError('google-api-disabled', `The Compute Engine API is not enabled for project ${project} (${line})`, {
        hint: `run "gcloud services enable compute.googleapis.com --project ${project}"`,
        cause: e,
      })
    case 'quota':
      return new MachineError('google-quota', `Quota exceeded in project ${project} (${line})`, {
        hint: 'free resources, choose a smaller --google-machine-type or another --google-zone, or request more quota in the console (IAM & Admin > Quotas)',
        cause: e,
      })
    case 'throttled':
      return new MachineError('google-throttled', `Compute Engine kept throttling requests (${line})`, { hint: 'wait a minute and retry', cause: e })
    case 'not-found':
      return new MachineError('google-not-found', `Not found (${line})`, { cause: e })
    default:
      return new MachineError('google-api', `Compute Engine error (${line})`, { cause: e })
  }
}

/** A DONE operation's error, as GCE reports it (`error.errors[].code/message`). */
export interface OperationErrorLike {
  error?: { errors?: Array<{ code?: string | null; message?: string | null }> | null } | null
  httpErrorStatusCode?: number | null
  httpErrorMessage?: string | null
}

export function operationError(op: OperationErrorLike, what: string, project: string): MachineError | undefined {
  const errs = op.error?.errors ?? []
  if (!errs.length) return undefined
  const first = errs[0]!
  const code = first.code ?? ''
  const line = `${what}: ${first.message ?? code}${errs.length > 1 ? ` (+${errs.length - 1} more)` : ''}`
  if (/QUOTA_EXCEEDED/.test(code)) {
    return new MachineError('google-quota', `Quota exceeded in project ${project} (${line})`, {
      hint: 'free resources, choose a smaller --google-machine-type or another --google-zone, or request more quota in the console (IAM & Admin > Quotas)',
    })
  }
  if (/RESOURCE_POOL_EXHAUSTED|STOCKOUT|RESOURCE_NOT_AVAILABLE/.test(code)) {
    return new MachineError('google-capacity', `The zone has no capacity for this machine type right now (${line})`, {
      hint: 'try another --google-zone or --google-machine-type, or retry later',
    })
  }
  if (/PERMISSION|FORBIDDEN/.test(code) || op.httpErrorStatusCode === 403) {
    return new MachineError('google-permission', `Permission denied in project ${project} (${line})`, { hint: ROLES_HINT })
  }
  if (/NOT_FOUND/.test(code) || op.httpErrorStatusCode === 404) return new MachineError('google-not-found', `Not found (${line})`)
  return new MachineError('google-operation', `Compute Engine operation failed (${line} [${code}])`)
}
