import { basename, delimiter, dirname, resolve } from 'node:path'

/**
 * How the user invoked us, for hint lines ('eval "$(machine env dev)"'): the bare name when the
 * script's directory is on PATH (an installed or linked `machine`), else its full path.
 */
export function programName(argv1 = process.argv[1] ?? 'machine', pathEnv = process.env.PATH ?? ''): string {
  // The launcher scripts/setup.sh installs says how it was called.
  if (process.env.MACHINE_PROGRAM_NAME) return process.env.MACHINE_PROGRAM_NAME
  const dir = resolve(dirname(argv1))
  const onPath = pathEnv.split(delimiter).some((p) => p && resolve(p) === dir)
  return onPath ? basename(argv1) : argv1
}
