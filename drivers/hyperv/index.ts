import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

export default defineDriver({
  name: 'hyperv',
  description: 'Local Hyper-V VM (Windows) booted from a cloud image with cloud-init, on a virtual switch',
  options,
  // The address comes from the switch's DHCP after boot: no engine bootstrap (its certificate needs the address first).
  // stop --save: Hyper-V's Save-VM; start resumes (driver.ts).
  capabilities: { engineBootstrap: false, local: true, saveState: true },
  load: () => import('./driver.js'),
})
