import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { lockMachine } from '../../src/store/lock.js'
import { machineDir } from '../../src/store/paths.js'
import { Store } from '../../src/store/store.js'
import { errorLine, errorLineAsync } from '../helpers/errors.js'
import { tempDir } from '../helpers/tmp.js'

const BAD = ['..', '.', '../certs', '../../x', '/etc', 'a/b', 'a\\b', '', ' m', 'm\n', 'm\u0000', '.hidden', '-rf', 'a b']

describe('a machine name becomes a path in one place, and only under machines/', () => {
  it('machineDir refuses every name that fails the rule, with one line', () => {
    for (const name of BAD) expect(errorLine(() => machineDir('/s', name)), JSON.stringify(name)).toMatch(/^Invalid machine name ".*": use letters, digits/)
  })

  it('valid names resolve directly under machines/', () => {
    for (const name of ['m1', 'a.b', 'a..b', 'A-9', 'x'.repeat(100)]) expect(machineDir('/s', name)).toBe(join('/s/machines', name))
  })

  it('Store.exists / load / remove and the machine lock refuse such names instead of touching anything', async () => {
    const store = new Store(await tempDir('machine-paths-'))
    await mkdir(join(store.path, 'certs'), { recursive: true })
    await writeFile(join(store.path, 'certs', 'ca-key.pem'), 'key')
    for (const name of ['..', '../certs']) {
      await expect(store.exists(name)).rejects.toThrow(/Invalid machine name/)
      await expect(store.load(name)).rejects.toThrow(/Invalid machine name/)
      await expect(store.remove(name)).rejects.toThrow(/Invalid machine name/)
      expect(await errorLineAsync(() => lockMachine(store.path, name))).toMatch(/^Invalid machine name/)
    }
    expect(await store.exists('certs')).toBe(false)
  })

  it('a directory under machines/ whose name breaks the rule is its own error row in loadAll, with a hint that acts on nothing', async () => {
    const store = new Store(await tempDir('machine-paths-'))
    await mkdir(join(store.path, 'machines', 'bad name'), { recursive: true })
    const rows = await store.loadAll()
    expect(rows).toHaveLength(1)
    expect(rows[0]!.error?.code).toBe('invalid-name')
    expect(rows[0]!.error?.hint).toMatch(/by hand; no command acts on it/)
  })
})
