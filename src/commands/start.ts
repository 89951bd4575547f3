import { lifecycleCommand } from '../cli/lifecycle-command.js'

export default lifecycleCommand('start', 'Start one or more machines', {
  description: [
    'Boots a stopped machine and waits for its engine to answer over TLS.',
    '',
    "A machine saved by \"stop --save\" (status Saved) is resumed instead: its guest carries on where it was, its clock is set from this computer's, and its network comes back. A saved state that no longer fits (another QEMU version, changed settings, a damaged file) is deleted with one line saying why, and the machine boots afresh.",
  ].join('\n'),
})
