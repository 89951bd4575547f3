// Public surface for driver authors (built-in and plugin drivers).
export * from './contract.js'
export * from './options.js'
export type { MachineState } from '../core/state.js'
