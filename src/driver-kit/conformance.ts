/**
 * The shared driver conformance suite. Every built-in driver runs it, and plugin authors can run
 * it on theirs. It does not import a test framework: pass vitest's (or node:test's) functions.
 *
 * The harness arranges the backend before each step (nock interceptors for clouds, a real or shim
 * hypervisor for local drivers) and may verify after it (e.g. `nock.isDone()`).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isSecretField } from '../core/secrets.js'
import { uncheckedMachineDir } from '../store/paths.js'
import type { Driver, DriverContext, DriverDefinition, LifecycleOp } from './contract.js'
import { capabilitiesOf, NotSupportedError } from './contract.js'
import { MemoryJournal } from './memory-journal.js'
import { configKey, flagName, optionProperty, resolveOptions } from './options.js'

export type ConformanceStep =
  | 'preCreateCheck'
  | 'create'
  | 'state:running'
  | 'ip'
  | 'sshInfo'
  | 'stop'
  | 'state:stopped'
  | 'start'
  | 'restart'
  | 'kill'
  | 'remove'
  | 'remove:again'
  | 'create:failing'
  | 'rollback'

export interface ConformanceHarness {
  definition: DriverDefinition
  /** Flags as a user would give them (flag name without dashes → value). */
  flags: Record<string, unknown>
  env?: NodeJS.ProcessEnv
  /** Set up the fake/real backend for a step. */
  arrange?: (step: ConformanceStep, ctx: DriverContext) => void | Promise<void>
  /** Check the backend after a step (e.g. every interceptor used). */
  verify?: (step: ConformanceStep, ctx: DriverContext) => void | Promise<void>
  /** When true, also run create with `arrange('create:failing')` expected to throw, then rollback via remove. */
  failingCreate?: boolean
  /** Generous per-step timeout in ms for real hypervisors. */
  timeoutMs?: number
}

interface TestApi {
  describe: (name: string, fn: () => void) => void
  it: (name: string, fn: () => Promise<void> | void, timeout?: number) => void
  expect: (v: unknown, message?: string) => any
  beforeAll: (fn: () => Promise<void> | void, timeout?: number) => void
  afterAll: (fn: () => Promise<void> | void, timeout?: number) => void
}

export async function makeDriverContext(
  definition: DriverDefinition,
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  storePath: string,
  machineName: string,
): Promise<DriverContext> {
  const resolved = resolveOptions(definition.name, definition.options, flags, env)
  // The store's own layout, so a driver sees the directory the CLI would give it. Not its name
  // check: driver tests hand drivers names the store refuses, to prove the driver refuses them too.
  const machineDir = uncheckedMachineDir(storePath, machineName)
  await mkdir(machineDir, { recursive: true, mode: 0o700 })
  return {
    machineName,
    storePath,
    machineDir,
    config: { MachineName: machineName, StorePath: storePath, ...resolved.config },
    options: resolved.values,
    log: { info: () => {}, debug: () => {} },
    signal: new AbortController().signal,
    env,
  }
}

export function driverConformance(h: ConformanceHarness, t: TestApi): void {
  const { describe, it, expect, beforeAll, afterAll } = t
  const timeout = h.timeoutMs ?? 30_000
  const def = h.definition
  // What the driver declares it can do is what the suite holds it to: unsupported operations
  // must reject with NotSupportedError, supported ones must work.
  const caps = capabilitiesOf(def)
  const can = (op: LifecycleOp) => caps.lifecycle.includes(op)

  describe(`driver conformance: ${def.name}`, () => {
    let store = ''
    let ctx: DriverContext
    let driver: Driver
    const journal = new MemoryJournal()
    const step = async (s: ConformanceStep, fn: () => Promise<void>) => {
      await h.arrange?.(s, ctx)
      await fn()
      await h.verify?.(s, ctx)
    }
    const expectNotSupported = async (p: Promise<unknown>) => {
      await expect(p).rejects.toBeInstanceOf(NotSupportedError)
    }

    beforeAll(async () => {
      store = await mkdtemp(join(tmpdir(), `conformance-${def.name}-`))
      ctx = await makeDriverContext(def, h.flags, h.env ?? {}, store, `conf-${def.name}`)
      driver = (await def.load()).createDriver(ctx)
    }, timeout)
    afterAll(async () => {
      if (store) await rm(store, { recursive: true, force: true })
    })

    it('declares options with unique flags, help text and a lower-case name', () => {
      expect(def.name).toMatch(/^[a-z][a-z0-9]*$/)
      expect(def.description.length).toBeGreaterThan(0)
      const flags = def.options.map((o) => flagName(def.name, o))
      expect(new Set(flags).size).toBe(flags.length)
      for (const o of def.options) expect(o.description.length, o.name).toBeGreaterThan(0)
    })

    it('never puts a secret option into the saved config', () => {
      const secrets = def.options.filter((o) => o.secret)
      const saved = JSON.stringify(ctx.config)
      for (const o of secrets) {
        const v = ctx.options[optionProperty(o.name)]
        if (typeof v === 'string' && v.length > 0) expect(saved).not.toContain(v)
      }
    })

    it('saves no option under a name the store drops as a credential (core/secrets.ts)', () => {
      for (const o of def.options) if (!o.secret) expect(isSecretField(configKey(o)), configKey(o)).toBe(false)
    })

    it('declares what it can do', () => {
      for (const op of caps.lifecycle) expect(['start', 'stop', 'restart', 'kill']).toContain(op)
      expect(new Set(caps.lifecycle).size).toBe(caps.lifecycle.length)
      // Booting a host it cannot reach over SSH with an engine bootstrap would have nothing to check it.
      if (caps.engineBootstrap) expect(caps.ssh).toBe(true)
      // A saved state is made by stop and resumed by start.
      if (caps.saveState) expect(caps.lifecycle.includes('start') && caps.lifecycle.includes('stop')).toBe(true)
    })

    it('passes its pre-create check', async () => {
      await step('preCreateCheck', () => driver.preCreateCheck())
    }, timeout)

    it('creates the host, journaling what it makes', async () => {
      // An engine bootstrap is built from the address before the host exists.
      if (caps.engineBootstrap) expect((await driver.ip()).length).toBeGreaterThan(0)
      await step('create', () => driver.create(journal))
      expect(JSON.stringify(ctx.config)).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/)
    }, timeout)

    it('reports Running after create', async () => {
      await step('state:running', async () => expect(await driver.state()).toBe('Running'))
    }, timeout)

    it('has an IP address and SSH details', async () => {
      await step('ip', async () => {
        expect((await driver.ip()).length).toBeGreaterThan(0)
        // A cluster address, where the driver has one, is one other hosts could reach.
        if (driver.clusterAddress) expect(await driver.clusterAddress()).not.toBe('10.0.2.15')
      })
      if (!caps.ssh) return expectNotSupported(driver.sshInfo())
      await step('sshInfo', async () => {
        const s = await driver.sshInfo()
        expect(s.host.length).toBeGreaterThan(0)
        expect(s.port).toBeGreaterThan(0)
        expect(s.user.length).toBeGreaterThan(0)
        expect(s.keyPath.length).toBeGreaterThan(0)
      })
    }, timeout)

    it('stops (or says it cannot)', async () => {
      if (!can('stop')) return expectNotSupported(driver.stop())
      await step('stop', () => driver.stop())
      await step('state:stopped', async () => expect(await driver.state()).toBe('Stopped'))
    }, timeout)

    it('starts (or says it cannot)', async () => {
      if (!can('start')) return expectNotSupported(driver.start())
      await step('start', () => driver.start())
      await step('state:running', async () => expect(await driver.state()).toBe('Running'))
    }, timeout)

    it('restarts (or says it cannot)', async () => {
      if (!can('restart')) return expectNotSupported(driver.restart())
      await step('restart', () => driver.restart())
    }, timeout)

    it('kills (or says it cannot)', async () => {
      if (!can('kill')) return expectNotSupported(driver.kill())
      await step('kill', () => driver.kill())
      await step('state:stopped', async () => expect(await driver.state()).toBe('Stopped'))
    }, timeout)

    it('removes everything it journaled, and removing again is harmless', async () => {
      await step('remove', () => driver.remove(journal))
      expect(journal.entries()).toEqual([])
      await step('remove:again', () => driver.remove(journal))
    }, timeout)

    if (h.failingCreate) {
      it('rolls back what a failing create made', async () => {
        const failing = new MemoryJournal()
        const fctx = await makeDriverContext(def, h.flags, h.env ?? {}, store, `conf-${def.name}-fail`)
        const d = (await def.load()).createDriver(fctx)
        await h.arrange?.('create:failing', fctx)
        await expect(d.create(failing)).rejects.toBeTruthy()
        await h.verify?.('create:failing', fctx)
        await h.arrange?.('rollback', fctx)
        await d.remove(failing)
        expect(failing.entries()).toEqual([])
        await h.verify?.('rollback', fctx)
      }, timeout)
    }
  })
}
