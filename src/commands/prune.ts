import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { confirm } from '../cli/confirm.js'
import { driverFlags } from '../cli/driver-flags.js'
import { MachineError } from '../core/errors.js'
import { tabwrite } from '../core/ls-format.js'
import { escapeControl } from '../driver-kit/options.js'
import { BUILTIN_DRIVERS } from '../registry/builtin.js'
import { ageOf, deleteLeaks, scanForLeaks, type Leak } from '../services/prune.js'

// The cloud drivers' own flags (region, project, subscription, credentials), resolved as create
// resolves them: flag, then environment variable, then default.
const clouds = (await Promise.all(Object.values(BUILTIN_DRIVERS).map((load) => load()))).filter((d) => d.prune)
const cloudFlags = Object.assign({}, ...clouds.map((d) => driverFlags({ ...d, options: d.options.filter((o) => d.prune?.options.includes(o.name)) }))) as Record<string, any>

const row = (l: Leak) => ({ driver: l.driver, kind: l.kind, name: l.name, shared: !!l.shared, store: l.ours ? 'this' : l.store ? 'other' : 'unmarked', machine: l.machineName, machineId: l.machineId, region: l.region, ...(l.createdAt ? { createdAt: l.createdAt } : {}) })

export default class Prune extends BaseCommand {
  static override summary = 'Delete what this tool made in a cloud account that no machine of this store owns'
  static override description = `Every create tags (labels) what it makes in a cloud with the machine's name, its id (which the machine's config.json records) and a mark of the store that made it. prune lists the tagged resources (in the region, project or subscription that the driver's flags or environment variables name, as for create) whose id no machine of this store records. Those marked by this store (STORE this: left by a crash, an "rm -f", a store deleted and made again at the same path) are deleted after confirmation. Those of another store (STORE other: another computer, a store at another path) or made before stores were marked (unmarked) are only listed: nothing in the cloud tells a deleted store's machines from another computer's live ones, so they are deleted only with --all-stores, once you know from the MACHINE column that they are gone. The deletion is each driver's own "rm": the instance before its security group, disk, NIC and IP; a shared rule, network or group that another machine still uses is kept. Without -d, every cloud whose credentials are set up here is asked (amazonec2: keys, a profile or ~/.aws; google: GOOGLE_APPLICATION_CREDENTIALS or gcloud's application-default login; azure: AZURE_SUBSCRIPTION_ID). See docs/prune.md.`
  static override examples = [
    '<%= config.bin %> prune -d amazonec2 --amazonec2-region eu-west-1',
    '<%= config.bin %> prune -d google --google-project my-proj --dry-run',
    '<%= config.bin %> prune -d azure -y',
  ]
  static override flags = {
    driver: Flags.string({ char: 'd', multiple: true, description: `cloud driver to ask (repeatable): ${clouds.map((d) => d.name).join(', ')} [default: those with credentials set up here]` }),
    y: Flags.boolean({ char: 'y', description: 'delete without asking' }),
    'dry-run': Flags.boolean({ char: 'n', description: 'list only; delete nothing' }),
    'all-stores': Flags.boolean({ description: 'also delete what another store or computer made (STORE other/unmarked): only when you know those machines are gone' }),
    ...cloudFlags,
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parseArgs(Prune)
    const json = this.jsonEnabled()
    const signal = new AbortController().signal
    const env = process.env
    const scan = await scanForLeaks(this.store, { drivers: flags.driver, flags, env, config: this.config, signal, reporter: this.reporter })
    for (const p of scan.problems) this.out.note(`Could not list ${p}`)
    const failedToList = () => {
      if (scan.problems.length) throw new MachineError('prune-incomplete', `could not list what ${scan.problems.map((p) => p.split(':')[0]).join(', ')} made (see above)`, { hint: 'fix the credentials or pass -d with the clouds to ask' })
    }
    const result = (deleted: Leak[]) => (json ? { drivers: scan.drivers, leaks: scan.leaks.map(row), owned: scan.owned, deleted: deleted.map(row) } : undefined)
    if (!scan.drivers.length) {
      this.out.info('Nothing to prune: no cloud credentials are set up here (pass -d amazonec2, google or azure to ask one anyway)')
      return result([])
    }
    if (!scan.leaks.length) {
      failedToList()
      this.out.info(`Nothing to prune in ${scan.drivers.join(', ')}: ${scan.owned ? `all ${scan.owned} tagged resource(s) belong to machines of this store` : 'no resource made by machine was found'}`)
      return result([])
    }
    const allStores = flags['all-stores']
    const targets = scan.leaks.filter((l) => allStores || l.ours)
    const others = scan.leaks.length - scan.leaks.filter((l) => l.ours).length
    if (!json) {
      const now = Date.now()
      // Names and tags come from the cloud, where anyone with access may have written them: escaped.
      const lines = scan.leaks.map((l) =>
        [l.driver, l.kind, l.shared ? `${l.name} (shared)` : l.name, l.machineName || '-', l.ours ? 'this' : l.store ? 'other' : 'unmarked', l.region, ageOf(l.createdAt, now) || '-'].map(escapeControl).join('\t'),
      )
      this.out.info(tabwrite(['DRIVER\tKIND\tNAME\tMACHINE\tSTORE\tREGION\tAGE', ...lines]))
      const machines = (ls: Leak[]) => new Set(ls.map((l) => `${l.driver}/${l.machineId}`)).size
      this.out.info(`${scan.leaks.length} resource(s) of ${machines(scan.leaks)} machine(s) not in this store (${this.store.path})${scan.owned ? `; ${scan.owned} owned by its machines left alone` : ''}`)
      if (others && !allStores) this.out.info(`${others} of them made from another store or computer (STORE other/unmarked): listed only; pass --all-stores to delete them too`)
    }
    if (flags['dry-run'] || !targets.length) {
      failedToList()
      return result([])
    }
    if (!flags.y) {
      const ok = await confirm({ question: `Delete ${targets.length} resource(s)? (y/n): `, refusal: `Refusing to delete ${targets.length} resource(s) without confirmation`, flag: '-y', json })
      if (!ok) return undefined
    }
    const r = await deleteLeaks(this.store, scan, { env, signal, reporter: this.reporter, include: (l) => targets.includes(l) })
    for (const f of r.failures) this.out.note(`Could not delete ${f}`)
    const kept = targets.some((l) => l.shared) ? ' (a shared one still in use by another machine is kept: the lines above say which)' : ''
    const summary = `Deleted ${r.deleted.length} of ${targets.length} resource(s)${kept}${r.left.length ? `; ${r.left.length} left: ${r.left.map((l) => `${l.kind} ${l.name}`).join(', ')}` : ''}`
    if (r.failures.length) throw new MachineError('prune-incomplete', summary, { hint: 'fix the cause named above and run prune again, or delete them by hand' })
    failedToList()
    this.out.info(summary)
    return result(r.deleted)
  }
}
