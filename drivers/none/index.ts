import { checkEngineUrl } from '../../src/driver-kit/engine-url.js'
import { defineDriver } from '../../src/driver-kit/contract.js'

/** Records an existing Docker engine by URL; nothing is created or provisioned. */
export default defineDriver({
  name: 'none',
  description: 'Record an existing Docker engine reachable at --url (nothing is created or provisioned)',
  // An engine recorded by URL: no SSH, no provisioning, nothing to start or stop.
  capabilities: { ssh: false, lifecycle: [] },
  options: [
    {
      name: 'url',
      flag: 'url',
      configKey: 'URL',
      type: 'string',
      required: true,
      description: 'URL of the Docker engine, tcp://HOST:PORT, e.g. tcp://127.0.0.1:2376',
      // Thrown rather than returned, so the error keeps its own code (invalid-url) and hint.
      validate: (v) => {
        checkEngineUrl(String(v))
        return undefined
      },
    },
  ],
  load: () => import('./driver.js'),
})
