import { readFile, stat } from 'node:fs/promises'
import { MachineError } from '../core/errors.js'
import { loadSsh2 } from '../driver-kit/ssh2-module.js'

/**
 * Read a private key the way OpenSSH would accept it: a key file owned by us that the group or
 * others can read is refused ("permissions 0644 … are too open"), so `machine ssh` through the
 * system client and our own connection behave the same.
 */
export async function readPrivateKey(path: string): Promise<Buffer> {
  let st
  try {
    st = await stat(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MachineError('ssh-key-missing', `SSH private key ${path} does not exist`, { hint: 'check the machine\'s SSHKeyPath', cause: e })
    }
    throw new MachineError('ssh-key-unreadable', `cannot read SSH private key ${path}: ${(e as Error).message}`, { cause: e })
  }
  const uid = process.getuid?.()
  if ((uid === undefined || st.uid === uid) && (st.mode & 0o077) !== 0) {
    const perms = (st.mode & 0o777).toString(8).padStart(4, '0')
    throw new MachineError('ssh-key-permissions', `permissions ${perms} for '${path}' are too open: a private key must not be accessible by others`, {
      hint: `chmod 600 ${path}`,
    })
  }
  const data = await readFile(path)
  const { utils } = await loadSsh2()
  const parsed = utils.parseKey(data)
  if (parsed instanceof Error) {
    const encrypted = /passphrase|encrypted/i.test(parsed.message)
    throw new MachineError('ssh-key-invalid', `SSH private key ${path} cannot be used: ${parsed.message}`, {
      hint: encrypted ? 'use a key without a passphrase (or load it in an agent and use the system ssh)' : 'expected an OpenSSH or PEM private key',
      cause: parsed,
    })
  }
  return data
}
