import { machineKeyPath } from '../store/paths.js'
import type { DriverContext, SshInfo } from './contract.js'

/**
 * SshInfo for a host whose key and pinned host keys the driver saved in docker-machine's base
 * fields: SSHKeyPath (else the machine's id_rsa) and SSHHostKeys (injected with cloud-init).
 */
export function savedSshInfo(ctx: DriverContext, o: { host: string; port: number; user: string }): SshInfo {
  const c = ctx.config
  const hostKeys = Array.isArray(c.SSHHostKeys) ? c.SSHHostKeys.map(String) : []
  const keyPath = typeof c.SSHKeyPath === 'string' && c.SSHKeyPath ? c.SSHKeyPath : machineKeyPath(ctx.machineDir)
  return { ...o, keyPath, ...(hostKeys.length ? { hostKeys } : {}) }
}
