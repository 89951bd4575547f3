/**
 * test/e2e/image/build-image.sh's architecture parameter, without building anything: a bad
 * --arch is refused in one line before any work, and the cache is keyed by the script's hash and
 * the architecture (a cached image of each is found under its own directory).
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BUILD_SCRIPT, parseImageEnv } from '../e2e/image/test-image.js'
import { tempDir } from '../helpers/tmp.js'

const HASH = createHash('sha256').update(readFileSync(BUILD_SCRIPT)).digest('hex').slice(0, 16)
const build = (args: string[], env: Record<string, string>) => spawnSync('bash', [BUILD_SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 })

/** A cache root holding a finished image of `arch` (what a build leaves: image.env and .complete). */
function fakeCache(root: string, arch: string): void {
  const dir = join(root, `${HASH}-${arch}`)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'image.env'), `MACHINE_TEST_IMAGE=${dir}/disk.qcow2\nMACHINE_TEST_APPEND='root=/dev/vda rw console=${arch === 'arm64' ? 'ttyAMA0' : 'ttyS0'} net.ifnames=0'\nMACHINE_TEST_ARCH=${arch}\n`)
  writeFileSync(join(dir, '.complete'), 'now\n')
}

describe('build-image.sh --arch', () => {
  it('an unknown architecture or argument: one line, exit 1, nothing made', async () => {
    const cache = await tempDir('machine-image-cache-')
    for (const [args, env, line] of [
      [['--arch', 'riscv64'], {}, "[build-image] error: unsupported architecture 'riscv64' (amd64 and arm64 are supported; needs a Debian-family host)"],
      [[], { MACHINE_TEST_IMAGE_ARCH: 'i386' }, "[build-image] error: unsupported architecture 'i386' (amd64 and arm64 are supported; needs a Debian-family host)"],
      [['--arch'], {}, '[build-image] error: --arch needs a value (amd64 or arm64)'],
      [['--bogus'], {}, "[build-image] error: unknown argument '--bogus' (usage: build-image.sh [--arch amd64|arm64])"],
    ] as const) {
      const r = build([...args], { ...env, MACHINE_TEST_IMAGE_CACHE: cache })
      expect(r.status).toBe(1)
      expect(r.stderr).toBe(`${line}\n`)
      expect(r.stdout).toBe('')
    }
    expect(spawnSync('ls', ['-A', cache], { encoding: 'utf8' }).stdout).toBe('')
  })

  it('each architecture has its own cached image, chosen by --arch or MACHINE_TEST_IMAGE_ARCH', async () => {
    const cache = await tempDir('machine-image-cache-')
    fakeCache(cache, 'arm64')
    fakeCache(cache, 'amd64')
    const arm = build(['--arch', 'arm64'], { MACHINE_TEST_IMAGE_CACHE: cache })
    expect(arm.status, arm.stderr).toBe(0)
    expect(parseImageEnv(arm.stdout)).toEqual({
      MACHINE_TEST_IMAGE: join(cache, `${HASH}-arm64`, 'disk.qcow2'),
      MACHINE_TEST_APPEND: 'root=/dev/vda rw console=ttyAMA0 net.ifnames=0',
      MACHINE_TEST_ARCH: 'arm64',
    })
    const viaEnv = build([], { MACHINE_TEST_IMAGE_CACHE: cache, MACHINE_TEST_IMAGE_ARCH: 'amd64' })
    expect(parseImageEnv(viaEnv.stdout).MACHINE_TEST_ARCH).toBe('amd64')
    expect(parseImageEnv(build(['--arch=arm64'], { MACHINE_TEST_IMAGE_CACHE: cache }).stdout).MACHINE_TEST_ARCH).toBe('arm64')
  })
})
