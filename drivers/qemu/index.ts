import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

export default defineDriver({
  name: 'qemu',
  description: 'Local QEMU virtual machine (KVM, HVF, WHPX or TCG) booted from a cloud image with cloud-init',
  options,
  // The address is always 127.0.0.1 and the seed is built by the driver: see DriverContext.engineBootstrap.
  // stop --save: QEMU's migration stream to a file (vm-state.ts).
  capabilities: { engineBootstrap: true, local: true, saveState: true },
  load: () => import('./driver.js'),
})
