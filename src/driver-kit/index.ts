// Public surface for driver authors (built-in and plugin drivers): everything a driver may use of
// `machine`. It must stay cheap to import (no ssh2, no cloud SDK at load time): the SSH client
// loads on first connection. A test (test/unit/driver-imports.test.ts) keeps drivers/ inside it.
export * from './contract.js'
export * from './options.js'
export * from './errors.js'
export * from './engine-url.js'
export * from './fs.js'
export * from './ssh.js'
export * from './keys.js'
export * from './cloud-init.js'
export * from './ssh-info.js'
export * from './wait.js'
export * from './layout.js'
export * from './network.js'
export * from './image-cache.js'
export * from './seed-image.js'
export * from './ports.js'
