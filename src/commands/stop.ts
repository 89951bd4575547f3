import { lifecycleCommand } from '../cli/lifecycle-command.js'

export default lifecycleCommand('stop', 'Stop one or more machines (gracefully)')
