import { lifecycleCommand } from '../cli/lifecycle-command.js'

export default lifecycleCommand('start', 'Start one or more machines')
