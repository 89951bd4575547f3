import { existsSync } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fingerprintOf } from '../../src/driver-kit/keys.js'
import { connectSsh, HostKeyMismatchError, type SshTarget } from '../../src/ssh/index.js'
import { makeKey, startSshd, type Sshd } from '../helpers/sshd.js'

let sshd: Sshd
let n = 0

beforeAll(async () => {
  sshd = await startSshd()
})
afterAll(async () => {
  await sshd?.stop()
})

/** A target with a fresh (absent) known_hosts file. */
function target(extra: Partial<SshTarget> = {}): SshTarget {
  return {
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    keyPath: sshd.userKeyPath,
    knownHostsPath: join(sshd.dir, `known_hosts.${++n}`),
    ...extra,
  }
}

const pinLine = (): string => `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPub.split(' ').slice(0, 2).join(' ')}\n`

describe('first connection', () => {
  it('trust-on-first-use pins the presented key in OpenSSH format, 0600', async () => {
    const t = target({ trustOnFirstUse: true })
    const lines: string[] = []
    const s = await connectSsh(t, { log: (l) => lines.push(l) })
    expect(await s.run('echo ok')).toBe('ok\n')
    s.close()
    expect(await readFile(t.knownHostsPath, 'utf8')).toBe(pinLine())
    expect((await stat(t.knownHostsPath)).mode & 0o777).toBe(0o600)
    expect(lines.join('\n')).toContain(fingerprintOf(sshd.hostKeyPub))
    // No key material in debug lines.
    const keyText = await readFile(sshd.userKeyPath, 'utf8')
    const keyBody = keyText.split('\n')[1] ?? ''
    expect(keyBody.length).toBeGreaterThan(20)
    expect(lines.join('\n')).not.toContain(keyBody)
  })

  it('without a pin, injected keys or TOFU, refuses and pins nothing', async () => {
    const t = target()
    await expect(connectSsh(t)).rejects.toMatchObject({
      code: 'host-key-unknown',
      message: expect.stringContaining(fingerprintOf(sshd.hostKeyPub)),
    })
    expect(existsSync(t.knownHostsPath)).toBe(false)
  })

  it('verifies against host keys known in advance and pins them', async () => {
    const t = target({ hostKeys: [sshd.hostKeyPub] })
    const s = await connectSsh(t)
    s.close()
    expect(await readFile(t.knownHostsPath, 'utf8')).toBe(pinLine())
  })

  it('accepts when one of several injected keys is presented, and pins all of them', async () => {
    const other = await makeKey(join(sshd.dir, 'other-host-key'), 'ecdsa')
    const otherPub = (await readFile(`${other}.pub`, 'utf8')).trim()
    const t = target({ hostKeys: [otherPub, sshd.hostKeyPub] })
    const s = await connectSsh(t)
    s.close()
    const text = await readFile(t.knownHostsPath, 'utf8')
    expect(text.trim().split('\n')).toHaveLength(2)
    expect(text).toContain(otherPub.split(' ')[1])
    expect(text).toContain(sshd.hostKeyPub.split(' ')[1])
  })

  it('refuses a host that presents a key other than the injected one, naming both fingerprints; nothing pinned', async () => {
    const other = await makeKey(join(sshd.dir, 'other-host-key2'), 'ed25519')
    const otherPub = (await readFile(`${other}.pub`, 'utf8')).trim()
    const t = target({ hostKeys: [otherPub] })
    const err = await connectSsh(t).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HostKeyMismatchError)
    const e = err as HostKeyMismatchError
    expect(e.code).toBe('host-key-changed')
    expect(e.message).toContain(`127.0.0.1:${sshd.port}`)
    expect(e.message).toContain(fingerprintOf(otherPub))
    expect(e.message).toContain(fingerprintOf(sshd.hostKeyPub))
    expect(existsSync(t.knownHostsPath)).toBe(false)
  })

  it('verifies against an expected SHA256 fingerprint, then pins', async () => {
    const t = target({ hostKeyFingerprint: fingerprintOf(sshd.hostKeyPub) })
    const s = await connectSsh(t)
    s.close()
    expect(await readFile(t.knownHostsPath, 'utf8')).toBe(pinLine())

    const wrong = target({ hostKeyFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })
    await expect(connectSsh(wrong)).rejects.toBeInstanceOf(HostKeyMismatchError)
    expect(existsSync(wrong.knownHostsPath)).toBe(false)
  })

  it('a pin wins over trust-on-first-use: a pinned wrong key is refused', async () => {
    const other = await makeKey(join(sshd.dir, 'other-host-key3'), 'ed25519')
    const otherPub = (await readFile(`${other}.pub`, 'utf8')).trim()
    const t = target({ trustOnFirstUse: true })
    const before = `[127.0.0.1]:${sshd.port} ${otherPub}\n`
    await writeFile(t.knownHostsPath, before, { mode: 0o600 })
    await expect(connectSsh(t)).rejects.toMatchObject({ code: 'host-key-changed' })
    expect(await readFile(t.knownHostsPath, 'utf8')).toBe(before)
  })

  it('reads pins written by OpenSSH itself, hashed (HashKnownHosts) and plain', async () => {
    const { execFile } = await import('node:child_process')
    const t = target()
    await writeFile(t.knownHostsPath, pinLine(), { mode: 0o600 })
    // ssh-keygen -H rewrites the file with hashed host names.
    await new Promise<void>((res, rej) => execFile('ssh-keygen', ['-H', '-f', t.knownHostsPath], (e) => (e ? rej(e) : res())))
    const hashed = await readFile(t.knownHostsPath, 'utf8')
    expect(hashed.startsWith('|1|')).toBe(true)
    const s = await connectSsh(t)
    expect(await s.run('echo hashed-ok')).toBe('hashed-ok\n')
    s.close()
    // Already pinned: the file is left alone.
    expect(await readFile(t.knownHostsPath, 'utf8')).toBe(hashed)
  })
})

describe('host rebuilt with a new key', () => {
  let rebuilt: Sshd | undefined
  afterEach(async () => {
    await rebuilt?.stop()
    rebuilt = undefined
  })

  it('refuses with HostKeyMismatchError naming host:port, both fingerprints and the fix; nothing re-pinned', async () => {
    rebuilt = await startSshd()
    const t: SshTarget = {
      host: '127.0.0.1',
      port: rebuilt.port,
      user: rebuilt.user,
      keyPath: rebuilt.userKeyPath,
      knownHostsPath: join(rebuilt.dir, 'known_hosts'),
      trustOnFirstUse: true,
    }
    const first = await connectSsh(t)
    first.close()
    const pinned = await readFile(t.knownHostsPath, 'utf8')
    const oldFp = fingerprintOf(rebuilt.hostKeyPub)

    await rebuilt.restart({ newHostKey: true })
    const newFp = fingerprintOf(rebuilt.hostKeyPub)
    expect(newFp).not.toBe(oldFp)

    const err = await connectSsh(t, { retryForMs: 5_000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HostKeyMismatchError)
    const e = err as HostKeyMismatchError
    expect(e.code).toBe('host-key-changed')
    expect(e.line).not.toContain('\n')
    expect(e.line).toContain(`127.0.0.1:${rebuilt.port}`)
    expect(e.line).toContain(`expected ${oldFp}`)
    expect(e.line).toContain(`presented ${newFp}`)
    expect(e.line).toContain('remove its line from')
    expect(e.line).toContain('machine provision')
    expect(e.line).toContain(t.knownHostsPath)
    expect(await readFile(t.knownHostsPath, 'utf8')).toBe(pinned)
  })
})

describe('hosts with several host keys', () => {
  let multi: Sshd | undefined
  afterEach(async () => {
    await multi?.stop()
    multi = undefined
  })

  it('asks for the pinned key type, so a pinned ECDSA key verifies even though ed25519 is preferred by default', async () => {
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(join(sshd.dir, 'multi-')))
    const ecdsa = await makeKey(join(dir, 'ecdsa_host'), 'ecdsa')
    const ecdsaPub = (await readFile(`${ecdsa}.pub`, 'utf8')).trim()
    // The helper's own ed25519 key plus an ECDSA one.
    multi = await startSshd({ extraConfig: [`HostKey ${ecdsa}`] })
    const t: SshTarget = { host: '127.0.0.1', port: multi.port, user: multi.user, keyPath: multi.userKeyPath, knownHostsPath: join(dir, 'known_hosts') }
    await writeFile(t.knownHostsPath, `[127.0.0.1]:${multi.port} ${ecdsaPub}\n`, { mode: 0o600 })
    const s = await connectSsh(t)
    expect(await s.run('echo ecdsa-ok')).toBe('ecdsa-ok\n')
    s.close()
    // Injected keys steer the choice the same way on a first connection.
    const t2 = { ...t, knownHostsPath: join(dir, 'known_hosts2'), hostKeys: [ecdsaPub] }
    const s2 = await connectSsh(t2)
    s2.close()
    expect(await readFile(t2.knownHostsPath, 'utf8')).toContain(ecdsaPub.split(' ')[1])
  })

  it('refuses a key marked @revoked even with trust-on-first-use', async () => {
    const t = target({ trustOnFirstUse: true })
    await writeFile(t.knownHostsPath, `@revoked [127.0.0.1]:${sshd.port} ${sshd.hostKeyPub}\n`, { mode: 0o600 })
    await expect(connectSsh(t)).rejects.toMatchObject({ code: 'host-key-revoked' })
  })
})
