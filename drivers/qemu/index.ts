import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

export default defineDriver({
  name: 'qemu',
  description: 'Local QEMU virtual machine (KVM, HVF, WHPX or TCG) booted from a cloud image with cloud-init',
  options,
  // The address is always 127.0.0.1 and the seed is built by the driver: see DriverContext.engineBootstrap.
  capabilities: { engineBootstrap: true, local: true },
  load: () => import('./driver.js'),
})
