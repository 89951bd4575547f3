import { lifecycleCommand } from '../cli/lifecycle-command.js'

export default lifecycleCommand('kill', 'Kill (force stop) one or more machines')
