import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

export default defineDriver({
  name: 'vmware',
  description: 'Local VMware Fusion (macOS) or Workstation (Windows, Linux) VM booted from a cloud image with cloud-init, driven by vmrun',
  options,
  // The guest's address comes from VMware's DHCP after boot: the engine is configured over SSH then (no engine bootstrap).
  // stop --save suspends the VM (vmrun suspend); start resumes it.
  capabilities: { sharedFolders: true, local: true, saveState: true },
  load: () => import('./driver.js'),
})
