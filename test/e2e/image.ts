import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from '../helpers/cli.js'

export interface TestImage {
  image: string
  kernel: string
  initrd: string
  append: string
}

/** Build (or take from the cache) the Debian test image: debootstrap, Docker preinstalled. */
export function testImage(): TestImage {
  const out = execFileSync('bash', [join(ROOT, 'test/e2e/image/build-image.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 1_500_000 })
  const kv = Object.fromEntries(
    out
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1]!, m[2]!.replace(/^'(.*)'$/, '$1')]),
  )
  return { image: kv.MACHINE_TEST_IMAGE!, kernel: kv.MACHINE_TEST_KERNEL!, initrd: kv.MACHINE_TEST_INITRD!, append: kv.MACHINE_TEST_APPEND! }
}

export const qemuFlags = (img: TestImage): string[] => [
  '-d',
  'qemu',
  '--qemu-image',
  img.image,
  '--qemu-kernel',
  img.kernel,
  '--qemu-initrd',
  img.initrd,
  '--qemu-append',
  img.append,
  // Docker is preinstalled in the test image: nothing is downloaded inside the VM.
  '--engine-install-url',
  'none',
]
