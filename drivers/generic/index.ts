import { isIP } from 'node:net'
import { defineDriver } from '../../src/driver-kit/contract.js'

/** Any existing host reachable over SSH: nothing is created, the engine is provisioned on it. */
export default defineDriver({
  name: 'generic',
  description: 'Provision the Docker engine on an existing host reachable over SSH',
  // An existing host: it can be rebooted over SSH, but not started, stopped or killed from here.
  capabilities: { lifecycle: ['restart'] },
  options: [
    {
      name: 'ip-address',
      configKey: 'IPAddress',
      type: 'string',
      required: true,
      env: ['GENERIC_IP_ADDRESS'],
      description: 'IP address or DNS name of the host',
      validate: (v) => (isIP(String(v)) || /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(String(v)) ? undefined : `"${String(v)}" is not an IP address or host name`),
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
      validate: (v) => (Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'must be a port between 1 and 65535'),
    },
    {
      name: 'engine-port',
      configKey: 'EnginePort',
      type: 'int',
      default: 2376,
      env: ['GENERIC_ENGINE_PORT'],
      description: 'Port the Docker engine listens on with TLS',
      validate: (v) => (Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'must be a port between 1 and 65535'),
    },
    {
      name: 'ssh-host-key-fingerprint',
      configKey: 'SSHHostKeyFingerprint',
      type: 'string',
      env: ['GENERIC_SSH_HOST_KEY_FINGERPRINT'],
      description: 'Expected SSH host key fingerprint (SHA256:…) to verify from the first connection; without it the key is trusted on first use and pinned',
      validate: (v) => (/^SHA256:[A-Za-z0-9+/]{43}$/.test(String(v)) ? undefined : 'must look like SHA256:<43 base64 characters> (see ssh-keygen -lf)'),
    },
  ],
  load: () => import('./driver.js'),
})
