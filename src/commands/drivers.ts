import { BaseCommand } from '../cli/base.js'
import { flagName } from '../driver-kit/options.js'
import { BUILTIN_DRIVERS } from '../registry/builtin.js'
import { allDriverDefinitions } from '../registry/index.js'

export default class Drivers extends BaseCommand {
  static override summary = 'List the drivers (built-in and from plugins) with their options'

  async run(): Promise<unknown> {
    await this.parseArgs(Drivers)
    const defs = await allDriverDefinitions(this.config)
    const list = defs.map((d) => ({
      name: d.name,
      builtin: d.name in BUILTIN_DRIVERS,
      description: d.description,
      options: d.options.map((o) => ({ flag: `--${flagName(d.name, o)}`, type: o.type, env: o.env ?? [], default: o.default, required: !!o.required, description: o.description })),
    }))
    if (this.jsonEnabled()) return list
    for (const d of list) {
      this.out.info(`${d.name}${d.builtin ? '' : ' (plugin)'}: ${d.description}`)
      for (const o of d.options) {
        const extra = [o.required ? 'required' : '', o.env.length ? `env ${o.env.join(', ')}` : '', o.default !== undefined && String(o.default) !== '' ? `default ${String(o.default)}` : '']
          .filter(Boolean)
          .join('; ')
        this.out.info(`  ${o.flag.padEnd(38)} ${o.description}${extra ? ` (${extra})` : ''}`)
      }
      this.out.info('')
    }
    return undefined
  }
}
