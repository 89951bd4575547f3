// The files in a machine's directory a driver hands to the kit (SSH key, pinned host keys), named
// by the one module that knows the store's layout: drivers never spell a store file name.
export { knownHostsPath, machineKeyPath } from '../store/paths.js'
