/**
 * What every part of the google driver shares for one command: the machine's name, options and
 * saved state, the Compute Engine client (loaded on first use), the project, and the ways of
 * talking to the API: a call (throttling retried, failures made one line), a GET whose 404 is an
 * answer, and waiting for an operation or for the instance to run.
 */
import type { DriverContext, DriverLogger, JournalEntry, MachineState } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { envMs, poll, pollIntervalMs, raceAbort, retry } from '../../src/driver-kit/wait.js'
import type { GceApi, Instance, Operation } from './client.js'
import { fallbackProject } from './config.js'
import { classify, firstLine, isRetryable, operationError, toMachineError } from './errors.js'
import type { options } from './options.js'

export type GoogleContext = DriverContext<typeof options>

/** GCE instance status → docker-machine state. */
export function stateOf(status: string | null | undefined): MachineState {
  switch (status) {
    case 'PROVISIONING':
    case 'STAGING':
    case 'REPAIRING':
      return 'Starting'
    case 'RUNNING':
      return 'Running'
    case 'STOPPING':
    case 'SUSPENDING':
      return 'Stopping'
    case 'TERMINATED':
    case 'STOPPED':
    case 'SUSPENDED':
      return 'Stopped'
    default:
      return 'Error'
  }
}

/** The error behind a translated MachineError (for "was it a 404 / 409?"). */
export const rawOf = (e: unknown): unknown => (e instanceof MachineError && e.cause !== undefined ? e.cause : e)
export const isMissing = (e: unknown): boolean => classify(rawOf(e)) === 'not-found'
export const isTaken = (e: unknown): boolean => classify(rawOf(e)) === 'conflict'

/** A zone or global operation's home, for waiting on it and for the gcloud command in a timeout hint. */
export interface OperationScope {
  project: string
  zone?: string
}

/**
 * MACHINE_OPERATION_TIMEOUT_MS bounds one operation (tests make it tiny); not a poll interval, so
 * not the kit's pollIntervalMs.
 */
function operationTimeoutMs(env: NodeJS.ProcessEnv): number {
  return envMs(env, 'MACHINE_OPERATION_TIMEOUT_MS', 600_000, { min: 1 })
}

export class GoogleSession {
  readonly name: string
  /** The options, resolved by the kit (flag → saved config → environment → default). */
  readonly o: GoogleContext['options']
  /** Driver state saved as config.json "Driver": instance id, firewall rule, IP, keys. */
  readonly c: Record<string, unknown>
  readonly log: DriverLogger
  /** Operation polling and retry back-off; tests make it a few milliseconds. */
  readonly pollMs: number
  readonly timeoutMs: number
  private api: Promise<GceApi> | undefined
  /** The project found by fallbackProject when no option gave one. */
  private found: string | undefined

  constructor(readonly ctx: GoogleContext) {
    this.name = ctx.machineName
    this.o = ctx.options
    this.c = ctx.config
    this.log = ctx.log
    this.pollMs = pollIntervalMs(ctx.env, 2000)
    this.timeoutMs = operationTimeoutMs(ctx.env)
  }

  get zone(): string {
    return this.o.zone
  }

  /** Reach the instance on its internal IP (--google-use-internal-ip, or no external one at all). */
  get internalIp(): boolean {
    return this.o.useInternalIp || this.o.useInternalIpOnly
  }

  /** The project as far as it is known without looking (for messages and rm): '' before project() found one. */
  get knownProject(): string {
    return this.o.project ?? this.found ?? ''
  }

  /** The project: the option, else the gcloud configuration's or the credentials file's (then saved). */
  async project(): Promise<string> {
    const known = this.knownProject
    if (known) return known
    const found = await fallbackProject(this.ctx.env)
    if (!found) {
      throw new MachineError('missing-option', 'No Google Cloud project given for the google driver', {
        hint: 'pass --google-project <id>, set GOOGLE_PROJECT, or run "gcloud config set project <id>"',
      })
    }
    this.log.debug(`google: using project ${found.project} from ${found.from}`)
    this.found = found.project
    // Saved under the option's key: later commands resolve it as --google-project.
    this.c.Project = found.project
    return found.project
  }

  private gce(): Promise<GceApi> {
    const env = this.ctx.env
    const endpoint = this.o.endpoint
    this.api ??= import('./client.js').then((m) =>
      m.connect({ env, ...(endpoint ? { endpoint } : {}) }).catch((e: unknown) => {
        this.api = undefined
        const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS
        throw new MachineError('google-credentials', `No usable Google Cloud credentials (${firstLine(e)})`, {
          hint: keyFile
            ? `check the key file GOOGLE_APPLICATION_CREDENTIALS=${keyFile}`
            : 'run "gcloud auth application-default login", or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file',
          cause: e,
        })
      }),
    )
    return this.api
  }

  /** One API request: throttling is retried with backoff, a failure becomes one clear line. */
  async call<T>(what: string, fn: (g: GceApi) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const g = await this.gce()
    try {
      return await retry(() => fn(g), {
        isRetryable,
        baseMs: this.pollMs,
        signal,
        onRetry: (e, ms, n) => this.log.debug(`google: ${what}: ${classify(e)} (${String((e as Error).message)}); retry ${n} in ${ms} ms`),
      })
    } catch (e) {
      throw toMachineError(e, what, this.knownProject)
    }
  }

  /** A GET whose 404 is an answer, not an error. */
  async find<T>(what: string, fn: (g: GceApi) => Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.call(what, fn, signal)
    } catch (e) {
      if (isMissing(e)) return undefined
      throw e
    }
  }

  /** Start an operation with a fresh request id and wait for it; what each lifecycle step does. */
  async run(what: string, fn: (g: GceApi) => Promise<Operation>, where: OperationScope, signal?: AbortSignal): Promise<Operation> {
    const op = await this.call(what, fn, signal)
    return this.waitOp(op, what, where, signal)
  }

  /** Wait for a zone or global operation to be DONE (server-side `wait`, repeated, bounded). */
  async waitOp(op: Operation, what: string, where: OperationScope, signal?: AbortSignal): Promise<Operation> {
    let cur = op
    const z = where.zone
    const done = await poll(
      what,
      async () => {
        if (cur.status === 'DONE') return cur
        const opName = String(cur.name ?? '')
        if (!opName) throw new MachineError('google-api', `${what}: the API returned an operation without a name`)
        // The request itself cannot be aborted; Ctrl-C stops waiting for it.
        const waiting = this.call(`${what} (waiting for ${opName})`, (g) => (z ? g.waitZoneOperation(where.project, z, opName) : g.waitGlobalOperation(where.project, opName)), signal)
        cur = await raceAbort(waiting, signal)
        return cur.status === 'DONE' ? cur : undefined
      },
      {
        intervalMs: this.pollMs,
        timeoutMs: this.timeoutMs,
        signal,
        onTimeout: () =>
          new MachineError('google-timeout', `${what}: operation ${String(cur.name)} still ${cur.status ?? 'pending'} after ${Math.round(this.timeoutMs / 1000)} s`, {
            hint: `check it with "gcloud compute operations describe ${String(cur.name)} ${z ? `--zone ${z}` : '--global'} --project ${where.project}"`,
          }),
      },
    )
    const err = operationError(done, what, where.project)
    if (err) throw err
    return done
  }

  /** Where a journal entry's resource lives (an entry without it: the machine's own project and zone). */
  scopeOf(e: JournalEntry): { p: string; z: string } {
    return { p: String(e.data?.project ?? this.knownProject), z: String(e.data?.zone ?? this.zone) }
  }

  getInstance(p: string, signal?: AbortSignal): Promise<Instance> {
    return this.call(`read instance ${this.name}`, (g) => g.getInstance(p, this.zone, this.name), signal)
  }

  /** The address the machine is reached on: external, or internal with --google-use-internal-ip(-only). */
  ipOf(inst: Instance): string {
    const nic = inst.networkInterfaces?.[0]
    return String((this.internalIp ? nic?.networkIP : nic?.accessConfigs?.[0]?.natIP) ?? '')
  }

  /** After create/start: poll until RUNNING with an address (the IP is assigned as it starts). */
  async waitRunning(p: string, signal?: AbortSignal): Promise<{ inst: Instance; ip: string }> {
    let last: { inst: Instance; ip: string } | undefined
    return poll(
      `instance ${this.name} to run`,
      async () => {
        const inst = await this.getInstance(p, signal)
        last = { inst, ip: this.ipOf(inst) }
        if (inst.status === 'RUNNING' && last.ip) return last
        if (stateOf(inst.status) === 'Stopped' || stateOf(inst.status) === 'Stopping') {
          throw new MachineError('google-instance-stopped', `Instance ${this.name} is ${inst.status} instead of starting`, {
            hint: inst.scheduling?.preemptible ? 'preemptible instances can be stopped by Google at any time; retry or drop --google-preemptible' : undefined,
          })
        }
        return undefined
      },
      {
        intervalMs: this.pollMs,
        timeoutMs: this.timeoutMs,
        signal,
        onTimeout: () =>
          new MachineError(
            'google-timeout',
            `Instance ${this.name} is ${last?.inst.status ?? 'unknown'}${last?.ip ? '' : ' without an IP address'} after ${Math.round(this.timeoutMs / 1000)} s`,
          ),
      },
    )
  }
}
