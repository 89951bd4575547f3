// The errors drivers throw and inspect. Re-exported from core so that a driver's MachineError is
// the very class the CLI renders (instanceof must hold across the kit boundary).
export { lastLine, MachineError, messageOf } from '../core/errors.js'
