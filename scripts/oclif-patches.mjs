// Changes to oclif's code as scripts/bundle.mjs bundles it, each one doing less work on a start
// with the same result (docs/architecture.md, "Start-up"; bench/cli-startup.mjs measures them):
// - lazy requires: @oclif/core's modules (TypeScript's CommonJS output) require every module they
//   name when they load, so any command loaded all of oclif and its dependencies (the help
//   renderer, spinners, globbing, ejs, lilconfig, minimatch…), ~110 M instructions of which a
//   command used a part. Each `const x_1 = require("…")` becomes a binding that requires on first
//   use: the same modules, loaded when something reads them;
// - the order of a plugin's commands: oclif sorts them with localeCompare, whose first call builds
//   ICU's collator (~67 M instructions); src/cli/command-order.ts gives the same order;
// - oclif's logger loads the debug package (and with it node:tty, node:net, the streams) even when
//   DEBUG enables nothing: then its debug functions are ones that do nothing;
// - oclif's platform check imports wsl-utils for its isWsl (is-wsl's), and wsl-utils imports
//   node:child_process at load: isWsl is taken from is-wsl itself, the rest from wsl-utils when used;
// - packages oclif needs only for what this CLI never does on a start stay in node_modules (below).
// Every patch must apply, or the build fails: a new oclif that no longer matches is noticed.
// test/commands/oclif-patches.test.ts runs a CLI bundled with and without them and compares.
import { readFile } from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'

const OCLIF_LIB = `${sep}@oclif${sep}core${sep}lib${sep}`
// What oclif requires only for: its Node version check (semver; src/main.ts turns it off, ours is
// stricter), plugins named by pattern (minimatch), plugins without a manifest (tinyglobby) or
// without an oclif section in package.json (lilconfig). (Not cli-spinners: oclif makes its spinner
// whenever stderr is a terminal.)
const RARE_DEPENDENCIES = /^(?:semver|minimatch|tinyglobby|lilconfig)$/

/**
 * `const name_1 = require("x");` (also wrapped in __importDefault/__importStar, or `var`) at the
 * top of a TypeScript-emitted CommonJS module becomes a getter function, and every use of the
 * binding a call to it. TypeScript names these bindings uniquely (`<module>_<n>`), and only ever
 * reads them. Node's builtins stay as they are: lazy-builtins (bundle.mjs) defers those already.
 */
export function lazyRequires(source) {
  const names = []
  const decl = /^(?:const|var) (\w+_\d+) = ((?:__importDefault\(|__importStar\()?require\("([^"]+)"\)\)?);$/gm
  let out = source.replace(decl, (line, name, init, spec) => {
    if (spec.startsWith('node:')) return line
    names.push(name)
    return `var ${name}$; function ${name}$get() { return ${name}$ ??= ${init}; }`
  })
  // Parenthesised, so that `new x_1.C()` stays a construction of x_1.C.
  for (const name of names) out = out.replace(new RegExp(`(?<![\\w$.])${name}(?![\\w$])`, 'g'), `(${name}$get())`)
  return { source: out, count: names.length }
}

/** oclif's sort of a plugin's commands, replaced by the same order computed without ICU. */
export function commandOrder(source, comparatorPath) {
  const sort = '.sort((a, b) => a.id.localeCompare(b.id))'
  if (!source.includes(sort)) throw new Error(`oclif-patches: config/plugin.js no longer sorts with ${sort}`)
  return source.replace(sort, `.sort((a, b) => require(${JSON.stringify(comparatorPath)}).compareCommandIds(a.id, b.id))`)
}

/**
 * oclif's logger makes a `debug` function for each namespace, and the first one loads the debug
 * package, which loads supports-color, node:tty and with it node:net and Node's streams (~5 ms of
 * oclif's Config.load). Without DEBUG in the environment the debug package enables no namespace
 * and its functions return at once: then the logger gets a function that does nothing, without
 * loading it. (Only `DEBUG` decides it: oclif never calls the package's enable().)
 */
export function quietLogger(source) {
  const make = 'const debug = (0, debug_1.default)(namespace);'
  if (!source.includes(make)) throw new Error(`oclif-patches: logger.js no longer makes its debug function with ${make}`)
  return source.replace(make, 'const debug = process.env.DEBUG ? (0, debug_1.default)(namespace) : () => {};')
}

/** The esbuild plugin: applies the patches above to @oclif/core and its import of wsl-utils. */
export function oclifPatches(root) {
  const comparator = join(root, 'src', 'cli', 'command-order.ts')
  const seen = new Set()
  return {
    name: 'oclif-patches',
    setup(b) {
      b.onLoad({ filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/].*\.js$/, namespace: 'file' }, async (args) => {
        let source = (await readFile(args.path, 'utf8'))
        const file = args.path.slice(args.path.lastIndexOf(OCLIF_LIB) + OCLIF_LIB.length).split(sep).join('/')
        if (file === 'logger.js') source = quietLogger(source)
        source = lazyRequires(source).source
        if (file === 'config/plugin.js') source = commandOrder(source, comparator)
        if (file === 'util/os.js' && !source.includes("import('wsl-utils')")) throw new Error('oclif-patches: util/os.js no longer imports wsl-utils')
        seen.add(file)
        return { contents: source, loader: 'js' }
      })
      // oclif's util/os.js: `(await import('wsl-utils')).isWsl`, and powerShellPath on Windows only.
      b.onResolve({ filter: /^wsl-utils$/ }, (args) => {
        if (!args.importer.includes(OCLIF_LIB) || args.pluginData?.real) return undefined
        return { path: args.importer, namespace: 'wsl-utils-isWsl' }
      })
      b.onLoad({ filter: /.*/, namespace: 'wsl-utils-isWsl' }, async (args) => {
        const real = await b.resolve('wsl-utils', { kind: 'dynamic-import', resolveDir: dirname(args.path), pluginData: { real: true } })
        if (real.errors.length > 0) return { errors: real.errors }
        const exported = await readFile(real.path, 'utf8')
        if (!exported.includes("export {default as isWsl} from 'is-wsl';")) throw new Error('oclif-patches: wsl-utils no longer exports is-wsl as isWsl')
        return {
          loader: 'js',
          resolveDir: dirname(real.path),
          contents: [
            "export { default as isWsl } from 'is-wsl'",
            `export const powerShellPath = async (...args) => (await import(${JSON.stringify(real.path)})).powerShellPath(...args)`,
          ].join('\n'),
        }
      })
      // Packages oclif needs only for what this CLI's start never does stay in node_modules (the
      // bundled chunk is read and checked whole on every start: these were a third of it), required
      // from @oclif/core's own directory, where npm installed them for it, when first used.
      b.onResolve({ filter: RARE_DEPENDENCIES }, (args) => {
        if (!args.importer.includes(OCLIF_LIB)) return undefined
        return { path: args.path, namespace: 'oclif-dependency' }
      })
      b.onLoad({ filter: /.*/, namespace: 'oclif-dependency' }, (args) => ({
        loader: 'js',
        contents: `const oclif = require.resolve('@oclif/core/package.json')
module.exports = process.getBuiltinModule('node:module').createRequire(oclif)(${JSON.stringify(args.path)})`,
      }))
      b.onEnd((result) => {
        for (const file of ['config/plugin.js', 'logger.js']) {
          if (result.errors.length === 0 && !seen.has(file)) throw new Error(`oclif-patches: @oclif/core/lib/${file} was not bundled`)
        }
      })
    },
  }
}
