import { defineDriver } from '../../src/driver-kit/contract.js'
import { options } from './options.js'

// This file is imported by `--help`, `drivers` and friends: no SDK import here (see driver.ts).
export default defineDriver({
  name: 'google',
  description: 'Create a Docker host on Google Compute Engine',
  options,
  load: () => import('./driver.js'),
})
