import { Help } from '@oclif/core'
import type { Command, Config } from '@oclif/core'
import type { DriverDefinition } from '../driver-kit/contract.js'
import { allDriverDefinitions, getDriverDefinition } from '../registry/index.js'
import { driverFlags } from './driver-flags.js'
import { reportError } from './render-error.js'

/** Every driver's flags sit in a help group named `<DRIVER> DRIVER` (see driverFlags). */
const DRIVER_GROUP = / DRIVER$/
const driverGroup = (driver: string) => `${driver.toUpperCase()} DRIVER`

/** `-d X` / `--driver X` / `--driver=X` / `-dX` from raw argv, before flags are parsed. */
export function driverFromArgv(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') break
    if (a === '-d' || a === '--driver') return argv[i + 1]
    if (a.startsWith('--driver=')) return a.slice(9)
    if (a.startsWith('-d') && a.length > 2 && !a.startsWith('--')) return a.slice(2)
  }
  return undefined
}

/**
 * `create` declares every built-in driver's flags (so parsing is strict), which made its help
 * hundreds of lines. Help for create shows the common flags plus only the asked-for driver's
 * (`create -d qemu --help`), or, with no driver given, the list of drivers and how to see each
 * one's flags. Every other command's help is oclif's own.
 */
export default class MachineHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    if (argv[0] !== 'create') return super.showHelp(argv)
    const command = this.config.findCommand('create')
    if (!command) return super.showHelp(argv)
    const wanted = driverFromArgv(argv.slice(1))
    let def: DriverDefinition | undefined
    if (wanted !== undefined) {
      try {
        def = await getDriverDefinition(wanted, this.config as Config)
      } catch (err) {
        reportError(err, { json: false, command: 'create' })
        return
      }
    }
    await this.showCommandHelp(createHelpCommand(command, def, this.config.bin))
    if (!def) this.log(await driverList(this.config as Config))
  }
}

/** A copy of create's manifest entry with the common flags and only `def`'s driver flags. */
function createHelpCommand(command: Command.Loadable, def: DriverDefinition | undefined, bin: string): Command.Loadable {
  const flags: Command.Loadable['flags'] = {}
  const group = def ? driverGroup(def.name) : undefined
  let driverFlagCount = 0
  for (const [name, flag] of Object.entries(command.flags)) {
    const inGroup = flag.helpGroup === group
    if (inGroup) driverFlagCount++
    if (inGroup || !DRIVER_GROUP.test(flag.helpGroup ?? '')) flags[name] = flag
  }
  if (def && driverFlagCount === 0) {
    // A plugin driver's flags are not in the manifest: derive them from its option list, as
    // create itself does when it parses.
    for (const [name, flag] of Object.entries(driverFlags(def))) flags[name] = { ...flag, name }
  }
  const driver = def?.name ?? 'DRIVER'
  const ownExamples = (command.examples ?? []).filter((e) => typeof e === 'string' && e.includes(`create -d ${driver} `))
  return {
    ...command,
    flags,
    usage: [`create -d ${driver} [FLAGS] NAME`],
    examples: def ? (ownExamples.length > 0 ? ownExamples : [`${bin} create -d ${def.name} dev`]) : command.examples,
  } as Command.Loadable
}

async function driverList(config: Config): Promise<string> {
  const defs = await allDriverDefinitions(config)
  const width = Math.max(...defs.map((d) => d.name.length))
  const rows = defs.map((d) => `  ${d.name.padEnd(width)}  ${d.description}`)
  return ['DRIVERS', ...rows, '', `  See a driver's flags: ${config.bin} create -d DRIVER --help`, ''].join('\n')
}
