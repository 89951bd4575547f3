import { MachineError } from './errors.js'
import { programName } from './program-name.js'

/**
 * Commands that take several words (create's names, import's names) parse leniently, so an
 * unknown flag would arrive among those words: refused here, one line naming it and the help.
 */
export function refuseStrayFlag(words: readonly string[], command: string): void {
  const stray = words.find((w) => w.startsWith('-'))
  if (stray) throw new MachineError('unknown-flag', `Unknown flag ${stray.split('=')[0]}`, { hint: `see "${programName()} ${command} --help" for the flags` })
}
