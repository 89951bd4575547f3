/**
 * `machine export` and `machine import`: one machine of this store sealed into a file with a
 * passphrase (sealed.ts), and opened into another computer's store, pinned and usable, under a
 * name that must be free there. What travels is bundle.ts's business.
 */
import { isLoopbackHost, parseEngineUrl } from '../core/engine-url.js'
import { existsSync } from 'node:fs'
import { open, readFile, rm } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { MachineError } from '../core/errors.js'
import { capabilitiesOf } from '../driver-kit/contract.js'
import { getDriverDefinition } from '../registry/index.js'
import { writeFileAtomic } from '../store/atomic.js'
import { markCreated, markCreating } from '../store/creating.js'
import { lockMachine } from '../store/lock.js'
import { certsDir } from '../store/paths.js'
import { machineExists, Store } from '../store/store.js'
import { readStoreFileSync } from '../store/safe-read.js'
import type { Config } from '@oclif/core'
import { bundleOf, filesForImport, hostForImport, readBundle, type Bundle } from './bundle.js'
import { MIN_PASSPHRASE, seal, unseal } from './sealed.js'

/** A sealed file is a few KiB; this bounds what import reads from a path it was given. */
const MAX_SEALED = 1024 * 1024

const isLoopbackUrl = (url: string): boolean => {
  try {
    return isLoopbackHost(parseEngineUrl(url).host)
  } catch {
    return false
  }
}

export interface ExportResult {
  name: string
  file: string
  /** Said to the user: e.g. the engine is on a loopback address only this computer reaches. */
  warnings: string[]
}

/** Seal machine `name` into `file` (a new file, 0600: it holds keys; an existing file is never overwritten). */
export async function exportMachine(store: Store, name: string, file: string, passphrase: string, o: { config?: Config } = {}): Promise<ExportResult> {
  checkPassphrase(passphrase)
  const host = await store.load(name)
  const def = await getDriverDefinition(host.DriverName, o.config)
  if (capabilitiesOf(def).local) {
    throw new MachineError('not-exportable', `"${name}" is a ${def.name} VM on this computer: another computer can neither start it nor reach its engine`, {
      hint: 'share machines of the cloud, generic or none drivers; on the other computer create a local VM of its own',
    })
  }
  const bundle = await bundleOf(host, store.dir(name))
  const sealed = await seal(Buffer.from(JSON.stringify(bundle)), passphrase)
  const fh = await open(file, 'wx', 0o600).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EEXIST') throw new MachineError('file-exists', `${file} already exists`, { hint: 'choose another file name (an existing file is never overwritten)' })
    throw e
  })
  try {
    await fh.writeFile(sealed)
  } catch (e) {
    await fh.close()
    await rm(file, { force: true })
    throw e
  }
  await fh.close()
  const url = String(host.Driver.URL ?? host.Driver.EngineURL ?? '')
  const warnings = isLoopbackUrl(url) ? [`"${name}"'s engine is at ${url}: only a computer where that address leads to the engine can use it`] : []
  return { name, file, warnings }
}

export interface ImportResult {
  name: string
  driver: string
  exportedAt: string
}

/** Open `file` and add its machine to this store as `rename` or its own name, which must be free. */
export async function importMachine(store: Store, file: string, passphrase: string, o: { rename?: string; config?: Config } = {}): Promise<ImportResult> {
  let text: string
  try {
    text = readStoreFileSync(file, 'exported machine', 'give the file "machine export" wrote', MAX_SEALED)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MachineError('file-not-found', `${file} does not exist`, { hint: 'give the file "machine export NAME -o FILE" wrote' })
    throw e
  }
  const bundle = await readBundle(await unseal(text, passphrase, file), o.rename)
  const def = await getDriverDefinition(bundle.config.DriverName, o.config)
  if (capabilitiesOf(def).local) throw new MachineError('not-importable', `The exported machine is a ${def.name} VM of another computer: it cannot be used from here`)
  if (await store.exists(bundle.name)) throw machineExists(bundle.name)
  await addMachine(store, bundle)
  return { name: bundle.name, driver: def.name, exportedAt: bundle.exportedAt }
}

/**
 * Write a checked bundle as machine `bundle.name` of `store`: under its lock, marked as being
 * made until config.json is written (an interrupted import is never a machine), removed again
 * on any failure. `caKey`: the CA's key, for a machine taken from another store of this user.
 */
async function addMachine(store: Store, bundle: Bundle, caKey?: string): Promise<void> {
  const name = bundle.name
  const lock = await lockMachine(store.path, name).catch((e: unknown) => {
    throw e instanceof MachineError && e.code === 'machine-locked' ? machineExists(name) : e
  })
  let dir: string | undefined
  try {
    dir = await store.reserve(name)
    await markCreating(dir)
    for (const f of filesForImport(bundle, dir, caKey)) await writeFileAtomic(f.path, f.data, f.mode)
    await store.save(hostForImport(bundle, store.path, dir, caKey !== undefined))
    await markCreated(dir)
  } catch (e) {
    if (dir) await store.remove(name).catch(() => undefined)
    throw e
  } finally {
    await lock.release()
  }
}

/**
 * `machine import --from-store DIR [NAME…]`: machines of another store on this computer — a
 * docker-machine 0.16 store, or one of ours at another path — copied into this one, each
 * self-contained: its certificates, SSH key and pinned host key (docker-machine pinned none),
 * and the CA's key, so provision and regenerate-certs work here once DIR is gone. Cloud secrets
 * in a docker-machine config are dropped, as for any config this store saves. Every name must
 * be free here and every machine readable before any is written.
 */
export async function importFromStore(store: Store, from: string, names: readonly string[], o: { config?: Config } = {}): Promise<ImportResult[]> {
  const source = new Store(resolve(from))
  if (resolve(from) === store.path) throw new MachineError('same-store', `${from} is this store`, { hint: 'give the directory of the other store (the one holding machines/ and certs/)' })
  if (!existsSync(join(source.path, 'machines'))) {
    throw new MachineError('not-a-store', `${from} has no machines/ directory: not a machine or docker-machine store`, { hint: 'give the store directory, e.g. ~/.docker/machine of the old install' })
  }
  const list = names.length ? [...names] : await source.names()
  if (!list.length) throw new MachineError('no-machines', `${from} has no machines to import`)
  const caKey = await readFile(join(certsDir(source.path), 'ca-key.pem'), 'utf8').catch(() => undefined)
  const plans: Array<{ bundle: Bundle; driver: string }> = []
  for (const name of list) {
    const host = await source.load(name)
    const def = await getDriverDefinition(host.DriverName, o.config)
    if (capabilitiesOf(def).local) {
      throw new MachineError('not-importable', `"${name}" is a ${def.name} VM made by ${from}'s tool: its VM cannot be taken over`, { hint: `import the others by name, or recreate "${name}" here` })
    }
    if (await store.exists(name)) throw machineExists(name)
    // The SSH key as the config names it, else its file of that name in the machine's own
    // directory there (a store that was moved keeps its files, not its absolute paths).
    const dir = source.dir(name)
    const recorded = typeof host.Driver.SSHKeyPath === 'string' ? host.Driver.SSHKeyPath : ''
    const key = recorded && !existsSync(recorded) ? join(dir, basename(recorded)) : recorded
    const bundle = await readBundle(Buffer.from(JSON.stringify(await bundleOf({ ...host, Driver: { ...host.Driver, SSHKeyPath: key } }, dir))))
    plans.push({ bundle, driver: def.name })
  }
  const done: ImportResult[] = []
  for (const p of plans) {
    await addMachine(store, p.bundle, caKey)
    done.push({ name: p.bundle.name, driver: p.driver, exportedAt: '' })
  }
  return done
}

export function checkPassphrase(p: string): void {
  if ([...p].length < MIN_PASSPHRASE) {
    throw new MachineError('weak-passphrase', `The passphrase is shorter than ${MIN_PASSPHRASE} characters`, { hint: 'the file holds the keys to the machine: use a long passphrase (several words)' })
  }
}
