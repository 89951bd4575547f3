#!/usr/bin/env node
// What `--qemu-accel auto` costs a create: the KVM probe (a real kernel booted under KVM to its
// root-mount step) the first time on a host, and the remembered verdict after that.
//
//   node bench/kvm-probe.mjs [--runs N]
//
// Uses the built CLI code (npm run build) and the test image's kernel (test/e2e/image/build-image.sh,
// cached). Each run probes in a fresh process-level memo; "cached" runs read <cache>/qemu-accel.json.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testImage } from './test-image.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3
const env = testImage({ quiet: true })
const { probeKvm, qemuSystemBinary, qemuVersion } = await import(join(root, 'dist/drivers/qemu/client.js'))
const { accelCacheKey, readVerdict, writeVerdict } = await import(join(root, 'dist/drivers/qemu/accel-cache.js'))
const bin = qemuSystemBinary('x86_64', undefined)
const dir = await mkdtemp(join(tmpdir(), 'bench-kvm-probe-'))
const ms = (t) => `${(performance.now() - t).toFixed(0)} ms`
try {
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    // A new kernel path each run defeats the in-process memo: every run really boots.
    const p = await probeKvm(bin, 'x86_64', { kernel: `${env.MACHINE_TEST_KERNEL}`, device: i % 2 ? '/dev/kvm' : '/dev/./kvm' })
    console.log(`probe ${i + 1}: ${ms(t)}  usable=${p.usable}  ${p.reason}`)
    const key = accelCacheKey({ accel: 'kvm', binary: bin, qemuVersion: await qemuVersion(bin), arch: 'x86_64' })
    await writeVerdict(dir, key, { usable: p.usable, reason: p.reason, proof: p.proof })
    const c = performance.now()
    await qemuVersion(bin)
    await readVerdict(dir, key)
    console.log(`remembered ${i + 1}: ${ms(c)} (qemu --version + reading the verdict)`)
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
