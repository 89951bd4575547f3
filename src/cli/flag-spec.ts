/**
 * Flags of the hot commands (`env`, `ls`) and the global ones, declared once as plain data:
 * oclif flags are made from them for help and the normal path, and the fast path of bin/run.js
 * parses the same declarations with node:util's parseArgs, without loading oclif.
 */
export interface FlagSpec {
  type: 'string' | 'boolean' | 'integer'
  char?: string
  description: string
  multiple?: boolean
  default?: string | boolean | number
  env?: string
  helpGroup?: string
}

export type FlagSpecs = Record<string, FlagSpec>

export const GLOBAL_FLAGS: FlagSpecs = {
  'storage-path': { type: 'string', char: 's', env: 'MACHINE_STORAGE_PATH', helpGroup: 'GLOBAL', description: 'Store directory [default: ~/.docker/machine]' },
  debug: { type: 'boolean', char: 'D', helpGroup: 'GLOBAL', description: 'Show debug output' },
  'tls-ca-cert': { type: 'string', env: 'MACHINE_TLS_CA_CERT', helpGroup: 'GLOBAL', description: 'CA to verify remotes against' },
  'tls-ca-key': { type: 'string', env: 'MACHINE_TLS_CA_KEY', helpGroup: 'GLOBAL', description: 'Private key to generate certificates' },
  'tls-client-cert': { type: 'string', env: 'MACHINE_TLS_CLIENT_CERT', helpGroup: 'GLOBAL', description: 'Client cert to use for TLS' },
  'tls-client-key': { type: 'string', env: 'MACHINE_TLS_CLIENT_KEY', helpGroup: 'GLOBAL', description: 'Private key used in client TLS auth' },
}

export const ENV_FLAGS: FlagSpecs = {
  shell: { type: 'string', description: 'shell to write for: bash, sh, zsh, fish, powershell, cmd, tcsh, emacs [default: from $SHELL]' },
  unset: { type: 'boolean', char: 'u', description: 'print commands that unset the variables instead' },
  'no-proxy': { type: 'boolean', description: "add the machine's address to NO_PROXY (keeping existing entries)" },
  swarm: { type: 'boolean', description: 'point at the swarm master endpoint (swarm masters only)' },
}

/**
 * `--timeout` of `ls` and `active`. Declared as a string, not an integer: "1.5" or "abc" then
 * reach core/timeout-flag.ts and get its one-line range hint instead of oclif's parse message.
 */
export const TIMEOUT_FLAG: FlagSpec = { type: 'string', char: 't', default: '10', description: 'seconds to wait for each machine (1 to 3600)' }

export const LS_FLAGS: FlagSpecs = {
  quiet: { type: 'boolean', char: 'q', description: 'print machine names only' },
  filter: { type: 'string', multiple: true, description: 'filter: driver=, state=, name= (regexp), label=k=v, swarm= (repeatable)' },
  timeout: TIMEOUT_FLAG,
  format: { type: 'string', char: 'f', description: 'Go-template-style format, e.g. "table {{.Name}}\\t{{.State}}"' },
}
