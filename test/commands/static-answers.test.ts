// `machine --help` (and `machine` alone) and `machine version` are answered from texts rendered
// at build time (src/fast/static-answers.ts): the same bytes as oclif's, without loading oclif,
// and oclif answers whenever it could render them differently.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadsOclif, ROOT, runCli, tempStore } from '../helpers/cli.js'
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
    const env = await cleanEnv()
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
