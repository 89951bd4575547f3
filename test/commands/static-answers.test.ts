// `machine --help` (and `machine` alone) and `machine version` are answered from what the build
// kept of oclif's answers (src/fast/static-answers.ts): the same bytes as oclif's, in a pipe or in
// a terminal of any width, without loading oclif, and oclif answers whenever it could render them
// differently.
import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { RootHelpPart } from '../../src/fast/help-layout.js'
import { rootHelpText } from '../../src/fast/static-answers.js'
import { loadsOclif, ROOT, runCli, tempStore } from '../helpers/cli.js'
import { runInTerminal, type TerminalRun } from '../helpers/terminal.js'
import { tempDir } from '../helpers/tmp.js'

/** A HOME with no theme and no plugins, so only what a test adds can change the answer. */
async function cleanEnv(): Promise<NodeJS.ProcessEnv> {
  const home = await tempDir('static-home-')
  return { HOME: home, XDG_CONFIG_HOME: '', XDG_DATA_HOME: '', MACHINE_CONFIG_DIR: '', MACHINE_DATA_DIR: '', OCLIF_COLUMNS: '', FORCE_COLOR: undefined, MACHINE_STORAGE_PATH: await tempStore() }
}

describe('the root help and version without oclif', () => {
  it('print exactly what oclif prints, without loading it', async () => {
    const env = await cleanEnv()
    for (const args of [['--help'], [], ['version'], ['version', '--json'], ['--json', 'version'], ['-s', '/tmp/elsewhere', 'version']]) {
      const fast = await runCli(args, { env })
      const slow = await runCli(args, { env: { ...env, MACHINE_NO_FAST_PATH: '1' } })
      expect(fast.code, args.join(' ')).toBe(0)
      expect(fast.stderr).toBe('')
      expect(fast.stdout, args.join(' ')).toBe(slow.stdout)
      expect(await loadsOclif(args, env), args.join(' ')).toBe(false)
    }
    const help = (await runCli(['--help'], { env })).stdout
    expect(help).toContain(`VERSION\n  machine/${JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version} ${process.platform}-${process.arch} node-${process.version}\n`)
    expect(help).toMatch(/\n {2}ls +List machines with their state, URL and Docker version\n/)
    expect((await runCli(['version'], { env })).stdout).toMatch(/^machine version \d+\.\d+\.\d+/)
  })

  it('read a missing NAME from stdin as oclif does: `echo NAME | machine version` (or env) is about NAME', async () => {
    // Both paths give stdin up after OCLIF_STDIN_TIMEOUT_MS (10 ms unset): on a loaded machine the
    // piped text could come later than that for one of them. A long bound: EOF ends the read.
    const env = { ...(await cleanEnv()), OCLIF_STDIN_TIMEOUT_MS: '10000' }
    for (const args of [['version'], ['env']]) {
      const fast = await runCli(args, { env, input: 'nosuch\n' })
      const slow = await runCli(args, { env: { ...env, MACHINE_NO_FAST_PATH: '1' }, input: 'nosuch\n' })
      expect(fast.stderr, args[0]).toMatch(/"nosuch"/)
      expect({ ...fast, ms: 0 }).toEqual({ ...slow, ms: 0 })
    }
    // An empty stdin gives no name: the fixed text, without oclif.
    expect((await runCli(['version'], { env, input: '' })).stdout).toMatch(/^machine version /)
  })

  it('leave to oclif what it would render differently: a width, a theme, plugins, help for a command', async () => {
    const env = await cleanEnv()
    const narrow = await runCli(['--help'], { env: { ...env, OCLIF_COLUMNS: '50' } })
    expect(narrow.stdout).toBe((await runCli(['--help'], { env: { ...env, OCLIF_COLUMNS: '50', MACHINE_NO_FAST_PATH: '1' } })).stdout)
    expect(narrow.stdout).not.toBe((await runCli(['--help'], { env })).stdout) // 50 columns, not the built 80
    expect(await loadsOclif(['--help'], { ...env, OCLIF_COLUMNS: '50' })).toBe(true)

    const config = join(env.HOME!, '.config', 'machine')
    await mkdir(config, { recursive: true })
    await writeFile(join(config, 'theme.json'), '{"sectionHeader": "red"}')
    expect(await loadsOclif(['--help'], env)).toBe(true)
    expect(await loadsOclif(['version'], env)).toBe(false) // version has no theme

    const data = await tempDir('static-data-')
    await writeFile(join(data, 'package.json'), JSON.stringify({ private: true, oclif: { schema: 1, plugins: [] } }))
    const withPlugins = { ...(await cleanEnv()), MACHINE_DATA_DIR: data }
    expect(await loadsOclif(['--help'], withPlugins)).toBe(true)
    expect(await loadsOclif(['--help'], { ...withPlugins, MACHINE_DATA_DIR: '', FORCE_COLOR: '1' })).toBe(true)

    for (const args of [['version', '--help'], ['version', 'nosuch'], ['ls', '--help']]) {
      expect(await loadsOclif(args, await cleanEnv()), args.join(' ')).toBe(true)
    }
  })
})

/** The import trace of a start (test/helpers/trace-imports.mjs): whether it loaded oclif. */
async function traced(): Promise<{ nodeArgs: string[]; env: NodeJS.ProcessEnv; loadedOclif(): Promise<boolean> }> {
  const trace = join(await tempDir('trace-'), 'imports.txt')
  return {
    nodeArgs: ['--import', join(ROOT, 'test/helpers/trace-imports.mjs')],
    env: { MACHINE_TRACE_IMPORTS: trace },
    async loadedOclif() {
      const loaded = await readFile(trace, 'utf8')
      expect(loaded).toContain('src:src/main.ts') // the trace works
      return loaded.includes('@oclif/core')
    },
  }
}

/** `machine --help` in a terminal, as answered on this start and by oclif (MACHINE_NO_FAST_PATH), and whether the start loaded oclif. */
async function bothInTerminal(o: TerminalRun, args = ['--help']): Promise<{ fast: string; oclif: string; loadedOclif: boolean }> {
  const trace = await traced()
  const fast = await runInTerminal(args, { ...o, env: { ...o.env, ...trace.env }, nodeArgs: trace.nodeArgs })
  const oclif = await runInTerminal(args, { ...o, env: { ...o.env, MACHINE_NO_FAST_PATH: '1' } })
  return { fast, oclif, loadedOclif: await trace.loadedOclif() }
}

/** oclif's root help at each width, rendered in one process (test/helpers/oclif-root-help.mjs). */
async function oclifAtWidths(widths: number[], colour: boolean, env: NodeJS.ProcessEnv): Promise<Record<number, string>> {
  const out = join(await tempDir('oclif-help-'), 'help.json')
  const p = spawn(process.execPath, [join(ROOT, 'test/helpers/oclif-root-help.mjs')], {
    env: { PATH: process.env.PATH, ...env, FORCE_COLOR: colour ? '1' : '0', OCLIF_HELP_WIDTHS: widths.join(','), OCLIF_HELP_OUT: out },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  p.stderr.on('data', (d) => (stderr += d))
  const code = await new Promise((resolve) => p.on('close', resolve))
  expect(code, stderr).toBe(0)
  return JSON.parse(await readFile(out, 'utf8')) as Record<number, string>
}

describe('the root help in a terminal, without oclif', () => {
  /** A terminal's environment and nothing else: no CI variables, FORCE_COLOR or NO_COLOR from the test's. */
  async function terminalEnv(TERM: string | null = 'xterm-256color'): Promise<NodeJS.ProcessEnv> {
    return { HOME: await tempDir('static-home-'), MACHINE_STORAGE_PATH: await tempStore(), ...(TERM === null ? {} : { TERM }) }
  }

  it('is laid out as oclif lays it out at every width from 40 (its narrowest) up, bold or not', async () => {
    // A start gives oclif's help class its terminal's width and prints what it logs; oclif renders
    // each width here in one process (320 starts in terminals would take minutes on 2 cores), and
    // the layout is the one a start runs (rootHelpText). What a start decides before, the width
    // and colours, is compared with oclif's in real terminals below.
    const parts = JSON.parse(await readFile(join(ROOT, 'dist/bundle/root-help-parts.json'), 'utf8')) as RootHelpPart[]
    const widths = [...Array.from({ length: 261 }, (_, i) => 40 + i), 400, 1000, 10_000]
    const env = await terminalEnv()
    for (const bold of [false, true]) {
      const oclif = await oclifAtWidths(widths, bold, env)
      const userAgent = /^(?:\u001b\[1m)?VERSION(?:\u001b\[22m)?\n {2}(.+)$/m.exec(oclif[80]!)![1]!
      for (const width of widths) {
        expect(rootHelpText(parts, userAgent, { width, bold }), `${width} columns${bold ? ', bold' : ''}`).toBe(oclif[width])
      }
      expect(oclif[100]!.includes('\u001b[1mCOMMANDS\u001b[22m\n')).toBe(bold)
      // The widths make a difference: rows wrap, and narrow ones go multiline (name, then text under it).
      expect(new Set(Object.values(oclif)).size).toBeGreaterThan(50)
      expect(oclif[40]).toMatch(/\n {2}prune\n {6}Delete/)
      if (!bold) {
        // oclif in one process renders as a start does: at 80 columns it is the CLI's answer in a pipe.
        expect(oclif[80]).toBe((await runCli(['--help'], { env: { ...env, MACHINE_NO_FAST_PATH: '1', FORCE_COLOR: undefined, OCLIF_COLUMNS: undefined } })).stdout)
      }
    }
  })

  it('prints what oclif prints in a real terminal of any size, with and without colours, without loading oclif', async () => {
    for (const cols of [0, 1, 39, 40, 41, 79, 80, 81, 133, 200, 1000]) {
      for (const TERM of ['xterm-256color', 'dumb']) {
        const { fast, oclif, loadedOclif } = await bothInTerminal({ cols, env: await terminalEnv(TERM) })
        const what = `${cols} columns, TERM=${TERM}`
        expect(fast, what).toBe(oclif)
        expect(loadedOclif, what).toBe(false)
        expect(fast.includes('\u001b[1mCOMMANDS\u001b[22m\r\n'), what).toBe(TERM !== 'dumb')
      }
    }
    // `machine` alone is the root help too.
    const alone = await bothInTerminal({ cols: 100, env: await terminalEnv() }, [])
    expect(alone.fast).toBe(alone.oclif)
    expect(alone.loadedOclif).toBe(false)
    expect(alone.fast).toMatch(/^Create Docker hosts/)
  })

  it('decides colours as oclif does, and leaves to oclif what only it can tell', async () => {
    const theme = await terminalEnv()
    await mkdir(join(theme.HOME!, '.config', 'machine'), { recursive: true })
    await writeFile(join(theme.HOME!, '.config', 'machine', 'theme.json'), '{"sectionHeader": "red"}')
    const plugins = await terminalEnv()
    const data = await tempDir('static-data-')
    await writeFile(join(data, 'package.json'), JSON.stringify({ private: true, oclif: { schema: 1, plugins: [] } }))
    // [what, environment, stderr elsewhere, whether oclif answers, whether headers are bold]
    const cases: [string, NodeJS.ProcessEnv, boolean, boolean, boolean][] = [
      ['NO_COLOR (ansis)', { ...(await terminalEnv()), NO_COLOR: '1' }, false, false, false],
      ['no TERM', await terminalEnv(null), false, false, false],
      ['an unknown TERM with COLORTERM set', { ...(await terminalEnv('frob')), COLORTERM: '' }, false, false, true],
      ['a -mono TERM (ansis: none, supports-color: xterm)', await terminalEnv('xterm-mono'), false, false, false],
      ['TERM=dumb with COLORTERM=truecolor (supports-color: none)', { ...(await terminalEnv('dumb')), COLORTERM: 'truecolor' }, false, false, false],
      ['Apple Terminal with an unknown TERM', { ...(await terminalEnv('frob')), TERM_PROGRAM: 'Apple_Terminal' }, false, false, true],
      ['COLORTERM naming an Object method (ansis: none)', { ...(await terminalEnv()), COLORTERM: 'constructor' }, false, false, false],
      ['stderr not a terminal (supports-color: none)', await terminalEnv(), true, false, false],
      ['FORCE_COLOR=0', { ...(await terminalEnv()), FORCE_COLOR: '0' }, false, true, false],
      ['FORCE_COLOR=1 with TERM=dumb', { ...(await terminalEnv('dumb')), FORCE_COLOR: '1' }, false, true, true],
      ['OCLIF_COLUMNS', { ...(await terminalEnv()), OCLIF_COLUMNS: '50' }, false, true, true],
      ['CI', { ...(await terminalEnv()), CI: 'true' }, false, true, false],
      ['a theme.json', theme, false, true, true],
      ['a plugin', { ...plugins, MACHINE_DATA_DIR: data }, false, true, true],
    ]
    for (const [what, env, quietStderr, oclifAnswers, bold] of cases) {
      const { fast, oclif, loadedOclif } = await bothInTerminal({ cols: 100, env, quietStderr })
      expect(fast, what).toBe(oclif)
      expect(loadedOclif, what).toBe(oclifAnswers)
      expect(/\u001b\[[\d;]*mCOMMANDS\u001b\[/.test(fast), what).toBe(bold)
    }
  })
})
