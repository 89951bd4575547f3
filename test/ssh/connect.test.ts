import { readFileSync } from 'node:fs'
import { appendFile, chmod, copyFile, readFile, writeFile } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectSsh, sshConnectionCount, SshAuthError, SshUnreachableError, type SshTarget } from '../../src/ssh/index.js'
import { freePort, makeKey, sshdTarget, startSshd, type Sshd } from '../helpers/sshd.js'
import { tempDir } from '../helpers/tmp.js'

let sshd: Sshd
let tmp: string

beforeAll(async () => {
  sshd = await startSshd()
  tmp = await tempDir('machine-ssh-connect-')
})
afterAll(async () => {
  await sshd?.stop()
})

const target = (extra: Partial<SshTarget> = {}): SshTarget => sshdTarget(sshd, join(tmp, 'known_hosts'), extra)

describe('authentication', () => {
  it('a key the host does not accept gives SshAuthError naming the user and key, without retrying', async () => {
    const wrong = await makeKey(join(tmp, 'wrong_key'), 'ed25519')
    const t0 = Date.now()
    const err = await connectSsh(target({ keyPath: wrong }), { retryForMs: 10_000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SshAuthError)
    expect((err as SshAuthError).code).toBe('ssh-auth-failed')
    expect((err as SshAuthError).message).toContain(`${sshd.user}@127.0.0.1:${sshd.port}`)
    expect((err as SshAuthError).message).toContain(wrong)
    expect(Date.now() - t0).toBeLessThan(5_000)
  })

  it('an RSA key in PEM format is accepted', async () => {
    const pem = join(tmp, 'pem_key')
    await makeKey(pem, 'rsa')
    const { execFile } = await import('node:child_process')
    // Convert to the classic "BEGIN RSA PRIVATE KEY" format and authorize it.
    await new Promise<void>((res, rej) => execFile('ssh-keygen', ['-p', '-N', '', '-m', 'PEM', '-f', pem], (e) => (e ? rej(e) : res())))
    expect((await readFile(pem, 'utf8')).startsWith('-----BEGIN RSA PRIVATE KEY-----')).toBe(true)
    const other = await startSshd({ userKeyPath: pem })
    try {
      const s = await connectSsh({ ...target({ port: other.port, keyPath: pem, hostKeys: [other.hostKeyPub] }), knownHostsPath: join(tmp, 'kh-pem') })
      expect(await s.run('echo pem')).toBe('pem\n')
      s.close()
    } finally {
      await other.stop()
    }
  })
})

describe('key file checks', () => {
  it('refuses a group-readable key like OpenSSH, before connecting', async () => {
    const loose = join(tmp, 'loose_key')
    await copyFile(sshd.userKeyPath, loose)
    await chmod(loose, 0o640)
    const before = sshConnectionCount()
    await expect(connectSsh(target({ keyPath: loose }))).rejects.toMatchObject({
      code: 'ssh-key-permissions',
      message: expect.stringMatching(/permissions 0640 for '.*loose_key' are too open/),
      hint: `chmod 600 ${loose}`,
    })
    expect(sshConnectionCount()).toBe(before)
  })

  it('reports a missing key file with its path', async () => {
    await expect(connectSsh(target({ keyPath: join(tmp, 'absent') }))).rejects.toMatchObject({
      code: 'ssh-key-missing',
      message: expect.stringContaining(join(tmp, 'absent')),
    })
  })

  it('reports a passphrase-protected key as unusable', async () => {
    const enc = join(tmp, 'enc_key')
    await makeKey(enc, 'ed25519')
    const { execFile } = await import('node:child_process')
    await new Promise<void>((res, rej) => execFile('ssh-keygen', ['-p', '-P', '', '-N', 'secret', '-f', enc], (e) => (e ? rej(e) : res())))
    await expect(connectSsh(target({ keyPath: enc }))).rejects.toMatchObject({ code: 'ssh-key-invalid' })
  })

  it('rejects a malformed injected host key line', async () => {
    await expect(connectSsh(target({ hostKeys: ['ssh-ed25519 not-base64!!'] }))).rejects.toMatchObject({ code: 'ssh-host-key-invalid' })
  })
})

describe('waiting for a booting host', () => {
  it('retries while the port is closed and connects once sshd starts', async () => {
    const port = await freePort()
    const key = await makeKey(join(tmp, 'late_key'), 'ed25519')
    const t: SshTarget = { host: '127.0.0.1', port, user: sshd.user, keyPath: key, knownHostsPath: join(tmp, 'kh-late'), trustOnFirstUse: true }
    const lines: string[] = []
    let late: Sshd | undefined
    const starting = new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        startSshd({ port, userKeyPath: key }).then((s) => {
          late = s
          resolve()
        }, reject)
      }, 1_500)
    })
    try {
      const t0 = Date.now()
      const s = await connectSsh(t, { retryForMs: 20_000, log: (l) => lines.push(l) })
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400)
      expect(await s.run('echo booted')).toBe('booted\n')
      s.close()
      expect(lines.filter((l) => l.includes('retrying')).length).toBeGreaterThanOrEqual(2)
      expect(lines.some((l) => l.includes('ECONNREFUSED'))).toBe(true)
    } finally {
      await starting
      await late?.stop()
    }
  })

  it('gives SshUnreachableError within the retry budget when nothing listens', async () => {
    const port = await freePort()
    const t0 = Date.now()
    const err = await connectSsh(target({ port }), { retryForMs: 2_000 }).catch((e: unknown) => e)
    const elapsed = Date.now() - t0
    expect(err).toBeInstanceOf(SshUnreachableError)
    const e = err as SshUnreachableError
    expect(e.code).toBe('ssh-unreachable')
    expect(e.message).toContain(`127.0.0.1:${port}`)
    expect(e.message).toContain('ECONNREFUSED')
    expect(e.attempts).toBeGreaterThanOrEqual(3)
    expect(elapsed).toBeGreaterThanOrEqual(1_900)
    expect(elapsed).toBeLessThan(4_000)
  })

  it('a single attempt (default) fails at once', async () => {
    const port = await freePort()
    const t0 = Date.now()
    const err = await connectSsh(target({ port })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SshUnreachableError)
    expect((err as SshUnreachableError).attempts).toBe(1)
    expect(Date.now() - t0).toBeLessThan(1_000)
  })

  describe('a port that accepts but never sends the SSH banner', () => {
    let silent: Server
    let port: number
    const sockets: Socket[] = []
    beforeAll(async () => {
      silent = createServer((s) => sockets.push(s))
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
      port = (silent.address() as { port: number }).port
    })
    afterAll(async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => silent.close(() => r()))
    })

    it('times out per attempt and reports the host unreachable', async () => {
      const t0 = Date.now()
      const err = await connectSsh(target({ port }), { timeoutMs: 600 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(SshUnreachableError)
      expect((err as Error).message).toMatch(/Timed out/i)
      const elapsed = Date.now() - t0
      expect(elapsed).toBeGreaterThanOrEqual(550)
      expect(elapsed).toBeLessThan(3_000)
    })

    it('stops when the signal aborts', async () => {
      const ac = new AbortController()
      setTimeout(() => ac.abort(new Error('user pressed Ctrl-C')), 300)
      const t0 = Date.now()
      await expect(connectSsh(target({ port }), { retryForMs: 30_000, timeoutMs: 10_000, signal: ac.signal })).rejects.toThrow('user pressed Ctrl-C')
      expect(Date.now() - t0).toBeLessThan(2_000)
    })
  })

  it('an unwritable known_hosts location fails with a clear error', async () => {
    const file = join(tmp, 'not-a-dir')
    await writeFile(file, 'x')
    await expect(connectSsh(target({ knownHostsPath: join(file, 'known_hosts') }))).rejects.toMatchObject({
      code: expect.stringMatching(/^known-hosts-/),
      message: expect.stringContaining(join(file, 'known_hosts')),
    })
  })
})

describe('booting host quirks', () => {
  it('retries a port that accepts and drops connections (a hypervisor port-forward before the guest listens)', async () => {
    let accepted = 0
    const proxy = createServer((client) => {
      accepted++
      if (accepted <= 2) {
        client.destroy()
        return
      }
      const upstream = connect(sshd.port, '127.0.0.1')
      client.pipe(upstream).pipe(client)
      const close = (): void => {
        client.destroy()
        upstream.destroy()
      }
      client.on('error', close).on('close', close)
      upstream.on('error', close).on('close', close)
    })
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
    const port = (proxy.address() as { port: number }).port
    try {
      const before = sshConnectionCount()
      const lines: string[] = []
      // Pins are per host:port: the proxied port gets its own known_hosts file.
      const s = await connectSsh(target({ port, knownHostsPath: join(tmp, 'kh-proxy') }), { retryForMs: 15_000, log: (l) => lines.push(l) })
      expect(await s.run('echo through')).toBe('through\n')
      s.close()
      expect(accepted).toBe(3)
      expect(sshConnectionCount() - before).toBe(3)
      expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(2)
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()))
    }
  })

  it('with authRetryForMs, waits for the key to be authorized (cloud-init still running)', async () => {
    const late = await makeKey(join(tmp, 'late_authorized'), 'ed25519')
    const authorizedKeys = join(sshd.dir, 'authorized_keys')
    const original = await readFile(authorizedKeys, 'utf8')
    const t = target({ keyPath: late, knownHostsPath: join(tmp, 'kh-authretry') })
    // Without the option: refused at once.
    await expect(connectSsh(t, { retryForMs: 10_000 })).rejects.toBeInstanceOf(SshAuthError)
    const timer = setTimeout(() => void appendFile(authorizedKeys, readFileSync(`${late}.pub`)), 1_200)
    try {
      const t0 = Date.now()
      const s = await connectSsh(t, { retryForMs: 15_000, authRetryForMs: 10_000 })
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_100)
      expect(await s.run('echo authorized')).toBe('authorized\n')
      s.close()
    } finally {
      clearTimeout(timer)
      await writeFile(authorizedKeys, original)
    }
  })

  it('with authRetryForMs, still gives SshAuthError when the key never becomes valid', async () => {
    const never = await makeKey(join(tmp, 'never_authorized'), 'ed25519')
    const t0 = Date.now()
    const err = await connectSsh(target({ keyPath: never }), { retryForMs: 30_000, authRetryForMs: 1_500 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SshAuthError)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400)
    expect(Date.now() - t0).toBeLessThan(6_000)
  })

  it('names what a non-SSH service on the port answered, within the retry budget', async () => {
    const http = createServer((s) => {
      s.resume()
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n')
    })
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    const port = (http.address() as { port: number }).port
    try {
      const t0 = Date.now()
      const err = await connectSsh(target({ port }), { retryForMs: 2_000 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(SshUnreachableError)
      expect((err as Error).message).toContain(`127.0.0.1:${port}`)
      expect((err as Error).message).toContain('the port answered "HTTP/1.1 400 Bad Request"')
      expect(Date.now() - t0).toBeLessThan(4_000)
    } finally {
      await new Promise<void>((r) => http.close(() => r()))
    }
  })
})
