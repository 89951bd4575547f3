import { MachineError } from '../../src/driver-kit/errors.js'

/**
 * Turn an AWS SDK error into a one-line MachineError that says what failed and what to do.
 * Duck-typed on the SDK error's `name` (EC2's error code) so this module needs no SDK import.
 */

const AUTH = new Set([
  'AuthFailure',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'ExpiredToken',
  'RequestExpired',
  'MissingAuthenticationToken',
])
const NOT_ALLOWED = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'OptInRequired', 'Blocked', 'PendingVerification'])
const CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacityOnOutpost',
  'InsufficientFreeAddressesInSubnet',
  'SpotMaxPriceTooLow',
  'Unsupported',
])
const QUOTA = new Set([
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'MaxSpotInstanceCountExceeded',
  'SecurityGroupLimitExceeded',
  'RulesPerSecurityGroupLimitExceeded',
  'KeyPairLimitExceeded',
  'ResourceLimitExceeded',
  'VolumeLimitExceeded',
  'MaxIOPSLimitExceeded',
])
const THROTTLED = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'EC2ThrottledException'])

/** Errors the SDK would class as retryable (5xx) that retrying immediately cannot fix. */
export const NOT_RETRYABLE = new Set([...CAPACITY])

const CREDENTIAL_HINT =
  'give credentials with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE or --amazonec2-profile), ' +
  'or --amazonec2-access-key and --amazonec2-secret-key'

export const awsCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string' ? (e as { name: string }).name : undefined

export const isNotFound = (e: unknown): boolean => /NotFound$|Malformed$|^InvalidInstanceType$/.test(awsCode(e) ?? '')

/** First sentence of an AWS message, on one line; drops the long encoded authorization blob. */
function tidy(message: string): string {
  return message
    .replace(/\s*Encoded authorization failure message:.*$/s, '')
    .replace(/\s+/g, ' ')
    .trim()
}

export function toMachineError(e: unknown, operation: string, signal?: AbortSignal): Error {
  if (e instanceof MachineError) return e
  const code = awsCode(e) ?? 'Error'
  const msg = tidy(e instanceof Error ? e.message : String(e))
  if (signal?.aborted || code === 'AbortError') {
    return new MachineError('aborted', `EC2 ${operation} was interrupted`, { cause: e })
  }
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(msg)) {
    return new MachineError('aws-credentials', 'no AWS credentials found', { hint: CREDENTIAL_HINT, cause: e })
  }
  if (AUTH.has(code)) {
    return new MachineError('aws-auth', `AWS rejected the credentials (${code}): ${msg}`, { hint: CREDENTIAL_HINT, cause: e })
  }
  if (NOT_ALLOWED.has(code)) {
    return new MachineError('aws-permission', `not allowed to call ec2:${operation} (${code}): ${msg}`, {
      hint: 'grant the permissions listed in docs/drivers/amazonec2.md to this identity',
      cause: e,
    })
  }
  if (CAPACITY.has(code)) {
    return new MachineError('aws-capacity', `EC2 ${operation} failed (${code}): ${msg}`, {
      hint: 'try another zone (--amazonec2-zone), another instance type (--amazonec2-instance-type) or later',
      cause: e,
    })
  }
  if (QUOTA.has(code)) {
    return new MachineError('aws-quota', `EC2 ${operation} failed, account limit reached (${code}): ${msg}`, {
      hint: 'remove unused resources or ask for a higher limit in the Service Quotas console',
      cause: e,
    })
  }
  if (THROTTLED.has(code)) {
    return new MachineError('aws-throttled', `EC2 ${operation} was throttled and retries ran out (${code}): ${msg}`, {
      hint: 'wait a minute and try again, or raise --amazonec2-retries',
      cause: e,
    })
  }
  if (isNotFound(e)) {
    return new MachineError('aws-not-found', `EC2 ${operation} failed (${code}): ${msg}`, {
      hint: 'check the id and the region (--amazonec2-region)',
      cause: e,
    })
  }
  return new MachineError('aws-error', `EC2 ${operation} failed (${code}): ${msg}`, { cause: e })
}

/** EC2's error code, also of an error client.ts wrapped in a MachineError (as its cause). */
export const codeOf = (e: unknown): string | undefined => (e instanceof MachineError ? awsCode(e.cause) : awsCode(e))

/** A NotFound-like EC2 error, also wrapped in a MachineError. */
export const isGone = (e: unknown): boolean => isNotFound(e instanceof MachineError ? e.cause : e)
