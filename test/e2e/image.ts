import { execFileSync } from 'node:child_process'
import { BUILD_SCRIPT, parseImageEnv } from './image/test-image.js'

/** Debian's name of an architecture, as build-image.sh takes it. */
export type ImageArch = 'amd64' | 'arm64'

export interface TestImage {
  image: string
  kernel: string
  initrd: string
  append: string
  /** A static busybox for the image's architecture (the tests' tiny container image). */
  busybox: string
}

/**
 * Build (or take from the cache) the Debian test image for an architecture: debootstrap, Docker
 * preinstalled. A foreign one is built through qemu-user-static (tens of minutes the first time).
 */
export function testImage(arch?: ImageArch): TestImage {
  const out = execFileSync('bash', [BUILD_SCRIPT, ...(arch ? ['--arch', arch] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 3_600_000 })
  const kv = parseImageEnv(out)
  return { image: kv.MACHINE_TEST_IMAGE!, kernel: kv.MACHINE_TEST_KERNEL!, initrd: kv.MACHINE_TEST_INITRD!, append: kv.MACHINE_TEST_APPEND!, busybox: kv.MACHINE_TEST_BUSYBOX! }
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
