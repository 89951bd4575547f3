import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

/** Any existing host reachable over SSH: nothing is created, the engine is provisioned on it. */
export default defineDriver({
  name: 'generic',
  description: 'Provision the Docker engine on an existing host reachable over SSH',
  // An existing host: it can be rebooted over SSH, but not started, stopped or killed from here.
  capabilities: { lifecycle: ['restart'] },
  options,
  load: () => import('./driver.js'),
})
