/**
 * What `machine` does on start, after bin/run.js has turned Node's compile cache on: shell
 * completion, the global flags moved after the command, the fast path (`env`, `ls` and the machine
 * queries scripts run: `inspect`, `status`, `url`, `ip`, `config`, `active`), else oclif.
 * Built into dist/bundle/src/main.js by scripts/bundle.mjs (one file per start-up path instead
 * of dozens of small modules: module loading was most of a start beyond bare Node).
 */
import { hoistGlobalFlags } from './cli/global-argv.js'
import { exitOnEpipe } from './cli/stdio.js'
import { runFast } from './fast/run.js'
import { answerStatic } from './fast/static-answers.js'

/** `bin` is bin/run.js's URL: oclif finds the package (and its manifest) from there. */
export async function main(args: string[], bin: string): Promise<void> {
  // Shell completion asks on every Tab: answered from the manifest and the store listing alone.
  if (args[0] === '__complete') {
    exitOnEpipe()
    const { runComplete } = await import('./completion/run.js')
    await runComplete(args.slice(1), new URL('../oclif.manifest.json', bin))
    process.exit()
  }

  // Global flags before the command (docker-machine's order) move after it, for oclif.
  const argv = hoistGlobalFlags(args)

  if (!process.env.MACHINE_NO_FAST_PATH) {
    // env, ls and the machine queries run without loading oclif when their arguments are plain
    // (see src/fast/run.ts); the root help and `version` are texts fixed at build time
    // (src/fast/static-answers.ts).
    if ((await runFast(argv[0], argv.slice(1))) || (await answerStatic(argv, bin))) process.exit()
  }

  exitOnEpipe()
  // oclif checks Node against its own engines (>=18) with semver, 47 files to load on each start;
  // ours (package.json engines, >=22.3) is stricter, so that check can never fail.
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
  const { execute } = await import('./cli/oclif.js')
  await execute({ args: argv, dir: bin })
}
