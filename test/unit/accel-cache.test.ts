import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { release, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { accelCacheKey, accelCachePath, readVerdict, writeVerdict } from '../../drivers/qemu/accel-cache.js'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})
const cacheDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'accel-cache-'))
  dirs.push(d)
  return join(d, 'cache')
}

describe('remembered accelerator verdicts', () => {
  const key = accelCacheKey({ accel: 'kvm', binary: '/usr/bin/qemu-system-x86_64', qemuVersion: '7.2.22', arch: 'x86_64' })

  it('are keyed by accelerator, host kernel, QEMU binary and version, and guest architecture', () => {
    expect(key).toBe(`kvm | host-kernel ${release()} | /usr/bin/qemu-system-x86_64 7.2.22 | x86_64`)
    // A kernel or QEMU update is another host as far as the verdict goes.
    expect(accelCacheKey({ accel: 'kvm', binary: '/usr/bin/qemu-system-x86_64', qemuVersion: '8.2.0', arch: 'x86_64' })).not.toBe(key)
    expect(accelCacheKey({ accel: 'kvm', binary: '/usr/bin/qemu-system-x86_64', qemuVersion: '7.2.22', arch: 'x86_64', hostKernel: '6.1.0' })).not.toBe(key)
  })

  it('round-trip, keep other entries, and a missing or corrupt file is no verdict', async () => {
    const dir = await cacheDir()
    expect(await readVerdict(dir, key)).toBeUndefined()
    await writeVerdict(dir, key, { usable: false, reason: 'a guest kernel did not boot under KVM within 10.0 s', proof: 'probe-kernel' })
    await writeVerdict(dir, 'other', { usable: true, reason: 'ok', proof: 'boot' })
    expect(await readVerdict(dir, key)).toMatchObject({ usable: false, proof: 'probe-kernel', checkedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) })
    expect(Object.keys(JSON.parse(await readFile(accelCachePath(dir), 'utf8')).hosts)).toEqual([key, 'other'])
    await writeFile(accelCachePath(dir), '{not json')
    expect(await readVerdict(dir, key)).toBeUndefined()
  })
})
