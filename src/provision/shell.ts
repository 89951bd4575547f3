/** Shell text for commands run on a host over SSH (provisioning, upgrade). */

/** One word for a POSIX shell, whatever it contains. */
export const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** The prefix that runs a command as root for this login user ("" when it is root already). */
export const sudoFor = (user: string): string => (user === 'root' ? '' : 'sudo ')
