import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

// This file is imported by `--help`, `drivers` and friends: no SDK import here (see driver.ts).
export default defineDriver({
  name: 'google',
  description: 'Create a Docker host on Google Compute Engine',
  options,
  load: () => import('./driver.js'),
  // Application Default Credentials without the metadata server: a key file, or gcloud's ADC file.
  prune: {
    options: ['project', 'network', 'endpoint'],
    configured: (env) =>
      !!env.GOOGLE_APPLICATION_CREDENTIALS ||
      existsSync(join(env.CLOUDSDK_CONFIG ?? join(homedir(), '.config', 'gcloud'), 'application_default_credentials.json')),
  },
})
