/**
 * Azure failures as the driver reasons about them (status + ARM error code) and as the user sees
 * them (one MachineError line saying what failed and what to do). No SDK import: client.ts turns
 * SDK errors into AzureApiError, everything else works on that.
 */
import { MachineError } from '../../src/driver-kit/errors.js'

export class AzureApiError extends Error {
  /** HTTP status of the failing response; undefined for a failed long-running operation. */
  readonly status: number | undefined
  /** ARM error code ("ResourceNotFound", "SkuNotAvailable", …) or the credential error's name. */
  readonly code: string | undefined

  constructor(message: string, status: number | undefined, code: string | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'AzureApiError'
    this.status = status
    this.code = code
  }
}

/** The deadline of a long-running operation passed (ctx.signal aborts are not this). */
export class AzureTimeoutError extends Error {
  constructor(readonly what: string, readonly ms: number) {
    super(`timed out after ${duration(ms)} waiting for Azure to ${what}`)
    this.name = 'AzureTimeoutError'
  }
}

const duration = (ms: number): string =>
  ms < 1000 ? `${ms}ms` : ms < 120_000 ? `${Math.round(ms / 1000)}s` : `${Math.round(ms / 60_000)} minutes`

export const isApiError = (e: unknown): e is AzureApiError => e instanceof AzureApiError

export const isNotFound = (e: unknown): boolean =>
  isApiError(e) &&
  (e.status === 404 || ['ResourceNotFound', 'ResourceGroupNotFound', 'NotFound'].includes(e.code ?? ''))

export const hasCode = (e: unknown, ...codes: string[]): boolean => isApiError(e) && codes.includes(e.code ?? '')

const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
  'AuthenticationError',
  'AuthenticationRequiredError',
])
const AUTH_CODES = new Set([
  'InvalidAuthenticationToken',
  'ExpiredAuthenticationToken',
  'AuthenticationFailed',
  'InvalidAuthenticationTokenTenant',
  'InvalidAuthenticationTokenAudience',
])
const CAPACITY_CODES = new Set([
  'SkuNotAvailable',
  'AllocationFailed',
  'ZonalAllocationFailed',
  'OverconstrainedAllocationRequest',
  'OverconstrainedZonalAllocationRequest',
])
const NOT_FOUND_CODES = new Set([
  'ResourceNotFound',
  'ResourceGroupNotFound',
  'SubscriptionNotFound',
  'NotFound',
  'PlatformImageNotFound',
  'ImageNotFound',
  'GalleryImageNotFound',
  'InvalidSubscriptionId',
])

/** ARM messages can be long and multi-line; the user gets one line. */
export const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim()

const AUTH_HINT =
  'sign in with `az login` (or `az login --service-principal`), or pass --azure-client-id, --azure-client-secret and ' +
  '--azure-tenant-id (or set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID)'

/**
 * Turn whatever an Azure call threw into the one line the user sees. `what` says what the driver
 * was doing ("create virtual machine web1"); `s` supplies names for hints.
 */
export function toMachineError(
  e: unknown,
  what: string,
  s: { resourceGroup: string; size: string; location: string; subscriptionId: string },
): unknown {
  if (e instanceof MachineError) return e
  if (e instanceof AzureTimeoutError) {
    return new MachineError('timeout', e.message, {
      hint: `the operation may still finish: check resource group ${s.resourceGroup} in the Azure portal, then \`machine rm\` to clean up`,
      cause: e,
    })
  }
  if (!isApiError(e)) return e
  const code = e.code ?? ''
  const detail = oneLine(e.message)
  const msg = (text: string) => `could not ${what}: ${text}`

  if (CREDENTIAL_ERRORS.has(code)) {
    return new MachineError('auth-failed', msg(`no usable Azure credentials (${firstSentence(detail)})`), { hint: AUTH_HINT, cause: e })
  }
  if (e.status === 401 || AUTH_CODES.has(code)) {
    return new MachineError('auth-failed', msg(`Azure rejected the credentials (${code || 'HTTP 401'}: ${detail})`), {
      hint: AUTH_HINT,
      cause: e,
    })
  }
  if (code === 'AuthorizationFailed' || code === 'LinkedAuthorizationFailed' || e.status === 403) {
    const action = /perform action '([^']+)'/.exec(detail)?.[1]
    return new MachineError(
      'permission-denied',
      msg(`the signed-in identity is not allowed to ${action ? `perform ${action}` : 'do this'} (${code || 'HTTP 403'})`),
      {
        hint: `give it the Contributor role on resource group ${s.resourceGroup} (or the custom role in docs/drivers/azure.md); new role assignments can take a few minutes to apply`,
        cause: e,
      },
    )
  }
  if (CAPACITY_CODES.has(code)) {
    return new MachineError('capacity', msg(`${code}: ${detail}`), {
      hint: `size ${s.size} is not available in ${s.location} right now: try another --azure-size or --azure-location (\`az vm list-skus -l ${s.location} --size ${s.size} -o table\` shows restrictions)`,
      cause: e,
    })
  }
  if (/quota/i.test(`${code} ${detail}`) || /LimitReached|LimitExceeded/.test(code)) {
    return new MachineError('quota-exceeded', msg(`${code}: ${detail}`), {
      hint: `ask for a quota increase (\`az vm list-usage -l ${s.location} -o table\` shows usage) or choose a smaller --azure-size or another --azure-location`,
      cause: e,
    })
  }
  if (e.status === 429 || code === 'TooManyRequests') {
    return new MachineError('throttled', msg(`Azure kept throttling the requests (${code || 'HTTP 429'}): ${detail}`), {
      hint: 'wait a minute and try again',
      cause: e,
    })
  }
  if (code === 'SubscriptionNotFound' || code === 'InvalidSubscriptionId') {
    return new MachineError('not-found', msg(`${code}: ${detail}`), {
      hint: `check --azure-subscription-id (\`az account list -o table\` lists the subscriptions you can use)`,
      cause: e,
    })
  }
  if (code === 'PlatformImageNotFound' || code === 'ImageNotFound' || code === 'GalleryImageNotFound') {
    return new MachineError('not-found', msg(`${code}: ${detail}`), {
      hint: `check --azure-image (\`az vm image list --all -p <publisher> -l ${s.location} -o table\`)`,
      cause: e,
    })
  }
  if (e.status === 404 || NOT_FOUND_CODES.has(code)) {
    return new MachineError('not-found', msg(`${code || 'HTTP 404'}: ${detail}`), { cause: e })
  }
  if (code === 'DnsRecordInUse' || code === 'DnsRecordCreateConflict') {
    return new MachineError('already-exists', msg(`${code}: ${detail}`), {
      hint: 'the --azure-dns label is taken in this region: choose another one',
      cause: e,
    })
  }
  return new MachineError('cloud-error', msg(code ? `${code}: ${detail}` : detail), { cause: e })
}

function firstSentence(s: string): string {
  // DefaultAzureCredential's aggregate error lists every credential it tried over many lines.
  const first = s.split(/(?<=\.)\s/)[0] ?? s
  return first.length > 240 ? `${first.slice(0, 237)}…` : first
}
