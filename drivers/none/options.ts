import { checkEngineUrl } from '../../src/driver-kit/engine-url.js'
import type { OptionSpec, OptionValue } from '../../src/driver-kit/options.js'

/** The none driver's one option, imported by the definition (index.ts) and, typed, by the driver. */
export const options = [
  {
    name: 'url',
    flag: 'url',
    configKey: 'URL',
    type: 'string',
    required: true,
    description: 'URL of the Docker engine, tcp://HOST:PORT, e.g. tcp://127.0.0.1:2376',
    // Thrown rather than returned, so the error keeps its own code (invalid-url) and hint.
    validate: (v: OptionValue) => {
      checkEngineUrl(String(v))
      return undefined
    },
  },
] as const satisfies readonly OptionSpec[]
