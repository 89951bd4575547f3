/**
 * A docker context per machine, beside `env` (docs/contexts.md): create makes one named after the
 * machine in the docker CLI's store (store/docker-contexts.ts), provision/regenerate-certs and a
 * start that changed the address keep it right, rm removes it, `use` makes it the CLI's current
 * context. Ours are marked in their metadata (ManagedBy + this store's path): a context of the
 * same name made by anyone else, or by another store, is never overwritten or removed.
 * Loaded on the fast path (`env --context`, `ls`): node built-ins only below it.
 */
import { readFileSync } from 'node:fs'
import { MachineError, messageOf } from '../core/errors.js'
import type { HostConfig } from '../core/host-config.js'
import { programName } from '../core/program-name.js'
import {
  contextNameProblem,
  currentContextOf,
  DEFAULT_CONTEXT,
  dockerConfigDir,
  readContext,
  readContextTls,
  readDockerConfig,
  removeContext,
  setCurrentContext,
  writeContext,
  type ContextMeta,
  type ContextRead,
  type ContextTls,
} from '../store/docker-contexts.js'
import type { Store } from '../store/store.js'
import { clientTlsFiles, engineUrlOf } from './machine.js'
import type { Reporter } from './reporter.js'

/** The mark in Metadata.ManagedBy of the contexts this tool makes. */
export const MANAGED_BY = 'machine'

/** Ours: made by this tool for this store's machine of that name. */
function isOurs(r: ContextRead, store: Store, name: string): boolean {
  return r.state === 'present' && r.meta.Name === name && r.meta.Metadata.ManagedBy === MANAGED_BY && r.meta.Metadata.MachineStorePath === store.path
}

/** Why the context `name` is not ours to change, as the rest of a line; undefined when it is ours or absent. */
function foreignReason(r: ContextRead, store: Store, name: string): string | undefined {
  if (r.state === 'absent' || isOurs(r, store, name)) return undefined
  if (r.state === 'unreadable') return r.problem
  // Quoted: the path comes from a file anyone could have written, and is shown on the terminal.
  if (r.meta.Metadata.ManagedBy === MANAGED_BY) return `it belongs to the machine store ${JSON.stringify(String(r.meta.Metadata.MachineStorePath))}`
  return `${MANAGED_BY} did not make it`
}

function contextMeta(store: Store, host: HostConfig, url: string): ContextMeta {
  return {
    Name: host.Name,
    Metadata: {
      Description: `Docker engine of machine "${host.Name}" (made by ${MANAGED_BY}, removed with the machine)`,
      ManagedBy: MANAGED_BY,
      MachineStorePath: store.path,
    },
    Endpoints: { docker: { Host: url, SkipTLSVerify: false } },
  }
}

/** The machine's context as it should be now: its URL and its client TLS files. */
function wantedContext(store: Store, host: HostConfig): { meta: ContextMeta; tls: ContextTls | undefined } {
  const url = engineUrlOf(host)
  if (!url) throw new MachineError('no-url', `Machine "${host.Name}" has no engine address in its config.json`, { hint: `start it with "${programName()} start ${host.Name}"` })
  // TLS material only for a TCP engine, as env sets DOCKER_TLS_VERIFY only for one.
  const files = clientTlsFiles(store, host)
  const tls = url.startsWith('tcp://') ? { ca: readFileSync(files.ca, 'utf8'), cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') } : undefined
  return { meta: contextMeta(store, host, url), tls }
}

/** Whether the context on disk is already what `want` would write (metadata and TLS files). */
function isCurrent(configDir: string, have: ContextMeta, want: { meta: ContextMeta; tls: ContextTls | undefined }): boolean {
  if (JSON.stringify(have) !== JSON.stringify(want.meta)) return false
  const tls = readContextTls(configDir, have.Name)
  return want.tls === undefined ? tls === undefined : tls !== undefined && tls.ca === want.tls.ca && tls.cert === want.tls.cert && tls.key === want.tls.key
}

/** What happened to a machine's context: made or refreshed, nothing to do, or left alone (the line says why). */
export type ContextOutcome = { done: 'written' | 'unchanged' } | { done: 'refused'; line: string }

/**
 * Make or refresh the machine's context: `create` makes a missing one (create, use, env
 * --context); without it only an existing one of ours is refreshed (provision, regenerate-certs,
 * a start that changed the address). One that is already right is not rewritten, and a context
 * that is not ours is never touched.
 */
export async function syncMachineContext(store: Store, host: HostConfig, o: { env: NodeJS.ProcessEnv; create: boolean }): Promise<ContextOutcome> {
  const name = host.Name
  const problem = contextNameProblem(name)
  if (problem) return o.create ? { done: 'refused', line: `No docker context for "${name}": ${problem}` } : { done: 'unchanged' }
  const configDir = dockerConfigDir(o.env)
  const r = readContext(configDir, name)
  const foreign = foreignReason(r, store, name)
  if (foreign) return { done: 'refused', line: `Left the docker context "${name}" alone: ${foreign}` }
  if (r.state === 'absent' && !o.create) return { done: 'unchanged' }
  const want = wantedContext(store, host)
  if (r.state === 'present' && isCurrent(configDir, r.meta, want)) return { done: 'unchanged' }
  await writeContext(configDir, want.meta, want.tls)
  return { done: 'written' }
}

/**
 * The context step of create/provision/start: never fails the operation (the machine works
 * through `env` without it), it tells what it did or why not in one line.
 */
export async function reportMachineContext(store: Store, host: HostConfig, o: { env: NodeJS.ProcessEnv; create: boolean; reporter: Reporter }): Promise<boolean> {
  try {
    const r = await syncMachineContext(store, host, o)
    if (r.done === 'refused') o.reporter.note(r.line)
    else if (r.done === 'written') o.reporter.info(o.create ? `Made the docker context "${host.Name}" (docker --context ${host.Name} …, or "${programName()} use ${host.Name}")` : `Updated the docker context "${host.Name}"`)
    return r.done === 'written'
  } catch (e) {
    o.reporter.note(`Could not write the docker context "${host.Name}": ${messageOf(e)}`)
    return false
  }
}

/** The machine's context, made if missing, for `use` and `env --context`: anything in the way is the command's error. */
export async function requireMachineContext(store: Store, host: HostConfig, env: NodeJS.ProcessEnv): Promise<void> {
  const r = await syncMachineContext(store, host, { env, create: true })
  if (r.done === 'refused') throw new MachineError('docker-context-refused', r.line, { hint: `use eval "$(${programName()} env ${host.Name})" instead` })
}

/**
 * rm: the machine's context goes if it is ours, and currentContext stops naming it first. When
 * config.json cannot be read the context is kept (so currentContext cannot be left naming a
 * removed one). Returns the line to tell, if any; never throws (the machine is removed anyway).
 */
export async function removeMachineContext(store: Store, name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (contextNameProblem(name)) return undefined
  try {
    const configDir = dockerConfigDir(env)
    const r = readContext(configDir, name)
    if (r.state === 'absent') return undefined
    const foreign = foreignReason(r, store, name)
    if (foreign) return `Left the docker context "${name}" alone: ${foreign}`
    try {
      if (readDockerConfig(configDir).config.currentContext === name) await setCurrentContext(configDir, undefined)
    } catch (e) {
      return `Kept the docker context "${name}": ${messageOf(e)}`
    }
    await removeContext(configDir, name)
    return undefined
  } catch (e) {
    return `Could not remove the docker context "${name}": ${messageOf(e)}`
  }
}

/** `machine use NAME`: the machine's context (made if missing) becomes the CLI's current one. */
export async function useMachineContext(store: Store, name: string, env: NodeJS.ProcessEnv): Promise<void> {
  const host = await store.load(name)
  const problem = contextNameProblem(name)
  if (problem) throw new MachineError('docker-context-refused', `Machine "${name}" cannot have a docker context: ${problem}`, { hint: `use eval "$(${programName()} env ${name})" instead` })
  const configDir = dockerConfigDir(env)
  // config.json is read before anything is written: a broken one stops the command with nothing changed.
  readDockerConfig(configDir)
  await requireMachineContext(store, host, env)
  await setCurrentContext(configDir, name)
}

/** `machine use --unset`: back to the CLI's "default" context (config.json without currentContext). */
export async function unsetCurrentContext(env: NodeJS.ProcessEnv): Promise<void> {
  await setCurrentContext(dockerConfigDir(env), undefined)
}

/**
 * The machine the docker CLI talks to through a context, as the CLI chooses it: nothing when
 * DOCKER_HOST is set (it overrides every context; ls matches it by URL), else DOCKER_CONTEXT, else
 * config.json's currentContext; a machine only when that context is ours. Two small file reads.
 */
export function activeContextMachine(store: Store, env: NodeJS.ProcessEnv): string | undefined {
  if (env.DOCKER_HOST) return undefined
  const configDir = dockerConfigDir(env)
  const name = env.DOCKER_CONTEXT || currentContextOf(configDir)
  if (!name || name === DEFAULT_CONTEXT || contextNameProblem(name)) return undefined
  return isOurs(readContext(configDir, name), store, name) ? name : undefined
}

/** Whether the machine's context is ours and says what `use`/`provision` would write now (doctor: read only). */
export function machineContextIsCurrent(store: Store, host: HostConfig, env: NodeJS.ProcessEnv): boolean {
  const configDir = dockerConfigDir(env)
  const r = readContext(configDir, host.Name)
  return r.state === 'present' && isOurs(r, store, host.Name) && isCurrent(configDir, r.meta, wantedContext(store, host))
}
