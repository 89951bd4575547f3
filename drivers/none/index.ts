import { defineDriver } from '../../src/driver-kit/contract.js'

/** Records an existing Docker engine by URL; nothing is created or provisioned. */
export default defineDriver({
  name: 'none',
  description: 'Record an existing Docker engine reachable at --url (nothing is created or provisioned)',
  provisions: false,
  options: [
    {
      name: 'url',
      flag: 'url',
      configKey: 'URL',
      type: 'string',
      required: true,
      description: 'URL of the Docker engine, e.g. tcp://127.0.0.1:2376',
      validate: (v) => {
        try {
          const u = new URL(String(v))
          if (!['tcp:', 'unix:', 'npipe:', 'ssh:'].includes(u.protocol)) return `must be a tcp://, unix://, npipe:// or ssh:// URL, got "${String(v)}"`
          if (u.protocol === 'tcp:' && !u.port) return `must include a port, e.g. tcp://${u.hostname}:2376`
          return undefined
        } catch {
          return `must be a URL like tcp://HOST:2376, got "${String(v)}"`
        }
      },
    },
  ],
  load: () => import('./driver.js'),
})
