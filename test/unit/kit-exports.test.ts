/**
 * The documented plugin import resolves: a plugin driver writes `import { defineDriver } from
 * 'machine/driver-kit'` (and runs `machine/driver-kit/conformance` in its tests), and Node finds
 * both through package.json `exports`, in the bundle (dist/bundle) the CLI itself runs.
 *
 * Resolution is Node's own (a child `node` resolving from inside the package, i.e. package
 * self-reference), not vitest's resolver, so this fails the way a plugin would fail.
 */
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

/** What Node resolves `specifier` to from a module inside the package (package self-reference). */
function nodeResolve(specifier: string): string {
  const script = `process.stdout.write(import.meta.resolve(${JSON.stringify(specifier)}))`
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

const kitUrl = pathToFileURL(join(ROOT, 'dist', 'bundle', 'src', 'driver-kit', 'index.js')).href
const conformanceUrl = pathToFileURL(join(ROOT, 'dist', 'bundle', 'src', 'driver-kit', 'conformance.js')).href

/** The module of the CLI's bundle (the build oclif's commands are in) that holds `source`. */
async function bundledModuleOf(source: string): Promise<Record<string, unknown>> {
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle', 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> }
  const commandsBuild = (file: string) => file.startsWith('dist/bundle/chunks/oclif-') || file.startsWith('dist/bundle/src/commands/')
  const file = Object.keys(meta.outputs).find((f) => commandsBuild(f) && source in meta.outputs[f]!.inputs)
  if (!file) throw new Error(`${source} is in no output of the commands' bundle`)
  return import(pathToFileURL(join(ROOT, file)).href)
}

describe('package exports for plugin drivers', () => {
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'bundle', 'src', 'driver-kit', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it) first')
  })

  it('machine/driver-kit resolves to the built kit', () => {
    expect(nodeResolve('machine/driver-kit')).toBe(kitUrl)
  })

  it('machine/driver-kit/conformance resolves to the built conformance suite', () => {
    expect(nodeResolve('machine/driver-kit/conformance')).toBe(conformanceUrl)
  })

  it('exposes nothing else of the CLI: internal modules stay private', () => {
    for (const internal of ['machine/dist/src/core/errors.js', 'machine/src/driver-kit/index.ts', 'machine']) {
      expect(() => nodeResolve(internal), internal).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED|not exported|No "exports" main defined/)
    }
  })

  it('package.json stays readable (tools read the version and the oclif section through it)', () => {
    const url = nodeResolve('machine/package.json')
    expect(JSON.parse(readFileSync(new URL(url), 'utf8')).name).toBe('machine')
  })

  it('the kit gives a plugin defineDriver and the errors the CLI recognises', async () => {
    const kit = await import(kitUrl)
    expect(typeof kit.defineDriver).toBe('function')
    expect(typeof kit.NotSupportedError).toBe('function')
    // What defineDriver returns is what the registry reads: the plugin's name, options and loader.
    const load = async () => ({ createDriver: () => ({}) })
    expect(kit.defineDriver({ name: 'demo', description: 'demo', options: [], load })).toMatchObject({ name: 'demo', options: [], load })
    // The same class the CLI's own code (its bundle) checks with instanceof: a plugin's "cannot stop" is reported as such.
    const contract = await bundledModuleOf('src/driver-kit/contract.ts')
    const e = new kit.NotSupportedError('demo', 'stop')
    expect(e).toBeInstanceOf(contract.NotSupportedError)
    expect(e.message).toBe('the demo driver cannot stop a machine')
    // A plugin's MachineError is the class the CLI renders as one line with its hint.
    const core = (await bundledModuleOf('src/core/errors.ts')) as { MachineError: new (...a: unknown[]) => Error; messageOf: (e: unknown) => string }
    const m = new kit.MachineError('demo-failed', 'the demo host said no', { hint: 'try again' })
    expect(m).toBeInstanceOf(core.MachineError)
    expect(core.messageOf(m)).toBe('the demo host said no: try again')
  })

  it('the conformance entry gives a plugin the suite and a driver context to call it with', async () => {
    const conformance = await import(conformanceUrl)
    expect(typeof conformance.driverConformance).toBe('function')
    expect(typeof conformance.makeDriverContext).toBe('function')
  })

  it('a TypeScript plugin that depends on machine type-checks against the declarations the exports point at', async () => {
    // A plugin package with machine in its node_modules, as npm installs it; strict NodeNext, no skipLibCheck.
    const dir = await tempDir('kit-types-')
    await mkdir(join(dir, 'node_modules'))
    await symlink(ROOT, join(dir, 'node_modules', 'machine'))
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'machine-driver-demo', type: 'module', private: true }))
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2023', strict: true, noEmit: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
        files: ['plugin.ts'],
      }),
    )
    await writeFile(
      join(dir, 'plugin.ts'),
      [
        "import { defineDriver, MachineError, NotSupportedError, type Driver, type DriverContext } from 'machine/driver-kit'",
        "import { driverConformance } from 'machine/driver-kit/conformance'",
        'function createDriver(ctx: DriverContext): Driver {',
        "  const no = (op: string) => Promise.reject(new NotSupportedError('demo', op))",
        '  return {',
        "    preCreateCheck: async () => { if (!ctx.machineName) throw new MachineError('missing-name', 'no name') },",
        '    create: async () => {}, remove: async () => {},',
        "    start: () => no('start'), stop: () => no('stop'), restart: () => no('restart'), kill: () => no('kill'),",
        "    state: async () => 'Running', ip: async () => '127.0.0.1', sshInfo: () => no('open an SSH connection to'),",
        '  }',
        '}',
        "export default defineDriver({ name: 'demo', description: 'demo', options: [], load: async () => ({ createDriver }) })",
        // Real types, not `any`: a state outside the kit's vocabulary must be an error.
        '// @ts-expect-error',
        "export const bad: Awaited<ReturnType<Driver['state']>> = 'Sleeping'",
        'export const suite: typeof driverConformance = driverConformance',
        '',
      ].join('\n'),
    )
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc')
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(tsc, ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' }, (e, stdout, stderr) => resolve({ code: e ? Number(e.code ?? 1) : 0, out: stdout + stderr })),
    )
    expect(r.out).toBe('')
    expect(r.code).toBe(0)
  }, 60_000)
})
