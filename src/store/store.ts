import { lstatSync } from 'node:fs'
import { lstat, mkdir, readdir, rm } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { MachineError } from '../core/errors.js'
import { parseHost, serializeHost, type HostConfig } from '../core/host-config.js'
import { invalidMachineName, isValidMachineName, showName } from '../core/names.js'
import { isSecretField } from '../core/secrets.js'
import { writeFileAtomic } from './atomic.js'
import { creationState, type CreationState } from './creating.js'
import { configPath, machineDir, machinesDir } from './paths.js'
import { readStoreFileSync } from './safe-read.js'

/**
 * A driver config without the credentials an imported docker-machine config may hold in plain
 * text (core/secrets.ts: the same rule `inspect` redacts by). We never write them.
 */
export const stripSecrets = (driver: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(driver).filter(([k]) => !isSecretField(k)))

/** A machine of the store: its config, or the error that makes it unusable. */
export interface LoadedEntry {
  name: string
  host?: HostConfig
  error?: MachineError
  /** With an error: the config as far as it could be read (an unfinished create's), for display only. */
  known?: HostConfig
}

export const notFound = (name: string): MachineError =>
  new MachineError('machine-not-found', `Machine "${name}" does not exist`, {
    hint: 'run "machine ls" to list machines, or "machine create" to add one',
  })

export const machineExists = (name: string): MachineError =>
  new MachineError('machine-exists', `Machine "${name}" already exists`, {
    hint: `choose another name, or remove it first with "machine rm ${name}"`,
  })

/** The way out of a machine that cannot be used, for hints (names reaching here are valid). */
export const removeHint = (name: string): string => `remove the machine with "machine rm -f ${name}"`

export const createInterrupted = (name: string, detail = ''): MachineError =>
  new MachineError('create-interrupted', `The create of machine "${name}" was interrupted${detail}`, { hint: `remove it with "machine rm -f ${name}"` })

/** A machine whose create is still running in another process (`pid`). */
export class MachineCreating extends MachineError {
  constructor(
    name: string,
    readonly pid: number,
  ) {
    super('machine-creating', `Machine "${name}" is being created (by pid ${pid})`, { hint: 'wait for that create to finish, then run the command again' })
  }
}

const unfinished = (name: string, c: Exclude<CreationState, { state: 'complete' }>, detail?: string): MachineError =>
  c.state === 'creating' ? new MachineCreating(name, c.pid) : createInterrupted(name, detail)

export interface LoadOptions {
  /**
   * Load a machine whose create did not finish (rm: its journal and driver config say what to
   * delete). Without it, such a machine is an error (create-interrupted, machine-creating).
   */
  incomplete?: boolean
  /** The name came from names() (a real directory, just listed): no need to look again. */
  listed?: boolean
}

export class Store {
  constructor(readonly path: string) {}

  // Each machine's directory, resolved once: `ls` asks for every machine's several times, and
  // resolving paths was a measurable part of its start. Kept only for an absolute store path,
  // whose directories cannot change with the working directory.
  private readonly dirs = new Map<string, string>()

  dir(name: string): string {
    const known = this.dirs.get(name)
    if (known !== undefined) return known
    const dir = machineDir(this.path, name)
    if (isAbsolute(this.path)) this.dirs.set(name, dir)
    return dir
  }

  configPath(name: string): string {
    return configPath(this.dir(name))
  }

  /** Machine names in directory (byte) order; dot-directories are skipped, as docker-machine does. */
  async names(): Promise<string[]> {
    try {
      const entries = await readdir(machinesDir(this.path), { withFileTypes: true })
      return entries
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort()
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw e
    }
  }

  /** Whether `name` has a directory (a real one: a symlink is not followed). Invalid names throw. */
  async exists(name: string): Promise<boolean> {
    const dir = this.dir(name)
    try {
      return (await lstat(dir)).isDirectory()
    } catch {
      return false
    }
  }

  async load(name: string, o: LoadOptions = {}): Promise<HostConfig> {
    const dir = this.dir(name)
    // A real directory only, as exists() and names() see it: a symlinked entry is not followed.
    // (loadAll's names come from names(), which already looked.)
    if (!o.listed) {
      try {
        if (!lstatSync(dir).isDirectory()) throw notFound(name)
      } catch (e) {
        if (e instanceof MachineError) throw e
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') throw notFound(name)
        throw e
      }
    }
    if (!o.incomplete) {
      const c = creationState(this.path, name, dir, true)
      if (c.state !== 'complete') throw unfinished(name, c)
    }
    const path = configPath(dir)
    let text: string
    try {
      // Synchronous on purpose: `ls` reads hundreds of small files, and sync reads are ~7x
      // faster than promise reads bouncing through the thread pool (measured: 14 vs 100 ms).
      // Checked as it is opened: a FIFO, directory, symlink or huge file is this machine's
      // error, never a hang or a crash of `ls`.
      text = readStoreFileSync(path, 'Machine config', removeHint(name))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      // Reserved but never saved: a create killed before its first save (or still running).
      const c = creationState(this.path, name, dir, false)
      throw unfinished(name, c.state === 'complete' ? { state: 'interrupted' } : c, ` (no config.json in ${dir})`)
    }
    const host = await parseHost(text, path, name)
    // A config that names another machine is an error, not a rename: acting on it would
    // touch the other machine's files or host.
    if (host.Name !== name) {
      throw new MachineError('corrupt-config', `Machine config ${path} names the machine ${showName(host.Name)}, not "${name}"`, {
        hint: `set "Name" back to "${name}" in that file, or remove the entry with "machine rm -f ${name}"`,
      })
    }
    return host
  }

  /** Every machine, loaded concurrently; a machine that fails to load carries its error instead. */
  async loadAll(): Promise<LoadedEntry[]> {
    const names = await this.names()
    return Promise.all(
      names.map(async (name): Promise<LoadedEntry> => {
        try {
          if (!isValidMachineName(name)) {
            return { name, error: invalidMachineName(name, `rename or remove the directory ${join(machinesDir(this.path), name)} by hand; no command acts on it`) }
          }
          return { name, host: await this.load(name, { listed: true }) }
        } catch (e) {
          if (!(e instanceof MachineError)) throw e
          if (e.code !== 'create-interrupted' && e.code !== 'machine-creating') return { name, error: e }
          // An unfinished machine's row still shows what is known of it (its driver).
          const host = await this.load(name, { incomplete: true, listed: true }).catch(() => undefined)
          return { name, error: e, ...(host ? { known: host } : {}) }
        }
      }),
    )
  }

  async save(host: HostConfig): Promise<void> {
    const clean: HostConfig = { ...host, Driver: stripSecrets(host.Driver) }
    await writeFileAtomic(this.configPath(host.Name), serializeHost(clean), 0o600)
  }

  /**
   * Claim a name by creating its directory (mkdir is atomic: of two concurrent creates of the
   * same name exactly one wins).
   */
  async reserve(name: string): Promise<string> {
    await mkdir(machinesDir(this.path), { recursive: true, mode: 0o700 })
    try {
      await mkdir(this.dir(name), { mode: 0o700 })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw machineExists(name)
      }
      throw e
    }
    return this.dir(name)
  }

  async remove(name: string): Promise<void> {
    await rm(this.dir(name), { recursive: true, force: true })
  }
}
