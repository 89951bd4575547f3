#!/usr/bin/env node
// Boot-to-SSH-banner time of the test image under the qemu driver.
//
//   node bench/qemu-boot.mjs [--runs N] [--cpus N] [--memory MB] [--accel auto|kvm|tcg]
//
// Builds (or reuses the cached) test image with test/e2e/image/build-image.sh, then for each run:
// driver.create() → wait for "SSH-" on the forwarded port → driver.remove(). Prints one line per
// run and a summary, in seconds. Needs Node >= 22.18 (runs the TypeScript sources directly).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { registerHooks } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

// The sources use TypeScript parameter properties in places: re-run with type transformation on.
if (!process.execArgv.includes('--experimental-transform-types')) {
  const r = spawnSync(process.execPath, ['--experimental-transform-types', '--no-warnings', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  })
  process.exit(r.status ?? 1)
}

// Imports in the sources name ".js" files (NodeNext); load the ".ts" next to them.
registerHooks({
  resolve(spec, ctx, next) {
    if (spec.endsWith('.js') && (spec.startsWith('.') || spec.startsWith('/')) && ctx.parentURL?.startsWith('file:')) {
      const u = new URL(spec, ctx.parentURL)
      if (!existsSync(fileURLToPath(u))) {
        const ts = new URL(u.href.replace(/\.js$/, '.ts'))
        if (existsSync(fileURLToPath(ts))) return next(ts.href, ctx)
      }
    }
    return next(spec, ctx)
  },
})

const root = fileURLToPath(new URL('..', import.meta.url))
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt
}
const runs = Number(arg('runs', '1'))

const imp = (p) => import(pathToFileURL(join(root, p)).href)
const { default: qemu } = await imp('drivers/qemu/index.ts')
const { makeDriverContext } = await imp('src/driver-kit/conformance.ts')
const { MemoryJournal } = await imp('src/driver-kit/memory-journal.ts')
const { ensureTestImage, waitForSshBanner } = await imp('test/e2e/image/test-image.ts')

const t0 = Date.now()
const img = await ensureTestImage()
console.error(`image: ${img.image} (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`)

const store = await mkdtemp(join(tmpdir(), 'qemu-bench-'))
const times = []
try {
  for (let i = 1; i <= runs; i++) {
    const ctx = await makeDriverContext(
      qemu,
      {
        'qemu-image': img.image,
        'qemu-kernel': img.kernel,
        'qemu-initrd': img.initrd,
        'qemu-append': img.append,
        'qemu-cpus': Number(arg('cpus', '2')),
        'qemu-memory': Number(arg('memory', '1536')),
        'qemu-disk-size': '8G',
        'qemu-accel': arg('accel', 'auto'),
      },
      { PATH: process.env.PATH },
      store,
      `bench${i}`,
    )
    ctx.log = { info: (l) => console.error(`  ${l}`), debug: () => {} }
    const driver = (await qemu.load()).createDriver(ctx)
    const journal = new MemoryJournal()
    try {
      const start = Date.now()
      await driver.create(journal)
      const launched = Date.now()
      const { banner } = await waitForSshBanner(Number(ctx.config.SSHPort), 600_000)
      const s = (Date.now() - start) / 1000
      times.push(s)
      console.log(`run ${i}: SSH banner after ${s.toFixed(1)} s (create ${((launched - start) / 1000).toFixed(1)} s) ${banner}`)
    } finally {
      await driver.remove(journal)
    }
  }
} finally {
  await rm(store, { recursive: true, force: true })
}
const sorted = [...times].sort((a, b) => a - b)
const median = sorted[Math.floor(sorted.length / 2)]
console.log(`qemu boot to SSH banner: median ${median.toFixed(1)} s, min ${sorted[0].toFixed(1)} s, max ${sorted.at(-1).toFixed(1)} s over ${times.length} run(s)`)
