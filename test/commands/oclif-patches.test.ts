/**
 * scripts/oclif-patches.mjs changes how oclif's code loads (lazy requires, rarely used packages
 * left in node_modules, isWsl from is-wsl) and sorts (command ids without ICU's collator), to make
 * starts cheaper. Proof that nothing a user sees changes: the same CLI bundled with oclif as
 * published (scripts/bundle.mjs --plain-oclif, into a copy of the package) answers every case
 * here byte for byte as the built one does — help texts (root, topic, command, create's driver
 * help, at several widths and locales), errors for unknown flags, commands and missing
 * arguments, commands on a machine, again with a user-installed or linked plugin driver, and
 * plugins whose commands oclif finds by globbing, in an .oclifrc.json or in child plugins.
 * Both run through oclif (MACHINE_NO_FAST_PATH: the fast paths are compared with oclif in
 * static-answers.test.ts).
 */
import { spawnSync } from 'node:child_process'
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { BIN, ROOT, runCli, tempStore } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

/** A copy of the installed package whose dist/bundle has oclif unpatched. */
async function plainOclifPackage(): Promise<string> {
  const pkg = await tempDir('plain-oclif-')
  await cp(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true })
  for (const f of ['package.json', 'oclif.manifest.json']) await cp(join(ROOT, f), join(pkg, f))
  for (const d of ['node_modules', 'templates']) await symlink(join(ROOT, d), join(pkg, d))
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), '--plain-oclif', '--outdir', join(pkg, 'dist', 'bundle')], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`bundling with plain oclif failed: ${r.stderr}`)
  return pkg
}

/** What the user sees from `args`, through oclif, with `bin` as the program (its path made ROOT's). */
function run(bin: string, pkg: string, args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, MACHINE_NO_FAST_PATH: '1', ...env }, encoding: 'utf8', input: '' })
  const same = (s: string) => s.replaceAll(pkg, ROOT)
  return { code: r.status, stdout: same(r.stdout), stderr: same(r.stderr) }
}

/** The example plugin driver (test/fixtures/example-driver), installed as oclif installs user plugins, or linked (`plugins link`). */
async function pluginDataDir(type: 'user' | 'link' = 'user'): Promise<string> {
  const data = await tempDir('plugin-data-')
  await mkdir(join(data, 'node_modules'))
  await cp(join(ROOT, 'test', 'fixtures', 'example-driver'), join(data, 'node_modules', 'machine-driver-example'), { recursive: true })
  await symlink(ROOT, join(data, 'node_modules', 'machine'))
  const root = join(data, 'node_modules', 'machine-driver-example')
  const plugins = [type === 'user' ? { name: 'machine-driver-example', type, tag: 'latest' } : { name: 'machine-driver-example', type, root }]
  await writeFile(join(data, 'package.json'), JSON.stringify({ private: true, oclif: { schema: 1, plugins }, dependencies: { 'machine-driver-example': '0.1.0' } }))
  return data
}

const CASES: string[][] = [
  ['--help'],
  [],
  ['swarm'],
  ['swarm', '--help'],
  ['inspect', '--help'],
  ['ls', '--help'],
  ['create', '--help'],
  ['create', '-d', 'none', '--help'],
  ['create', '-d', 'nosuch', '--help'],
  ['--version'],
  ['version'],
  ['version', '--json'],
  ['inspect'],
  ['inspect', '--bogus', 'm1'],
  ['inspect', 'nosuch'],
  ['inspec', 'm1'],
  ['nosuch', '--json'],
  ['--json'],
  ['swarm', 'nosuch'],
  ['inspect', 'm1'],
  ['inspect', '--format', '{{.DriverName}}', 'm1'],
  ['status', 'm1'],
  ['url', 'm1'],
  ['ip', 'm1'],
  ['config', 'm1'],
  ['ls', '--format', '{{.Name}} {{.DriverName}}'],
  ['env', 'm1'],
  ['drivers'],
  ['rm', '-y', 'nosuch'],
]

describe('oclif with scripts/oclif-patches.mjs answers as oclif as published does', () => {
  let pkg = ''
  let store = ''
  let home = ''
  beforeAll(async () => {
    pkg = await plainOclifPackage()
    store = await tempStore()
    home = await tempDir('patches-home-')
    const made = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23799', 'm1'], { store })
    expect(made.stderr).toBe('')
  }, 120_000)

  const compare = (args: string[], env: NodeJS.ProcessEnv) => {
    const base = { HOME: home, XDG_CONFIG_HOME: '', XDG_DATA_HOME: '', MACHINE_CONFIG_DIR: '', MACHINE_STORAGE_PATH: store, ...env }
    const patched = run(BIN, ROOT, args, base)
    const plain = run(join(pkg, 'bin', 'run.js'), pkg, args, base)
    expect(patched, `machine ${args.join(' ')} (${JSON.stringify(env)})`).toEqual(plain)
    return patched
  }

  it('every case, and the help at other widths and in locales whose collation differs', () => {
    for (const args of CASES) compare(args, { MACHINE_DATA_DIR: join(home, 'no-plugins') })
    for (const env of [{ OCLIF_COLUMNS: '50' }, { OCLIF_COLUMNS: '200' }, { LC_ALL: 'lt_LT.UTF-8' }, { LC_ALL: 'da_DK.UTF-8' }, { LANG: 'C' }]) {
      for (const args of [['--help'], ['swarm'], ['inspec'], ['inspect', '--help']]) compare(args, { MACHINE_DATA_DIR: join(home, 'no-plugins'), ...env })
    }
    // The cases above are not all errors or all the same text.
    expect(compare(['inspect', 'm1'], {}).stdout).toContain('"DriverName": "none"')
    expect(compare(['inspec', 'm1'], {}).stderr).toMatch(/did you mean .* inspect"/)
    expect(compare(['inspect', '--bogus', 'm1'], {}).code).not.toBe(0)
    // The logger does nothing without DEBUG (no debug package loaded); with it, oclif's lines as before.
    // (Namespaces that do not tell whether the package has a tsconfig.json, which the plain copy lacks.)
    expect(compare(['inspect', 'm1'], { DEBUG: 'oclif:main,oclif:find-root:*', DEBUG_HIDE_DATE: '1' }).stderr).toMatch(/^oclif:find-root:root-plugin Found root at /m)
  }, 240_000)

  it('with a user-installed or a linked plugin driver: its commands, help and driver as before', async () => {
    for (const type of ['user', 'link'] as const) {
      const data = await pluginDataDir(type)
      const env = { MACHINE_DATA_DIR: data, MACHINE_CACHE_DIR: join(data, 'cache') }
      for (const args of [['drivers'], ['--help'], ['create', '--help'], ['create', '-d', 'example', '--help'], ['inspect', 'm1'], ['inspec', 'm1'], ['nosuch']]) compare(args, env)
      expect(compare(['drivers'], env).stdout, type).toMatch(/^example \(plugin\)/m)
    }
  }, 120_000)
})

/**
 * User plugins that take oclif down the paths whose packages stay in node_modules: commands found
 * by globbing a directory (no manifest: tinyglobby), the oclif section in an .oclifrc.json instead
 * of package.json (lilconfig), and child plugins named by a pattern (minimatch).
 */
async function commandPluginsDataDir(): Promise<string> {
  const data = await tempDir('plugin-cmds-')
  const modules = join(data, 'node_modules')
  await mkdir(join(modules, '@oclif'), { recursive: true })
  await symlink(join(ROOT, 'node_modules', '@oclif', 'core'), join(modules, '@oclif', 'core'))
  const command = (text: string) =>
    `import { Command } from '@oclif/core'\nexport default class extends Command {\n  static description = 'Print ${text}'\n  async run() { await this.parse(); this.log('${text}') }\n}\n`
  const plugin = async (name: string, pjson: object, rc: object | undefined, commands: Record<string, string>) => {
    await mkdir(join(modules, name, 'commands'), { recursive: true })
    await writeFile(join(modules, name, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', ...pjson }))
    if (rc) await writeFile(join(modules, name, '.oclifrc.json'), JSON.stringify(rc))
    for (const [id, text] of Object.entries(commands)) await writeFile(join(modules, name, 'commands', `${id}.js`), command(text))
  }
  await plugin('machine-plugin-globbed', { oclif: { commands: './commands', plugins: ['machine-plugin-child-*'] }, dependencies: { 'machine-plugin-child-a': '1.0.0' } }, undefined, { hello: 'hello from a globbed command' })
  await plugin('machine-plugin-child-a', { oclif: { commands: './commands' } }, undefined, { child: 'hello from a child plugin' })
  await plugin('machine-plugin-rc', {}, { commands: './commands' }, { rchello: 'hello from an .oclifrc.json plugin' })
  const plugins = ['machine-plugin-globbed', 'machine-plugin-rc'].map((name) => ({ name, type: 'user', tag: 'latest' }))
  await writeFile(join(data, 'package.json'), JSON.stringify({ private: true, oclif: { schema: 1, plugins }, dependencies: { 'machine-plugin-globbed': '1.0.0', 'machine-plugin-rc': '1.0.0' } }))
  return data
}

describe('plugins that need the packages oclif-patches leaves in node_modules', () => {
  it('load, list and run their commands as with oclif as published', async () => {
    const pkg = await plainOclifPackage()
    const data = await commandPluginsDataDir()
    const env = { MACHINE_DATA_DIR: data, MACHINE_CACHE_DIR: join(data, 'cache'), MACHINE_STORAGE_PATH: await tempStore(), HOME: await tempDir('patches-home-') }
    const both = (args: string[]) => {
      const patched = run(BIN, ROOT, args, env)
      expect(patched, args.join(' ')).toEqual(run(join(pkg, 'bin', 'run.js'), pkg, args, env))
      return patched
    }
    expect(both(['hello']).stdout).toBe('hello from a globbed command\n')
    expect(both(['child']).stdout).toBe('hello from a child plugin\n')
    expect(both(['rchello']).stdout).toBe('hello from an .oclifrc.json plugin\n')
    expect(both(['--help']).stdout).toMatch(/^ {2}rchello +Print hello from an \.oclifrc\.json plugin$/m)
    both(['hello', '--help'])
    both(['helo'])
    // These starts did take those packages, from node_modules.
    const trace = join(await tempDir('trace-'), 'imports.txt')
    spawnSync(process.execPath, ['--import', join(ROOT, 'test/helpers/trace-imports.mjs'), BIN, 'hello'], { env: { ...process.env, ...env, MACHINE_TRACE_IMPORTS: trace } })
    const loaded = await readFile(trace, 'utf8')
    for (const dependency of ['/node_modules/tinyglobby/', '/node_modules/lilconfig/', '/node_modules/minimatch/']) expect(loaded, dependency).toContain(dependency)
  }, 120_000)
})

describe('what an oclif command start no longer loads', () => {
  it('inspect (through oclif) loads none of the packages left in node_modules, nor wsl-utils (child_process)', async () => {
    const store = await tempStore()
    await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23798', 'm1'], { store })
    const trace = join(await tempDir('trace-'), 'imports.txt')
    // inspect's own start is the fast path (src/fast/run.ts): oclif's is asked for.
    const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/helpers/trace-imports.mjs'), BIN, 'inspect', 'm1'], {
      env: { ...process.env, MACHINE_STORAGE_PATH: store, MACHINE_TRACE_IMPORTS: trace, MACHINE_NO_FAST_PATH: '1' },
      encoding: 'utf8',
    })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const loaded = await readFile(trace, 'utf8')
    expect(loaded).toContain('@oclif/core/lib/config/config.js') // the trace sees oclif's modules
    // (A bundle file's sources are all listed once it loads: these are files of their own.)
    for (const notNeeded of ['/semver/', '/minimatch/', '/tinyglobby/', '/lilconfig/', '/powershell-utils/']) {
      expect(loaded, notNeeded).not.toContain(notNeeded)
    }
  })
})
