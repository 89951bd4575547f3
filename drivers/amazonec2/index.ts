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
})
