import type * as Ssh2 from 'ssh2'

/**
 * ssh2, loaded on first use (commands like `env` and `ls` never need it). It is CommonJS:
 * under plain Node its exports sit on `default`, under bundlers/vitest on the namespace.
 */
export async function loadSsh2(): Promise<typeof Ssh2> {
  const mod = (await import('ssh2')) as typeof Ssh2 & { default?: typeof Ssh2 }
  return mod.default ?? mod
}
