/** What `machine prune` counts as owned by the store, and the age column. */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ageOf, storeOwnership } from '../../src/services/prune.js'
import { storeMarker } from '../../src/driver-kit/store-marker.js'
import { Store } from '../../src/store/store.js'
import { storeOwning } from '../helpers/prune.js'

describe('prune ownership', () => {
  it("owns the ids of saved machines and of a running create's journal, and protects the names of entries with no saved id", async () => {
    const path = await storeOwning({ web1: ['amazonec2', 'id-web1'] })
    const store = new Store(path)
    // A create in progress: no config.json yet, its journal names the machine id.
    await mkdir(store.dir('web2'))
    await writeFile(join(store.dir('web2'), 'journal.json'), JSON.stringify({ resources: [{ kind: 'instance-request', id: 'tok', data: { machineId: 'id-web2' } }] }))
    // Broken: neither config.json nor journal can be read.
    await mkdir(store.dir('web3'))
    await writeFile(join(store.dir('web3'), 'config.json'), '{"ConfigVersion": 3, "Driver": ')
    const o = await storeOwnership(store)
    expect([...o.ids].sort()).toEqual(['id-web1', 'id-web2'])
    // web2's create has not saved its config yet (a driver may journal no id): its name protects it too.
    expect([...o.protectedNames].sort()).toEqual(['web2', 'web3'])
  })

  it('marks a store by host and path: the same path gives the same mark, another path another', () => {
    expect(storeMarker('/a/store')).toMatch(/^[0-9a-f]{16}$/)
    expect(storeMarker('/a/store')).toBe(storeMarker('/a/../a/store'))
    expect(storeMarker('/a/store')).not.toBe(storeMarker('/b/store'))
  })

  it('ages: minutes, hours up to two days, then days; unknown is empty', () => {
    const now = Date.parse('2026-12-05T12:00:00Z')
    expect(ageOf('2026-12-05T11:55:00Z', now)).toBe('5m')
    expect(ageOf('2026-12-04T12:00:00Z', now)).toBe('24h')
    expect(ageOf('2026-12-01T12:00:00Z', now)).toBe('4d')
    expect(ageOf(undefined, now)).toBe('')
    expect(ageOf('not a date', now)).toBe('')
  })
})
