/**
 * What the local VM drivers' classes (virtualbox, vmware, hyperv) start from: the context, the
 * dependencies a test injects (recorded tools, a platform), and the settings read from them.
 */
import type { DriverContext } from './contract.js'
import type { OptionSpec } from './options.js'

export abstract class LocalVmDriver<O extends readonly OptionSpec[], D extends { platform?: NodeJS.Platform }> {
  protected readonly ctx: DriverContext<O>
  protected readonly deps: D

  constructor(ctx: DriverContext<O>, deps: D) {
    this.ctx = ctx
    this.deps = deps
  }

  /** The machine's resolved options. */
  protected get o(): DriverContext<O>['options'] {
    return this.ctx.options
  }
  protected get name(): string {
    return this.ctx.machineName
  }
  /** The host's platform (a test may pretend another). */
  protected get platform(): NodeJS.Platform {
    return this.deps.platform ?? process.platform
  }
}
