/**
 * The dashboard's FleetWatch polls while a page listens: when the last page leaves, polling
 * pauses, and a page that comes later (a reload that closed its old stream first) gets live
 * changes again.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FleetWatch, type FleetChange } from '../../src/dashboard/fleet.js'
import { Store } from '../../src/store/store.js'
import { tempDir } from '../helpers/tmp.js'

const until = async (what: () => boolean, ms = 5000): Promise<boolean> => {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (what()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return what()
}

describe('dashboard fleet watch', () => {
  it('a listener that comes after every other one left still gets the changes', async () => {
    const path = await tempDir('machine-fleet-')
    const watch = new FleetWatch(new Store(path), { env: { MACHINE_DASHBOARD_POLL_MS: '100' } })
    try {
      await watch.ready()
      const first: FleetChange[] = []
      const leave = watch.listen((c) => first.push(c))
      await new Promise((r) => setTimeout(r, 250))
      leave()
      const later: FleetChange[] = []
      watch.listen((c) => later.push(c))
      // A machine appears (one whose config does not load is still a row, with its error).
      await mkdir(join(path, 'machines', 'newcomer'), { recursive: true })
      await writeFile(join(path, 'machines', 'newcomer', 'config.json'), '{', { mode: 0o600 })
      expect(await until(() => later.some((c) => c.changed.some((r) => r.name === 'newcomer')))).toBe(true)
    } finally {
      watch.stop()
    }
  })
})
