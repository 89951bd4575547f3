// Files a driver keeps in its machine directory (or caches) are written the way the store writes
// its own: to a temporary file renamed into place, so a crash never leaves half a file.
export { writeFileAtomic } from '../store/atomic.js'
