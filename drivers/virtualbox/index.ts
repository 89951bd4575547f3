import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

export default defineDriver({
  name: 'virtualbox',
  description: 'Local VirtualBox VM booted from a cloud image with cloud-init, on a host-only network with a fixed address',
  options,
  // The address is always 127.0.0.1 (NAT forwards) and the seed is built by the driver: see DriverContext.engineBootstrap.
  capabilities: { engineBootstrap: true, sharedFolders: true, hostOnlyNetwork: true, local: true, saveState: true },
  load: () => import('./driver.js'),
})
