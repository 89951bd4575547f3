import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Journal, JournalEntry } from '../driver-kit/contract.js'
import { writeFileAtomic } from './atomic.js'

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
    const path = join(machineDir, 'journal.json')
    let list: JournalEntry[] = []
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as { resources?: JournalEntry[] }
      list = Array.isArray(parsed.resources) ? parsed.resources : []
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
    return new FileJournal(path, list)
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
