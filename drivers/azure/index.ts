// The azure driver's definition. Loaded by `--help`, `drivers`, `ls`…: it must not import the Azure
// SDK; the lifecycle code (and the SDK with it) is loaded only when a command needs the driver.
import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

export default defineDriver({
  name: 'azure',
  description: 'Microsoft Azure virtual machines (Resource Manager)',
  options,
  load: () => import('./driver.js'),
  // The subscription is the one thing prune cannot guess; the credential chain follows at the first call.
  prune: { configured: (env) => !!env.AZURE_SUBSCRIPTION_ID, options: ['subscription-id', 'environment', 'client-id', 'client-secret', 'tenant-id'] },
})
