// A host-local network a driver runs between its machines (the qemu driver's switch): its
// directory in the store (`<store>/networks/NAME/`, the name checked by the store's rule) and the
// lock that serialises changes to it across machine commands.
export { networkDir } from '../store/paths.js'
export { withAllNetworksLock, withNetworkLock } from '../store/lock.js'
/** Network names follow the machine-name rule (they become a directory name). */
export { isValidMachineName as isValidNetworkName } from '../core/names.js'
