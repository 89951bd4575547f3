/**
 * The on-PATH half of a fake hypervisor CLI (fake-vboxmanage.ts, fake-vmrun.ts,
 * fake-powershell.ts): a state directory, a bin directory with one shell wrapper per tool name
 * that runs the fake's TypeScript with the toolchain's Node (type stripping: no build step), the
 * fake's call log, and a way to run a tool as the CLI does.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ROOT } from './cli.js'
import { tempDir, type TempScope } from './tmp.js'

export interface FakeCliDir {
  /** The fake's state directory (state.json, calls.log, …). */
  home: string
  /** Directory holding the wrappers: first on PATH. */
  binDir: string
  /** PATH with the fake first. */
  path: string
  /** Every line of the fake's calls.log, parsed, oldest first. */
  calls<T>(): T[]
  /** Run one of the wrappers as the CLI does (argv, no shell). */
  run(tool: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * A temp directory for the fake `script`, with a wrapper for each of `tools` (name → the
 * variables it sets besides `homeVar`, which names the state directory).
 */
export async function fakeCliDir(o: { prefix: string; script: string; homeVar: string; tools: Record<string, Record<string, string>>; scope?: TempScope }): Promise<FakeCliDir> {
  const home = await tempDir(o.prefix, { scope: o.scope })
  const binDir = join(home, 'bin')
  await mkdir(binDir)
  // Node's compile cache (in node_modules/.cache, kept between runs) takes ~0.3 s off every call.
  const cache = join(ROOT, 'node_modules', '.cache', o.script.replace(/^.*\/|\.ts$/g, ''))
  for (const [tool, vars] of Object.entries(o.tools)) {
    const assigns = Object.entries({ [o.homeVar]: home, ...vars, NODE_COMPILE_CACHE: cache })
      .map(([k, v]) => `${k}=${q(v)}`)
      .join(' ')
    await writeFile(join(binDir, tool), `#!/bin/sh\n${assigns} exec ${q(process.execPath)} ${q(o.script)} "$@"\n`, { mode: 0o755 })
  }
  return {
    home,
    binDir,
    path: `${binDir}:${process.env.PATH ?? ''}`,
    calls: <T>() => {
      const f = join(home, 'calls.log')
      return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T) : []
    },
    run: (tool, args, env = {}) =>
      new Promise((resolve) => {
        execFile(join(binDir, tool), args, { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
        })
      }),
  }
}
