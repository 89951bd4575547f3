import { lifecycleCommand } from '../cli/lifecycle-command.js'

export default lifecycleCommand('restart', 'Restart one or more machines', 'Restarted machines may have new IP addresses. You may need to re-run the `machine env` command.')
