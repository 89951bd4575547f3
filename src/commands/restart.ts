import { lifecycleCommand } from '../cli/lifecycle-command.js'

export default lifecycleCommand('restart', 'Restart one or more machines')
