import { lifecycleCommand } from '../cli/lifecycle-command.js'

export default lifecycleCommand('start', 'Start one or more machines', 'Started machines may have new IP addresses. You may need to re-run the `machine env` command.')
