import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

/**
 * Amazon EC2 (options in options.ts). This file must stay free of SDK imports: it is loaded by
 * `--help` and `drivers`.
 */
export default defineDriver({
  name: 'amazonec2',
  description: 'Amazon Web Services EC2 instances',
  options,
  load: () => import('./driver.js'),
  // The SDK's credential chain, as far as it can be told without loading it: keys, a profile, a web identity, or the shared files.
  prune: {
    options: ['access-key', 'secret-key', 'session-token', 'profile', 'region', 'retries', 'endpoint', 'insecure-transport'],
    configured: (env) =>
      !!(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE) ||
      existsSync(env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials')) ||
      existsSync(env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config')),
  },
})
