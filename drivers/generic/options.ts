import { isIP } from 'node:net'
import type { OptionSpec, OptionValue } from '../../src/driver-kit/options.js'

/** The generic driver's options: imported by the definition (index.ts) and, typed, by the driver. */
export const options = [
  {
    name: 'ip-address',
    configKey: 'IPAddress',
    type: 'string',
    required: true,
    env: ['GENERIC_IP_ADDRESS'],
    description: 'IP address or DNS name of the host',
    validate: (v: OptionValue) => (isIP(String(v)) || /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(String(v)) ? undefined : `"${String(v)}" is not an IP address or host name`),
  },
  { name: 'ssh-user', configKey: 'SSHUser', type: 'string', default: 'root', env: ['GENERIC_SSH_USER'], description: 'SSH user' },
  {
    name: 'ssh-key',
    configKey: 'SSHKey',
    type: 'string',
    env: ['GENERIC_SSH_KEY'],
    description: 'SSH private key file (default: ~/.ssh/id_ed25519 or ~/.ssh/id_rsa); copied into the machine directory',
  },
  {
    name: 'ssh-port',
    configKey: 'SSHPort',
    type: 'int',
    default: 22,
    env: ['GENERIC_SSH_PORT'],
    description: 'SSH port',
    validate: (v: OptionValue) => (Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'must be a port between 1 and 65535'),
  },
  {
    name: 'engine-port',
    configKey: 'EnginePort',
    type: 'int',
    default: 2376,
    env: ['GENERIC_ENGINE_PORT'],
    description: 'Port the Docker engine listens on with TLS',
    validate: (v: OptionValue) => (Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'must be a port between 1 and 65535'),
  },
  {
    name: 'ssh-host-key-fingerprint',
    configKey: 'SSHHostKeyFingerprint',
    type: 'string',
    env: ['GENERIC_SSH_HOST_KEY_FINGERPRINT'],
    description: 'Expected SSH host key fingerprint (SHA256:…) to verify from the first connection; without it the key is trusted on first use and pinned',
    validate: (v: OptionValue) => (/^SHA256:[A-Za-z0-9+/]{43}$/.test(String(v)) ? undefined : 'must look like SHA256:<43 base64 characters> (see ssh-keygen -lf)'),
  },
] as const satisfies readonly OptionSpec[]
