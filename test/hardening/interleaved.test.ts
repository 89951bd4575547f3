import { X509Certificate } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli, tempStore } from '../helpers/cli.js'

// create / rm / env / ls / inspect of a few names, all at once and in a seeded random order,
// through the built binary (none driver: no network beyond recording a loopback URL).
const NAMES = ['i0', 'i1', 'i2', 'i3']
const URL = 'tcp://127.0.0.1:23798'
const ROUNDS = 40

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => ((x = (x * 1103515245 + 12345) >>> 0), x / 2 ** 32)
}

// What a command may answer when another one is changing the same machine at that moment.
const ALLOWED = /^Error: (Machine "i\d" (already exists|does not exist|is busy|is being created)|The create of machine "i\d" (is still running|was interrupted))[^\n]*\n$/

describe('interleaved create/rm/env/ls on one store', () => {
  it(`${ROUNDS} commands at once: each succeeds or fails with one expected line, and the store ends consistent`, { timeout: 120_000 }, async () => {
    const store = await tempStore()
    const seed = Number(process.env.INTERLEAVE_SEED ?? 7)
    const next = rng(seed)
    const cmds = Array.from({ length: ROUNDS }, () => {
      const name = NAMES[Math.floor(next() * NAMES.length)]!
      const kind = Math.floor(next() * 5)
      return kind === 0 || kind === 1
        ? ['create', '-d', 'none', '--url', URL, name]
        : kind === 2
          ? ['rm', '-y', name]
          : kind === 3
            ? ['env', name]
            : ['ls', '--format', '{{.Name}} {{.State}} {{.Error}}']
    })
    const results = await Promise.all(cmds.map((args) => runCli(args, { store })))
    for (const [i, r] of results.entries()) {
      const what = `seed ${seed}: ${cmds[i]!.join(' ')} → exit ${r.code}\n${r.stderr}`
      if (r.code === 0) {
        expect(r.stderr, what).not.toMatch(/Error|at .*\.js:\d+/)
      } else {
        expect(r.stderr, what).toMatch(ALLOWED)
      }
    }
    // At rest: every entry is a complete machine whose certificates verify against the one CA.
    const ls = await runCli(['ls', '--format', '{{.Name}}|{{.State}}|{{.Error}}'], { store })
    expect(ls.code, ls.stderr).toBe(0)
    const rows = ls.stdout.split('\n').filter(Boolean)
    const dirs = (await readdir(join(store, 'machines')).catch(() => [] as string[])).filter((d) => !d.startsWith('.')).sort()
    expect(rows.map((r) => r.split('|')[0]).sort()).toEqual(dirs)
    // The none driver's machines are Running; nothing is half made (the engine itself is not
    // there, so the error column may say the connection was refused, nothing else).
    for (const row of rows) expect(row, `seed ${seed}`).toMatch(/^i\d\|Running\|(|Docker engine at 127\.0\.0\.1:23798 refused the connection.*)$/)
    if (dirs.length) {
      const ca = new X509Certificate(await readFile(join(store, 'certs', 'ca.pem'), 'utf8'))
      for (const d of dirs) expect(new X509Certificate(await readFile(join(store, 'machines', d, 'cert.pem'), 'utf8')).verify(ca.publicKey), d).toBe(true)
    }
    expect(await readdir(join(store, '.locks')).catch(() => [])).toEqual([])
  })
})
