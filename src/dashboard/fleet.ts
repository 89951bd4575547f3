import type { Config } from '@oclif/core'
import { parseFilters } from '../core/ls-format.js'
import { envMs } from '../driver-kit/wait.js'
import { listMachines } from '../services/ls.js'
import { engineUrlOf } from '../services/machine.js'
import type { Store } from '../store/store.js'

/** A machine as the page shows it: what `ls` probes, plus the saved address for a machine that is not running. */
export interface MachineRow {
  name: string
  driver: string
  state: string
  url: string
  engineVersion: string
  /** ls's SWARM column: "CLUSTER (master)" for a manager, "CLUSTER" for a worker, '' outside a swarm. */
  swarm: string
  swarmRole: '' | 'manager' | 'worker'
  error: string
}

/**
 * The fleet as `ls` sees it: every machine probed at once, each bounded (an unreachable one is
 * its own row's error); with `probe: false`, from the saved configs alone (state unknown: ''),
 * as `ls -q` lists them, which takes milliseconds.
 */
export async function probeFleet(store: Store, o: { config?: Config; timeoutMs: number; probe?: boolean }): Promise<MachineRow[]> {
  const entries = await store.loadAll()
  const saved = new Map(entries.flatMap((e) => (e.host ? [[e.name, engineUrlOf(e.host)] as const] : [])))
  const rows = await listMachines(store, { config: o.config, timeoutMs: o.timeoutMs, filters: parseFilters([]), probe: o.probe ?? true, entries })
  return rows.map((r) => ({
    name: r.Name,
    driver: r.DriverName,
    state: r.State,
    url: r.URL || (saved.get(r.Name) ?? ''),
    engineVersion: r.DockerVersion,
    swarm: r.Swarm,
    swarmRole: !r.Swarm ? '' : / \(master\)$/.test(r.Swarm) ? 'manager' : 'worker',
    error: r.Error,
  }))
}

/** A change of the fleet for the page: rows that are new or changed, and names that are gone. */
export interface FleetChange {
  changed: MachineRow[]
  removed: string[]
}

/**
 * Polls the store and the machines as `ls` does (one probe round at a time, every
 * MACHINE_DASHBOARD_POLL_MS, 2 s by default) while at least one page listens, and tells the
 * listeners only what changed. A round that finds nothing new sends nothing.
 */
export class FleetWatch {
  private rows = new Map<string, MachineRow>()
  private readonly listeners = new Set<(c: FleetChange) => void>()
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private readonly intervalMs: number
  private stopped = false

  constructor(
    private readonly store: Store,
    private readonly o: { config?: Config; env: NodeJS.ProcessEnv },
  ) {
    this.intervalMs = envMs(o.env, 'MACHINE_DASHBOARD_POLL_MS', 2000, { min: 100, max: 600_000 })
  }

  private loaded = false

  /**
   * Ready to answer current(): the first time, the rows come from the saved configs alone (so the
   * page lists 50 machines at once, not after the slowest probe) and a probe round starts, whose
   * results reach the listeners as changes.
   */
  async ready(): Promise<void> {
    if (this.loaded) return
    const rows = await probeFleet(this.store, { config: this.o.config, timeoutMs: 1000, probe: false })
    if (!this.loaded) {
      this.loaded = true
      this.rows = new Map(rows.map((r) => [r.name, r]))
      void this.refresh().catch(() => undefined)
    }
  }

  /** The rows as last seen (call ready() once first). */
  current(): MachineRow[] {
    return [...this.rows.values()]
  }

  /** Probe now (at most one round at a time) and tell the listeners what changed. */
  refresh(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined))
    return this.running
  }

  private async round(): Promise<void> {
    const timeoutMs = Math.min(10_000, Math.max(1000, this.intervalMs * 2))
    const now = await probeFleet(this.store, { config: this.o.config, timeoutMs })
    const next = new Map(now.map((r) => [r.name, r]))
    this.loaded = true
    const changed = now.filter((r) => JSON.stringify(this.rows.get(r.name)) !== JSON.stringify(r))
    const removed = [...this.rows.keys()].filter((n) => !next.has(n))
    this.rows = next
    if (changed.length || removed.length) for (const l of this.listeners) l({ changed, removed })
  }

  /** Listen to changes (polling runs while anyone listens); returns the function that stops listening. */
  listen(fn: (c: FleetChange) => void): () => void {
    this.listeners.add(fn)
    this.schedule()
    return () => {
      this.listeners.delete(fn)
      if (!this.listeners.size) {
        // Forgotten too: schedule() starts polling again only when no timer is set.
        clearTimeout(this.timer)
        this.timer = undefined
      }
    }
  }

  private schedule(): void {
    if (this.timer || this.stopped) return
    const timer = setTimeout(() => {
      this.refresh()
        .catch(() => undefined)
        .finally(() => {
          // Listening stopped during the round (and may have started again, with its own timer).
          if (this.timer !== timer) return
          this.timer = undefined
          if (this.listeners.size) this.schedule()
        })
    }, this.intervalMs)
    this.timer = timer
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }
}
