/**
 * Flags of the commands on the fast path (`env`, `ls`, and the machine queries scripts run:
 * `inspect`, `status`, `url`, `ip`, `config`, `active`) and the global ones, declared once as
 * plain data: oclif flags are made from them for help and the normal path (oclif-flags.ts), the
 * fast path of bin/run.js parses the same declarations with node:util's parseArgs without
 * loading oclif (fast/parse.ts), and bin/run.js moves the global ones after the command
 * (global-argv.ts).
 * This module imports nothing: bin/run.js loads it on every start.
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

/** What a declared flag parses to (the same on the oclif and the fast path). */
type FlagValue<S extends FlagSpec> = S['type'] extends 'boolean' ? boolean : S['type'] extends 'integer' ? number : S['multiple'] extends true ? string[] : string
export type FlagValues<S extends FlagSpecs> = { -readonly [K in keyof S]?: FlagValue<S[K]> }

export const GLOBAL_FLAGS = {
  'storage-path': { type: 'string', char: 's', env: 'MACHINE_STORAGE_PATH', helpGroup: 'GLOBAL', description: 'Store directory [default: ~/.docker/machine]' },
  debug: { type: 'boolean', char: 'D', helpGroup: 'GLOBAL', description: 'Show debug output' },
  'tls-ca-cert': { type: 'string', env: 'MACHINE_TLS_CA_CERT', helpGroup: 'GLOBAL', description: 'CA to verify remotes against' },
  'tls-ca-key': { type: 'string', env: 'MACHINE_TLS_CA_KEY', helpGroup: 'GLOBAL', description: 'Private key to generate certificates' },
  'tls-client-cert': { type: 'string', env: 'MACHINE_TLS_CLIENT_CERT', helpGroup: 'GLOBAL', description: 'Client cert to use for TLS' },
  'tls-client-key': { type: 'string', env: 'MACHINE_TLS_CLIENT_KEY', helpGroup: 'GLOBAL', description: 'Private key used in client TLS auth' },
} as const satisfies FlagSpecs

export const ENV_FLAGS = {
  shell: { type: 'string', description: 'shell to write for: bash, sh, zsh, fish, powershell, cmd, tcsh, emacs [default: from $SHELL]' },
  unset: { type: 'boolean', char: 'u', description: 'print commands that unset the variables instead' },
  'no-proxy': { type: 'boolean', description: "add the machine's address to NO_PROXY (keeping existing entries)" },
  swarm: { type: 'boolean', description: "point at a manager of the machine's swarm that accepts connections (docs/clusters.md)" },
  context: { type: 'boolean', description: "set DOCKER_CONTEXT to the machine's docker context (made if missing) instead of the TLS variables (docs/contexts.md)" },
} as const satisfies FlagSpecs

/**
 * `--timeout` of `ls` and `active`. Declared as a string, not an integer: "1.5" or "abc" then
 * reach core/timeout-flag.ts and get its one-line range hint instead of oclif's parse message.
 */
export const TIMEOUT_FLAG = { type: 'string', char: 't', default: '10', description: 'seconds to wait for each machine (1 to 3600)' } as const satisfies FlagSpec

export const LS_FLAGS = {
  quiet: { type: 'boolean', char: 'q', description: 'print machine names only' },
  filter: { type: 'string', multiple: true, description: 'filter: driver=, state=, name= (regexp), label=k=v, swarm= (repeatable)' },
  timeout: TIMEOUT_FLAG,
  format: { type: 'string', char: 'f', description: 'Go-template-style format, e.g. "table {{.Name}}\\t{{.State}}"' },
} as const satisfies FlagSpecs

export const INSPECT_FLAGS = {
  format: { type: 'string', char: 'f', description: 'Go-template-style format, e.g. {{.DriverName}} or {{json .Driver}}' },
} as const satisfies FlagSpecs

export const CONFIG_FLAGS = {
  swarm: { type: 'boolean', description: "use a manager of the machine's swarm that accepts connections" },
} as const satisfies FlagSpecs

export const ACTIVE_FLAGS = { timeout: TIMEOUT_FLAG } as const satisfies FlagSpecs

/** `status`, `url` and `ip`: the global flags and --json only. */
export const NO_FLAGS = {} as const satisfies FlagSpecs

export type GlobalFlagValues = FlagValues<typeof GLOBAL_FLAGS>
export type EnvFlagValues = FlagValues<typeof ENV_FLAGS>
export type LsFlagValues = FlagValues<typeof LS_FLAGS>
export type InspectFlagValues = FlagValues<typeof INSPECT_FLAGS>
export type ConfigFlagValues = FlagValues<typeof CONFIG_FLAGS>
export type ActiveFlagValues = FlagValues<typeof ACTIVE_FLAGS>
