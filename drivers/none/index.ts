import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

/** Records an existing Docker engine by URL; nothing is created or provisioned (docs/drivers/none.md). */
export default defineDriver({
  name: 'none',
  description: 'Record an existing Docker engine reachable at --url (nothing is created or provisioned)',
  // An engine recorded by URL: no SSH, no provisioning, nothing to start or stop.
  capabilities: { ssh: false, lifecycle: [] },
  options,
  load: () => import('./driver.js'),
})
