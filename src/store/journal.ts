import { rm } from 'node:fs/promises'
import { basename } from 'node:path'
import { MachineError } from '../core/errors.js'
import type { Journal, JournalEntry } from '../driver-kit/contract.js'
import { writeFileAtomic } from './atomic.js'
import { journalPath } from './paths.js'
import { readStoreFileSync } from './safe-read.js'

/**
 * The machine's resource journal on disk (`journal.json`). Every change is written atomically
 * before the call returns, so a crash or Ctrl-C at any point leaves a journal that lists what
 * may exist; rollback and `rm` work from it.
 */
export class FileJournal implements Journal {
  private list: JournalEntry[]

  private constructor(
    readonly path: string,
    list: JournalEntry[],
  ) {
    this.list = list
  }

  static async open(machineDir: string): Promise<FileJournal> {
    const path = journalPath(machineDir)
    const name = basename(machineDir)
    const orElse = `remove the machine with "machine rm -f ${name}" (what the journal lists may then be left behind)`
    let text: string
    try {
      // Like config.json: a FIFO, link or huge file here is an error naming it, never a hang.
      text = readStoreFileSync(path, 'Resource journal', orElse)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new FileJournal(path, [])
      throw e
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (e) {
      throw new MachineError('corrupt-journal', `Corrupt resource journal ${path}: ${(e as Error).message}`, { hint: `fix the file (it was left untouched), or ${orElse}` })
    }
    const resources = (parsed as { resources?: unknown } | null)?.resources
    const valid = (x: unknown): x is JournalEntry => !!x && typeof (x as JournalEntry).kind === 'string' && typeof (x as JournalEntry).id === 'string'
    if (resources !== undefined && !(Array.isArray(resources) && resources.every(valid))) {
      throw new MachineError('corrupt-journal', `Corrupt resource journal ${path}: "resources" is not a list of {kind, id} entries`, { hint: `fix the file (it was left untouched), or ${orElse}` })
    }
    return new FileJournal(path, resources ?? [])
  }

  private async save(): Promise<void> {
    if (this.list.length === 0) {
      await rm(this.path, { force: true })
      return
    }
    await writeFileAtomic(this.path, `${JSON.stringify({ resources: this.list }, null, 2)}\n`, 0o600)
  }

  async record(entry: JournalEntry): Promise<void> {
    this.list.push(structuredClone(entry))
    await this.save()
  }

  async update(kind: string, id: string, data: Record<string, unknown>): Promise<void> {
    const e = this.list.find((x) => x.kind === kind && x.id === id)
    if (!e) return
    e.data = { ...e.data, ...data }
    await this.save()
  }

  async forget(kind: string, id: string): Promise<void> {
    const before = this.list.length
    this.list = this.list.filter((x) => !(x.kind === kind && x.id === id))
    if (this.list.length !== before) await this.save()
  }

  entries(): readonly JournalEntry[] {
    return this.list
  }
}
