/**
 * The fast path for the commands run most and from scripts: `env`, `ls` and the machine queries
 * `inspect`, `status`, `url`, `ip`, `config`, `active`. src/main.ts calls it before loading oclif
 * (bench/cli-startup.mjs: `env` ~1.2x a bare `node -e 0` instead of ~5x; `inspect` and `status`
 * ~1.3x instead of ~2.7x). The flags are the same declarations (cli/flag-spec.ts), parsed here
 * with node:util, and each command's answer comes from the same function as the oclif command's
 * (cli/env-request.ts and cli/ls-request.ts map the flags; services/env-output.ts, services/ls.ts
 * and services/machine-queries.ts answer). Anything unusual (help, a usage error, a NAME oclif
 * would read from stdin, a machine on a plugin's driver, which only oclif's hooks find) returns
 * false before anything is printed, and the normal oclif path handles it, with oclif's messages.
 * Its imports are static: bundled (scripts/bundle.mjs), this code is one file with what env and
 * ls need, and a dynamic import would be one more file to load on every start. The queries add
 * ~10 KB to it and nothing measurable to env's or ls's start (callgrind): their services are the
 * ones env and ls already load (the store, the registry, services/machine.ts); only what `ip` and
 * `active` alone need is imported where they run.
 */
import { envRequest } from '../cli/env-request.js'
import { ACTIVE_FLAGS, CONFIG_FLAGS, ENV_FLAGS, INSPECT_FLAGS, LS_FLAGS, NO_FLAGS, type FlagSpecs, type GlobalFlagValues } from '../cli/flag-spec.js'
import { lsRequest } from '../cli/ls-request.js'
import { isDebugEnv, reportError, successEnvelope } from '../cli/render-error.js'
import { exitOnEpipe, writeStdout } from '../cli/stdio.js'
import type { HostConfig } from '../core/host-config.js'
import { isBuiltinDriver } from '../registry/builtin.js'
import { loadNamedMachine } from '../services/each-machine.js'
import { envOutput } from '../services/env-output.js'
import { lsOutput } from '../services/ls.js'
import { activeOutput, activeTarget, configOutput, inspectOutput, ipOutput, statusOutput, urlOutput, type QueryOutput } from '../services/machine-queries.js'
import { resolveStorePath } from '../store/paths.js'
import { Store, type LoadedEntry } from '../store/store.js'
import { parseFlags } from './parse.js'
import { noArgumentOnStdin } from './stdin.js'

type Flags = GlobalFlagValues & { json?: boolean }

/** Plugin drivers need oclif's plugin hooks: a store or machine with one goes to the normal path. */
const onPluginDriver = (hosts: ReadonlyArray<HostConfig | undefined>): boolean => hosts.some((h) => h && !isBuiltinDriver(h.DriverName))
const hostsOf = (entries: LoadedEntry[]) => entries.map((e) => e.host)

/**
 * The flags and NAMEs of a command whose NAME may be left out (then "default"); undefined when
 * oclif must answer: a usage matter, or no NAME while stdin, which oclif reads it from, has one.
 */
async function parseWithNames<S extends FlagSpecs>(argv: string[], specs: S, maxNames: number) {
  const p = parseFlags(argv, specs, maxNames)
  return !p || (p.args.length === 0 && !(await noArgumentOnStdin())) ? undefined : p
}

export async function runFast(command: string | undefined, argv: string[]): Promise<boolean> {
  switch (command) {
    case 'env': {
      const p = await parseWithNames(argv, ENV_FLAGS, 1)
      return !!p && respond(command, p.flags, (store) => envOutput(store, envRequest(p.flags, p.args[0])))
    }
    case 'ls': {
      const p = parseFlags(argv, LS_FLAGS, 0)
      return !!p && respond(command, p.flags, async (store) => {
        const request = lsRequest(p.flags)
        const entries = await store.loadAll()
        return onPluginDriver(hostsOf(entries)) ? undefined : lsOutput(store, request(entries))
      })
    }
    case 'inspect': {
      // The saved config alone: no driver code, so a plugin's machine is answered here too.
      const p = await parseWithNames(argv, INSPECT_FLAGS, 1)
      return !!p && respond(command, p.flags, (store) => inspectOutput(store, { name: p.args[0], format: p.flags.format }))
    }
    case 'status':
    case 'url': {
      const p = await parseWithNames(argv, NO_FLAGS, 1)
      const answer = command === 'status' ? statusOutput : urlOutput
      return !!p && respond(command, p.flags, async (store) => {
        const host = await loadNamedMachine(store, p.args[0], command)
        return onPluginDriver([host]) ? undefined : answer(store, host)
      })
    }
    case 'ip': {
      const p = await parseWithNames(argv, NO_FLAGS, Infinity)
      return !!p && respond(command, p.flags, async (store) => {
        // No NAME is "default" (forEachMachine). Machines that do not load are left to ipOutput,
        // which reports them as oclif's path does.
        const names = p.args.length > 0 ? p.args : ['default']
        const hosts = await Promise.all(names.map((n) => store.load(n).catch(() => undefined)))
        if (onPluginDriver(hosts)) return undefined
        // A driver may tell something while answering (amazonec2: a changed address): through
        // BaseCommand's reporter, on stdout before the answer. Loaded here: only ip needs it.
        const [{ Output }, { TerminalReporter }] = await Promise.all([import('../cli/output.js'), import('../cli/progress.js')])
        const reporter = new TerminalReporter(new Output({ json: !!p.flags.json, debug: debugOf(p.flags) }))
        return ipOutput(store, p.args, { reporter })
      })
    }
    case 'config': {
      const p = await parseWithNames(argv, CONFIG_FLAGS, 1)
      return !!p && respond(command, p.flags, (store) => configOutput(store, { name: p.args[0], swarm: p.flags.swarm }))
    }
    case 'active': {
      const p = parseFlags(argv, ACTIVE_FLAGS, 0)
      return !!p && respond(command, p.flags, async (store) => {
        const target = await activeTarget(store, p.flags.timeout, process.env)
        const entries = await store.loadAll()
        return onPluginDriver(hostsOf(entries)) ? undefined : activeOutput(store, target, { entries })
      })
    }
    default:
      return false
  }
}

const debugOf = (flags: Flags): boolean => !!flags.debug || isDebugEnv()

/**
 * What BaseCommand does around a command: the store, the --json envelope, one-line errors.
 * `run` answers undefined to hand the command to oclif; it must not have printed anything then.
 */
async function respond(command: string, flags: Flags, run: (store: Store) => Promise<QueryOutput | undefined>): Promise<boolean> {
  const json = !!flags.json
  const store = new Store(resolveStorePath(flags['storage-path']))
  try {
    const out = await run(store)
    if (!out) return false
    await writeStdout(json ? `${JSON.stringify(successEnvelope(command, out.json), null, 2)}\n` : out.text)
  } catch (e) {
    exitOnEpipe()
    reportError(e, { json, command, debug: debugOf(flags), storePath: store.path })
  }
  return true
}
