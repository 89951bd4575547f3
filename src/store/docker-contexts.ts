/**
 * The docker CLI's own store, as docker 28 lays it out and reads it (docker/cli
 * cli/context/store), written directly so no docker binary is needed:
 *   $DOCKER_CONFIG (else ~/.docker)/config.json                   "currentContext" among the CLI's other keys
 *   …/contexts/meta/<sha256 hex of name>/meta.json                {"Name","Metadata","Endpoints":{"docker":{"Host","SkipTLSVerify"}}}
 *   …/contexts/tls/<sha256 hex of name>/docker/{ca,cert,key}.pem  the client's TLS material
 * This module knows that layout and nothing of machines: which contexts are ours is decided in
 * services/docker-context.ts. Only node built-ins and the store's atomic write: `env --context`
 * and `ls` load it on the fast path.
 */
import { createHash } from 'node:crypto'
import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { MachineError, messageOf } from '../core/errors.js'
import { writeFileAtomic } from './atomic.js'
import { readStoreFileSync } from './safe-read.js'

/** $DOCKER_CONFIG, else ~/.docker: where the docker CLI keeps config.json and contexts/. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DOCKER_CONFIG || join(homedir(), '.docker'))
}

/** The docker CLI's rule for context names (docker context create refuses others), and its reserved name. */
const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/
export const DEFAULT_CONTEXT = 'default'

/** Why docker cannot have a context called `name`, or undefined when it can. */
export function contextNameProblem(name: string): string | undefined {
  if (name === DEFAULT_CONTEXT) return 'the docker CLI reserves the name "default" for its own context'
  if (!CONTEXT_NAME.test(name)) return 'docker context names need at least 2 characters: letters, digits, "_", ".", "+" and "-"'
  return undefined
}

export interface ContextMeta {
  Name: string
  Metadata: Record<string, unknown>
  Endpoints: { docker: { Host: string; SkipTLSVerify: boolean } }
}

export interface ContextTls {
  ca: string
  cert: string
  key: string
}

export interface ContextPaths {
  metaDir: string
  metaFile: string
  tlsDir: string
  tlsDockerDir: string
}

/**
 * A context's directories: the id is the sha256 of the name (as the CLI computes it), so no name
 * can reach outside contexts/; checked anyway, since a path that escapes would be written to.
 */
export function contextPaths(configDir: string, name: string): ContextPaths {
  const id = createHash('sha256').update(name).digest('hex')
  const meta = resolve(configDir, 'contexts', 'meta')
  const tls = resolve(configDir, 'contexts', 'tls')
  const metaDir = resolve(meta, id)
  const tlsDir = resolve(tls, id)
  if (dirname(metaDir) !== meta || dirname(tlsDir) !== tls) throw new MachineError('invalid-name', `Cannot make a docker context path for ${JSON.stringify(name)}`)
  return { metaDir, metaFile: join(metaDir, 'meta.json'), tlsDir, tlsDockerDir: join(tlsDir, 'docker') }
}

/** A context's directory that is there must be a real directory: a planted symlink is never written through. */
function checkRealDir(path: string): void {
  let st
  try {
    st = lstatSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
    throw e
  }
  if (!st.isDirectory()) {
    throw new MachineError('docker-context-unsafe', `${path} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; the docker context there is left alone`, {
      hint: 'remove it if it is not yours',
    })
  }
}

export type ContextRead = { state: 'absent' } | { state: 'present'; meta: ContextMeta } | { state: 'unreadable'; problem: string }

/** The context `name` as the CLI would read it: absent, its meta.json, or why it cannot be read (then it is someone else's to fix). */
export function readContext(configDir: string, name: string): ContextRead {
  const p = contextPaths(configDir, name)
  let text: string
  try {
    text = readStoreFileSync(p.metaFile, 'Docker context metadata', 'remove that context with "docker context rm"')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'absent' }
    return { state: 'unreadable', problem: messageOf(e) }
  }
  try {
    const meta = JSON.parse(text) as ContextMeta
    if (typeof meta !== 'object' || meta === null || typeof meta.Metadata !== 'object' || meta.Metadata === null) throw new Error('not a context')
    return { state: 'present', meta }
  } catch (e) {
    return { state: 'unreadable', problem: `${p.metaFile} is not a docker context's metadata (${messageOf(e)})` }
  }
}

/** A context's TLS files, or undefined when any is missing or unreadable. */
export function readContextTls(configDir: string, name: string): ContextTls | undefined {
  const dir = contextPaths(configDir, name).tlsDockerDir
  try {
    const read = (f: string) => readStoreFileSync(join(dir, f), 'Docker context TLS file', 'remove the context')
    return { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') }
  } catch {
    return undefined
  }
}

/**
 * Write (or replace) a context: TLS files first, meta.json last, so the CLI never lists a
 * context whose files are not all there. Directories 0700, files 0600, each file atomic.
 * Without `tls` (an engine not reached over TCP) any old TLS files go.
 */
export async function writeContext(configDir: string, meta: ContextMeta, tls: ContextTls | undefined): Promise<void> {
  const p = contextPaths(configDir, meta.Name)
  for (const d of [p.metaDir, p.tlsDir, p.tlsDockerDir]) checkRealDir(d)
  if (tls) {
    await writeFileAtomic(join(p.tlsDockerDir, 'ca.pem'), tls.ca, 0o600)
    await writeFileAtomic(join(p.tlsDockerDir, 'cert.pem'), tls.cert, 0o600)
    await writeFileAtomic(join(p.tlsDockerDir, 'key.pem'), tls.key, 0o600)
  } else {
    await rm(p.tlsDir, { recursive: true, force: true })
  }
  await writeFileAtomic(p.metaFile, `${JSON.stringify(meta)}\n`, 0o600)
}

/** Remove a context: meta.json's directory first (the context is gone for the CLI), then its TLS files. */
export async function removeContext(configDir: string, name: string): Promise<void> {
  const p = contextPaths(configDir, name)
  // rm of a symlink removes the link, never what it points at.
  await rm(p.metaDir, { recursive: true, force: true })
  await rm(p.tlsDir, { recursive: true, force: true })
}

/** config.json's path, its symlink followed as the CLI does when it saves (a dotfiles link stays a link). */
function configJsonPath(configDir: string): string {
  const path = join(configDir, 'config.json')
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

const invalidConfig = (path: string, why: string) =>
  new MachineError('docker-config-invalid', `The docker CLI's ${path} is not valid JSON (${why}); it was left untouched`, {
    hint: 'fix or remove that file, then run the command again',
  })

/** config.json as an object ({} when there is none); a file that is not a JSON object is refused, never rewritten. */
export function readDockerConfig(configDir: string): { path: string; config: Record<string, unknown>; mode: number | undefined } {
  const path = configJsonPath(configDir)
  let text: string
  let mode: number | undefined
  try {
    const st = statSync(path)
    if (!st.isFile()) throw invalidConfig(path, 'not a file')
    mode = st.mode & 0o777
    text = readFileSync(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { path, config: {}, mode: undefined }
    throw e
  }
  // The CLI treats an empty file as no settings.
  if (text.trim() === '') return { path, config: {}, mode }
  let config: unknown
  try {
    config = JSON.parse(text)
  } catch (e) {
    throw invalidConfig(path, messageOf(e))
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw invalidConfig(path, 'not an object')
  return { path, config: config as Record<string, unknown>, mode }
}

/** The CLI's current context from config.json: undefined for "default" or when it cannot be read (the CLI warns then, and uses default). */
export function currentContextOf(configDir: string): string | undefined {
  try {
    const c = readDockerConfig(configDir).config.currentContext
    return typeof c === 'string' && c !== '' && c !== DEFAULT_CONTEXT ? c : undefined
  } catch {
    return undefined
  }
}

/**
 * Set (or with undefined, remove: the CLI's "default") config.json's currentContext, keeping
 * every other key: parsed, changed, written atomically with the file's mode (0600 for a new one),
 * tab-indented as the CLI writes it. Nothing is written when nothing changes.
 */
export async function setCurrentContext(configDir: string, name: string | undefined): Promise<void> {
  const { path, config, mode } = readDockerConfig(configDir)
  if (name === undefined ? !('currentContext' in config) : config.currentContext === name) return
  if (name === undefined) delete config.currentContext
  else config.currentContext = name
  await writeFileAtomic(path, JSON.stringify(config, null, '\t'), mode ?? 0o600)
}
