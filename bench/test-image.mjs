// The test VM image the benches boot: built (or taken from its cache) by
// test/e2e/image/build-image.sh, whose last lines are KEY='value' pairs (MACHINE_TEST_IMAGE,
// MACHINE_TEST_KERNEL, MACHINE_TEST_INITRD, MACHINE_TEST_APPEND…). The builder's progress goes to
// stderr, shown unless `quiet`.
import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'

export function testImage({ quiet = false } = {}) {
  const script = join(resolve(import.meta.dirname, '..'), 'test/e2e/image/build-image.sh')
  return Object.fromEntries(
    execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', quiet ? 'ignore' : 'inherit'] })
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
      .filter(Boolean)
      .map((m) => [m[1], m[2].replace(/^'(.*)'$/, '$1')]),
  )
}
