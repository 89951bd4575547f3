/**
 * The plugin path, proven: the example out-of-tree driver (test/fixtures/example-driver) is
 * installed the way oclif installs user plugins, into a temp data dir (MACHINE_DATA_DIR), and
 * then used through the built CLI and through the exported kit only.
 *
 * oclif reads `<dataDir>/package.json` and loads every `oclif.plugins` entry of type "user" from
 * `<dataDir>/node_modules` (what @oclif/plugin-plugins writes on `plugins install`). The plugin
 * imports `machine/driver-kit`, which Node resolves through `<dataDir>/node_modules/machine`: a
 * link to this CLI's own installation, so the plugin shares the CLI's classes (a plugin's
 * NotSupportedError is the one the CLI recognises).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runCli, tempStore } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const FIXTURE = join(ROOT, 'test', 'fixtures', 'example-driver')
const PLUGIN = 'machine-driver-example'

/** A data dir with the example plugin installed as an oclif user plugin. */
async function installPlugin(): Promise<string> {
  const data = await tempDir('plugin-data-')
  const modules = join(data, 'node_modules')
  await mkdir(modules)
  // A copy, as `npm install` makes one: the plugin has no path back into this repository.
  await cp(FIXTURE, join(modules, PLUGIN), { recursive: true })
  await symlink(ROOT, join(modules, 'machine'))
  await writeFile(
    join(data, 'package.json'),
    JSON.stringify({ private: true, oclif: { schema: 1, plugins: [{ name: PLUGIN, type: 'user', tag: 'latest' }] }, dependencies: { [PLUGIN]: '0.1.0' } }, null, 2),
  )
  return data
}

if (!existsSync(join(ROOT, 'dist', 'bundle', 'src', 'driver-kit', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it) first')
const data = await installPlugin()
const pluginDir = join(data, 'node_modules', PLUGIN)
const env = { MACHINE_DATA_DIR: data, MACHINE_CACHE_DIR: join(data, 'cache'), MACHINE_CONFIG_DIR: join(data, 'config') }

// Both through the install's node_modules, as the plugin's own tests would import them: the
// plugin's entry, and the suite at the path `machine/driver-kit/conformance` names from inside
// the plugin. Through node_modules, vitest leaves both to Node (it would otherwise transform the
// suite, as it does this repository's files, and the suite's NotSupportedError would not be the
// class the plugin's kit throws).
const { default: definition } = await import(pathToFileURL(join(pluginDir, 'index.js')).href)
const conformanceFile = createRequire(join(pluginDir, 'package.json')).resolve('machine/driver-kit/conformance')
const { driverConformance } = (await import(pathToFileURL(join(data, 'node_modules', 'machine', 'dist', 'bundle', 'src', 'driver-kit', 'conformance.js')).href)) as typeof import('../../src/driver-kit/conformance.js')

const hostPid = async (store: string, name: string) => Number(await readFile(join(store, 'machines', name, 'example-host', 'host.pid'), 'utf8'))
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('the example plugin, installed as an oclif user plugin', () => {
  it('resolves the kit from the plugin to this CLI’s bundle (dist/bundle, whose classes the CLI uses)', () => {
    expect(conformanceFile).toBe(join(ROOT, 'dist', 'bundle', 'src', 'driver-kit', 'conformance.js'))
  })

  it('type-checks (checkJs, strict) against the kit’s declarations, options typed from its list', async () => {
    await writeFile(
      join(data, 'typed.ts'),
      [
        "import type { OptionsOf } from 'machine/driver-kit'",
        `import { options } from './node_modules/${PLUGIN}/options.js'`,
        'declare const o: OptionsOf<typeof options>',
        'export const port: number = o.port',
        "export const signal: 'SIGTERM' | 'SIGINT' = o.stopSignal",
        '// @ts-expect-error not one of its choices',
        "export const bad: 'SIGHUP' = o.stopSignal",
        '',
      ].join('\n'),
    )
    await writeFile(
      join(data, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2023',
          strict: true,
          allowJs: true,
          checkJs: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        include: ['typed.ts', `node_modules/${PLUGIN}/**/*.js`],
      }),
    )
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc')
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(tsc, ['-p', join(data, 'tsconfig.json')], { encoding: 'utf8' }, (e, stdout, stderr) => resolve({ code: e ? Number(e.code ?? 1) : 0, out: stdout + stderr })),
    )
    expect(r.out).toBe('')
    expect(r.code).toBe(0)
  }, 60_000)

  it('is listed by `machine drivers`, marked as a plugin, with its options', async () => {
    const r = await runCli(['drivers'], { env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^example \(plugin\): Example plugin driver/m)
    expect(r.stdout).toMatch(/^ {2}--example-port +Port of the engine URL .*\(env EXAMPLE_PORT; default 2376\)$/m)
    expect(r.stdout).toMatch(/^ {2}--example-stop-signal +Signal .*default SIGTERM\)$/m)
    const j = await runCli(['drivers', '--json'], { env })
    const list = JSON.parse(j.stdout).data as Array<{ name: string; builtin: boolean }>
    expect(list.find((d) => d.name === 'example')).toMatchObject({ builtin: false })
  })

  it('is not there without the plugin installed', async () => {
    const r = await runCli(['drivers', '--json'], { env: { MACHINE_DATA_DIR: await tempDir('no-plugins-') } })
    expect((JSON.parse(r.stdout).data as Array<{ name: string }>).map((d) => d.name)).not.toContain('example')
  })

  it('`create -d example --help` shows its flags', async () => {
    const r = await runCli(['create', '-d', 'example', '--help'], { env })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('$ machine create -d example [FLAGS] NAME')
    expect(r.stdout).toContain('EXAMPLE DRIVER FLAGS')
    expect(r.stdout).toContain('--example-port')
    expect(r.stdout).toContain('--example-stop-signal')
  })
})

describe('a machine on the plugin driver, end to end through the built CLI', () => {
  let store = ''
  let pid = 0
  beforeAll(async () => {
    store = await tempStore()
  })
  afterAll(() => {
    // Should a test fail before `rm`, the host process must not outlive the file.
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL')
  })

  it('creates it with typed, validated options, saved in config.json', async () => {
    const bad = await runCli(['create', '-d', 'example', '--example-stop-signal', 'SIGHUP', 'ex1'], { store, env })
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/^Error: .*--example-stop-signal.*SIGHUP/)
    const r = await runCli(['create', '-d', 'example', '--example-port', '23999', 'ex1'], { store, env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const cfg = JSON.parse(await readFile(join(store, 'machines', 'ex1', 'config.json'), 'utf8'))
    expect(cfg).toMatchObject({ DriverName: 'example', Driver: { Port: 23999, StopSignal: 'SIGTERM', IPAddress: '127.0.0.1' } })
    pid = await hostPid(store, 'ex1')
    expect(alive(pid)).toBe(true)
  })

  it('`ls` shows it Running with its engine URL', async () => {
    const r = await runCli(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}'], { store, env })
    expect(r.stdout).toBe('ex1 example Running tcp://127.0.0.1:23999\n')
  })

  it('status, url, ip and active ask the plugin driver (oclif finds it: the fast path hands them over)', async () => {
    expect((await runCli(['status', 'ex1'], { store, env })).stdout).toBe('Running\n')
    expect((await runCli(['url', 'ex1'], { store, env })).stdout).toBe('tcp://127.0.0.1:23999\n')
    expect(JSON.parse((await runCli(['ip', '--json', 'ex1'], { store, env })).stdout).data).toEqual([{ name: 'ex1', ip: '127.0.0.1' }])
    expect((await runCli(['active'], { store, env: { ...env, DOCKER_HOST: 'tcp://127.0.0.1:23999' } })).stdout).toBe('ex1\n')
  })

  it('stop and start act on the host process; ssh is refused as the capabilities say', async () => {
    expect((await runCli(['stop', 'ex1'], { store, env })).code).toBe(0)
    expect(alive(pid)).toBe(false)
    expect((await runCli(['ls', '--format', '{{.State}}'], { store, env })).stdout).toBe('Stopped\n')
    expect((await runCli(['start', 'ex1'], { store, env })).code).toBe(0)
    pid = await hostPid(store, 'ex1')
    expect(alive(pid)).toBe(true)
    const ssh = await runCli(['ssh', 'ex1', 'true'], { store, env })
    expect(ssh.code).not.toBe(0)
    expect(ssh.stderr).toMatch(/^Error: [^\n]+\n$/)
  })

  it('`rm -y` removes it: the process and the directory go', async () => {
    const r = await runCli(['rm', '-y', 'ex1'], { store, env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(alive(pid)).toBe(false)
    expect(existsSync(join(store, 'machines', 'ex1'))).toBe(false)
    expect((await runCli(['ls', '-q'], { store, env })).stdout).toBe('')
  })
})

describe('several machines at once on the plugin driver (create a b c, stop/start/rm of several)', () => {
  let store = ''
  const pids: number[] = []
  beforeAll(async () => {
    store = await tempStore()
  })
  afterAll(() => {
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL')
  })

  it('creates them in parallel, each line named by its machine; the one that fails is rolled back and the others stay', async () => {
    const r = await runCli(['create', '-d', 'example', '--parallel', '2', 'm1', 'bad', 'm3'], { store, env: { ...env, EXAMPLE_FAIL_CREATE: 'bad' } })
    expect(r.code).not.toBe(0)
    expect(r.stdout.split('\n')[0]).toBe('Creating 3 machines (2 at a time): m1, bad, m3')
    // Without a terminal: plain lines, every one after the first naming its machine.
    for (const line of r.stdout.trim().split('\n').slice(1, -1)) expect(line).toMatch(/^(m1|bad|m3): /)
    expect(r.stdout).toMatch(/^m1: created \(\d+\.\ds\)$/m)
    expect(r.stdout).toMatch(/^m3: created \(\d+\.\ds\)$/m)
    expect(r.stdout).toMatch(/^Created m1, m3 in \d+\.\ds\. To point your Docker client at one, run: eval "\$\(.* env m1\)"$/m)
    expect(r.stderr).toMatch(/^bad: Rolling back: removing /m)
    expect(r.stderr).toMatch(/^Error: bad: the example host failed on purpose \(EXAMPLE_FAIL_CREATE\) \(2 of 3 succeeded\): the failed ones were rolled back; run create again for them\n$/m)
    expect((await runCli(['ls', '-q'], { store, env })).stdout).toBe('m1\nm3\n')
    for (const n of ['m1', 'm3']) pids.push(await hostPid(store, n))
    expect(pids.every(alive)).toBe(true)
  })

  it('refuses before making anything: a taken name, a name twice, a bad --parallel or --count', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['m9', 'm1'], /^Error: Machine "m1" already exists/],
      [['m9', 'm9'], /^Error: "m9" is named twice/],
      [['--parallel', '0', 'm8', 'm9'], /^Error: --parallel "0" is not a whole number from 1 to 64/],
      [['--count', 'x', 'm'], /^Error: --count "x" is not a whole number from 1 to 100/],
      [['--count', '2', 'a', 'b'], /^Error: --count takes one NAME/],
    ]
    for (const [args, msg] of cases) {
      const r = await runCli(['create', '-d', 'example', ...args], { store, env })
      expect(r.code, args.join(' ')).not.toBe(0)
      expect(r.stderr, args.join(' ')).toMatch(msg)
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
    }
    expect((await runCli(['ls', '-q'], { store, env })).stdout).toBe('m1\nm3\n')
  })

  it('--count N numbers on after the machines that carry the prefix', async () => {
    const r = await runCli(['create', '-d', 'example', '--count', '2', 'm'], { store, env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    // m1 and m3 are not "m-N": the new ones are m-1 and m-2; again, m-3.
    expect((await runCli(['create', '-d', 'example', '--count', '1', 'm'], { store, env })).code).toBe(0)
    expect((await runCli(['ls', '-q'], { store, env })).stdout).toBe('m-1\nm-2\nm-3\nm1\nm3\n')
    for (const n of ['m-1', 'm-2', 'm-3']) pids.push(await hostPid(store, n))
  })

  it('stop, start and rm of several run together and tell each machine as it is done', async () => {
    const stop = await runCli(['stop', 'm1', 'm3', 'm-1'], { store, env })
    expect(stop.stderr).toBe('')
    expect(stop.stdout.match(/^Machine "(m1|m3|m-1)" was stopped\.$/gm)?.sort()).toEqual(['Machine "m-1" was stopped.', 'Machine "m1" was stopped.', 'Machine "m3" was stopped.'])
    expect((await runCli(['ls', '--format', '{{.Name}} {{.State}}'], { store, env })).stdout).toBe('m-1 Stopped\nm-2 Running\nm-3 Running\nm1 Stopped\nm3 Stopped\n')
    // One that cannot start does not keep the other from starting; both are named in the end.
    const start = await runCli(['start', 'm1', 'nosuch'], { store, env })
    expect(start.code).not.toBe(0)
    const started = await runCli(['start', '--parallel', '1', 'm1', 'm3', 'm-1'], { store, env })
    expect(started.code).toBe(0)
    expect((await runCli(['ls', '--format', '{{.State}}'], { store, env })).stdout).toBe('Running\n'.repeat(5))
    const rm = await runCli(['rm', '-y', 'm1', 'm3', 'm-1', 'm-2', 'm-3'], { store, env })
    expect(rm.stderr).toBe('')
    expect(rm.code).toBe(0)
    expect((await runCli(['ls', '-q'], { store, env })).stdout).toBe('')
    await new Promise((res) => setTimeout(res, 200))
    expect(pids.filter(alive)).toEqual([])
  })
})

// The exported conformance suite, on the plugin's definition as its package exports it.
driverConformance({ definition, flags: {}, env: { EXAMPLE_PORT: '23999', MACHINE_POLL_INTERVAL_MS: '10' } }, { describe, it, expect, beforeAll, afterAll })
