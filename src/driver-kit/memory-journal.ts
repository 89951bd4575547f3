import type { Journal, JournalEntry } from './contract.js'

/** A journal held in memory: for tests and for the conformance suite. */
export class MemoryJournal implements Journal {
  private list: JournalEntry[] = []

  async record(entry: JournalEntry): Promise<void> {
    this.list.push(structuredClone(entry))
  }

  async update(kind: string, id: string, data: Record<string, unknown>): Promise<void> {
    const e = this.list.find((x) => x.kind === kind && x.id === id)
    if (e) e.data = { ...e.data, ...data }
  }

  async forget(kind: string, id: string): Promise<void> {
    this.list = this.list.filter((x) => !(x.kind === kind && x.id === id))
  }

  entries(): readonly JournalEntry[] {
    return this.list
  }
}
