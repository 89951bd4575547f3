/** Machine states, spelled as docker-machine prints them (`machine status`, `ls` STATE column). */
export const MachineStates = [
  'Running',
  'Paused',
  'Saved',
  'Stopped',
  'Stopping',
  'Starting',
  'Error',
  'Timeout',
] as const

export type MachineState = (typeof MachineStates)[number] | ''
