import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { MachineError } from '../../src/driver-kit/errors.js'
import { loadSsh2 } from '../../src/driver-kit/ssh2-module.js'

/**
 * The OpenSSH public key line for a user-supplied private key (--amazonec2-ssh-keypath): its
 * `.pub` file when there is one, else derived from the private key itself.
 */
export async function publicKeyOf(privateKeyPath: string): Promise<string> {
  const pub = `${privateKeyPath}.pub`
  if (existsSync(pub)) {
    const line = (await readFile(pub, 'utf8')).split('\n').find((l) => l.trim())
    if (line) return line.trim()
  }
  // ssh2 is already a dependency (the SSH layer); loaded only on this path.
  const { utils } = await loadSsh2()
  const parsed = utils.parseKey(await readFile(privateKeyPath))
  const key = Array.isArray(parsed) ? parsed[0] : parsed
  if (!key || key instanceof Error) {
    throw new MachineError('invalid-option', `--amazonec2-ssh-keypath: cannot read the key in ${privateKeyPath}`, {
      hint: `${key instanceof Error ? `${key.message}; ` : ''}give an unencrypted OpenSSH or PEM private key, or put its public key in ${pub}`,
    })
  }
  return `${key.type} ${key.getPublicSSH().toString('base64')}`
}
