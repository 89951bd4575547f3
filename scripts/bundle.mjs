#!/usr/bin/env node
// Bundles the CLI for start-up speed (part of `npm run build`, after tsc): a start used to load
// dozens of small ES modules, and resolving and loading them was most of its time beyond bare
// Node. esbuild (a devDependency) writes dist/bundle/ from the same sources:
// - entry points: what something outside the bundle names by path — src/main.ts (bin/run.js),
//   each oclif command (package.json oclif.commands, read through the manifest), the hook, the
//   help class, and the driver kit (package.json exports, for plugin drivers, which then share
//   the CLI's classes);
// - every dynamic import() stays a separate file, loaded only when reached (drivers' lifecycle
//   code, SSH, swarm…), and code shared between entries goes to chunks/;
// - npm packages stay external (loaded from node_modules as before, so cloud SDKs, ssh2 and
//   node-forge load only where they did), except oclif, bundled with the commands.
// dist/bundle/meta.json (esbuild's metafile) says which sources each output file holds: the
// import-tracing tests read it to map a loaded file back to src/ and drivers/ modules.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { oclifPatches } from './oclif-patches.mjs'

const root = resolve(import.meta.dirname, '..')
// --outdir and --plain-oclif (oclif as published, without scripts/oclif-patches.mjs) are for
// test/commands/oclif-patches.test.ts, which compares a CLI bundled both ways.
const { values: options } = parseArgs({ options: { outdir: { type: 'string' }, 'plain-oclif': { type: 'boolean' } } })
const outdir = options.outdir ? resolve(options.outdir) : join(root, 'dist', 'bundle')

function tsFiles(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`
    if (e.isDirectory()) return tsFiles(path)
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : []
  })
}

/**
 * Node's own modules, taken with process.getBuiltinModule (Node >= 22.3, package.json engines)
 * and only when first used, instead of `import … from 'node:x'`. An ES import of a builtin builds
 * a facade that reads every export, which runs the builtin's lazy getters: importing createHash
 * from node:crypto loaded WebCrypto, and readFileSync from node:fs the streams (about a tenth of
 * `env`'s time). Here each builtin is a CommonJS module whose exports load the builtin on first
 * access of any name: a Proxy, on the exports' prototype rather than the exports themselves.
 * esbuild's __toESM copies a CommonJS module's own properties into a new object for every module
 * importing it, and gives that object the same prototype: the Proxy answers every name there,
 * with nothing copied and nothing made per name (getters per name, ~100 per builtin, made and
 * copied on every start, were ~8% of `env`). `__esModule`, which __toESM asks, loads nothing.
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const isBuiltin = (p) => p.startsWith('node:') || builtinModules.includes(p)
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => (isBuiltin(args.path) ? { path: args.path.replace(/^node:/, ''), namespace: 'builtin' } : undefined))
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const id = JSON.stringify(`node:${args.path}`)
      return {
        loader: 'js',
        contents: `let m\nconst load = () => (m ??= process.getBuiltinModule(${id}))
module.exports = Object.create(new Proxy({}, {
  get: (_, k) => (k === '__esModule' ? undefined : load()[k]),
  has: (_, k) => k !== '__esModule' && k in load(),
}))\n`,
      }
    })
  },
}

/** Two builds, so that a start-up path loads few files (esbuild gives each set of entry points
 * sharing a module its own chunk: with every command in one build, `env` loaded ~30 chunks). */
const builds = [
  // bin/run.js's start: argument handling, completion, the whole of env and ls (src/fast).
  // oclif is the other build's (src/cli/oclif.ts): the start imports that file, never bundles it.
  { name: 'start', entryPoints: ['src/main.ts'], plugins: [anchoredChunks(join(root, 'src/fast/run.ts'))], external: ['./cli/oclif.js'] },
  // What oclif and plugin drivers load by path (package.json oclif and exports). The two builds
  // share no state a start relies on: a plugin is only ever loaded by oclif, through this one.
  {
    name: 'oclif',
    entryPoints: [...tsFiles('src/commands'), 'src/hooks/command-not-found.ts',
 'src/cli/help.ts', 'src/cli/oclif.ts', 'src/driver-kit/index.ts', 'src/driver-kit/conformance.ts'],
    plugins: [anchoredChunks(join(root, 'src/cli/base.ts'))],
    // @oclif/core and its dependencies are bundled: ~120 small CommonJS files loaded on every
    // command's start. The rest of package.json dependencies (cloud SDKs, ssh2…) stay external.
    bundleOclif: true,
  },
  // The qemu network's switch, run as its own Node process by path (drivers/qemu/network.ts): one
  // whole file, since its "am I the main module" check reads import.meta.url, which in a shared
  // chunk would name the chunk.
  { name: 'switch', entryPoints: ['drivers/qemu/switch.ts'], splitting: false },
]

/**
 * One chunk for the code every start of a build loads. esbuild puts a module reached from several
 * entry points (dynamic imports count as entry points) in a chunk of its own per set of
 * importers, so code shared by the start and a lazily loaded driver came in ~16 small files.
 * Each dynamic import is made to also import `anchor` (which the importer has loaded already:
 * src/fast/run.ts for the start, the commands' base class for oclif's): then the anchor's modules
 * are all reached from the same entry points, and land in one chunk.
 */
function anchoredChunks(anchor) {
  return {
    name: 'anchored-chunks',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        // Our own dynamic imports only (an npm package's, e.g. oclif's, stay as they are).
        if (args.kind !== 'dynamic-import' || args.namespace !== 'file' || args.pluginData?.real || args.importer.includes('/node_modules/')) return undefined
        const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { real: true } })
        if (r.errors.length > 0 || r.external || r.namespace !== 'file') return r.errors.length > 0 ? { errors: r.errors } : undefined
        return { path: r.path, namespace: 'anchored' }
      })
      b.onLoad({ filter: /.*/, namespace: 'anchored' }, async (args) => {
        const source = await readFile(args.path, 'utf8')
        const real = JSON.stringify(args.path)
        const lines = [`import ${JSON.stringify(anchor)}`, `export * from ${real}`]
        if (/^export default\b|^export \{[^}]*\bdefault\b/m.test(source)) lines.push(`export { default } from ${real}`)
        return { contents: lines.join('\n'), loader: 'js', resolveDir: dirname(args.path) }
      })
    },
  }
}

const outputs = {}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const otherDependencies = Object.keys(pkg.dependencies).filter((d) => d !== '@oclif/core')
for (const { name, entryPoints, plugins = [], external = [], bundleOclif = false, splitting = true } of builds) {
  const result = await build({
    plugins: [...plugins, ...(bundleOclif && !options['plain-oclif'] ? [oclifPatches(root)] : []), lazyBuiltins],
    ...(bundleOclif
      ? {
          external: [...external, ...otherDependencies.flatMap((d) => [d, `${d}/*`])],
          // oclif is CommonJS: its require() of plugins and of its own package.json need a real one.
          banner: { js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);" },
        }
      : { packages: 'external', external }),
    absWorkingDir: root,
    entryPoints,
    outdir,
    outbase: '.',
    bundle: true,
    splitting,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    chunkNames: `chunks/${name}-[name]-[hash]`,
    metafile: true,
    // Whitespace and syntax only: names stay as written (stack traces still name the functions),
    // but each start reads, hashes and lazily compiles less text (measured with
    // bench/cli-startup.mjs --instructions: env -5 M, inspect -8 M instructions, ~4%). The maps
    // beside each file are for reading a --debug stack trace, never loaded on a start.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'external',
    logLevel: 'warning',
  })
  Object.assign(outputs, result.metafile.outputs)
}
writeFileSync(join(outdir, 'meta.json'), JSON.stringify({ outputs }))
console.log(`bundled into ${Object.keys(outputs).length} files under ${relative(root, outdir)}/`)
