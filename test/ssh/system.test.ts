import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensurePinnedForSystemSsh, parseScpLocation, systemScpArgs, systemSshArgs, type SshTarget } from '../../src/ssh/index.js'
import { sshdTarget, startSshd, type Sshd } from '../helpers/sshd.js'
import { tempDir } from '../helpers/tmp.js'

interface Ran {
  code: number
  stdout: string
  stderr: string
}
const runProgram = (cmd: string, args: string[]): Promise<Ran> =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })

let sshd: Sshd
let tmp: string
let target: SshTarget

beforeAll(async () => {
  sshd = await startSshd()
  tmp = await tempDir('machine-ssh-system-')
  target = sshdTarget(sshd, join(tmp, 'known_hosts'))
  await ensurePinnedForSystemSsh(target)
})
afterAll(async () => {
  await sshd?.stop()
})

describe('system ssh', () => {
  it('pins injected host keys for the system client without connecting', async () => {
    expect(await readFile(target.knownHostsPath, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${sshd.hostKeyPub.split(' ').slice(0, 2).join(' ')}\n`)
  })

  it('runs a command with the pinned key and strict checking, and passes the exit code', async () => {
    const args = systemSshArgs(target, ['echo', 'hello from $(hostname -s >/dev/null && echo sshd)'])
    expect(args).toEqual(expect.arrayContaining(['StrictHostKeyChecking=yes', `UserKnownHostsFile=${target.knownHostsPath}`, 'IdentitiesOnly=yes']))
    expect(args).not.toContain('StrictHostKeyChecking=no')
    const r = await runProgram('ssh', args)
    expect(r).toMatchObject({ code: 0, stdout: 'hello from sshd\n' })
    expect((await runProgram('ssh', systemSshArgs(target, ['exit 3']))).code).toBe(3)
  })

  it('refuses a host whose key does not match the pin (no TOFU, no prompt)', async () => {
    const wrongPin = join(tmp, 'wrong_known_hosts')
    await writeFile(wrongPin, `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHfS0y6MxTVmEsr2tjALFD7rXXm6IwKmBfZzDGckLtUU\n`, { mode: 0o600 })
    const r = await runProgram('ssh', systemSshArgs({ ...target, knownHostsPath: wrongPin }, ['echo', 'should-not-run']))
    expect(r.code).toBe(255)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/host key|verification failed/i)

    const nothing = join(tmp, 'empty_known_hosts')
    const r2 = await runProgram('ssh', systemSshArgs({ ...target, knownHostsPath: nothing }, ['echo', 'should-not-run']))
    expect(r2.code).toBe(255)
    expect(existsSync(nothing)).toBe(false)
  })

  it('ensurePinnedForSystemSsh verifies a TOFU target with one connection of its own', async () => {
    const t: SshTarget = { ...target, hostKeys: undefined, trustOnFirstUse: true, knownHostsPath: join(tmp, 'tofu_known_hosts') }
    await ensurePinnedForSystemSsh(t)
    expect(await readFile(t.knownHostsPath, 'utf8')).toContain(sshd.hostKeyPub.split(' ')[1])
    expect((await runProgram('ssh', systemSshArgs(t, ['true']))).code).toBe(0)
  })
})

describe('system scp', () => {
  it('copies a file to the machine and back', async () => {
    const local = join(tmp, 'up.txt')
    await writeFile(local, 'via scp\n')
    const remote = join(sshd.dir, 'scp-up.txt')
    const up = await runProgram('scp', systemScpArgs(target, { quiet: true }, local, `dev:${remote}`))
    expect(up).toMatchObject({ code: 0 })
    expect(await readFile(remote, 'utf8')).toBe('via scp\n')

    await writeFile(remote, 'changed remotely\n')
    const back = join(tmp, 'back.txt')
    const down = await runProgram('scp', systemScpArgs(target, {}, `dev:${remote}`, back))
    expect(down).toMatchObject({ code: 0 })
    expect(await readFile(back, 'utf8')).toBe('changed remotely\n')
  })

  it('copies a directory recursively with -r', async () => {
    const src = join(tmp, 'tree')
    await mkdir(join(src, 'sub'), { recursive: true })
    await writeFile(join(src, 'a.txt'), 'A')
    await writeFile(join(src, 'sub', 'b.txt'), 'B')
    const remoteDir = join(sshd.dir, 'tree-copy')
    const r = await runProgram('scp', systemScpArgs(target, { recursive: true }, src, `dev:${remoteDir}`))
    expect(r).toMatchObject({ code: 0 })
    expect(await readFile(join(remoteDir, 'a.txt'), 'utf8')).toBe('A')
    expect(await readFile(join(remoteDir, 'sub', 'b.txt'), 'utf8')).toBe('B')
    expect((await stat(join(remoteDir, 'sub'))).isDirectory()).toBe(true)

    // Without -r scp refuses a directory.
    const noR = await runProgram('scp', systemScpArgs(target, {}, src, `dev:${join(sshd.dir, 'tree-no-r')}`))
    expect(noR.code).not.toBe(0)
  })

  it('copies between two machines through this host (-3), each with its own port and pin', async () => {
    const other = await startSshd()
    try {
      const t2: SshTarget = { host: '127.0.0.1', port: other.port, user: other.user, keyPath: other.userKeyPath, knownHostsPath: join(tmp, 'kh2'), hostKeys: [other.hostKeyPub] }
      await ensurePinnedForSystemSsh(t2)
      const from = join(sshd.dir, 'from-one.txt')
      await writeFile(from, 'one to two\n')
      const to = join(other.dir, 'at-two.txt')
      const args = systemScpArgs({ one: target, two: t2 }, {}, `one:${from}`, `two:${to}`)
      expect(args).toContain('-3')
      const r = await runProgram('scp', args)
      expect(r).toMatchObject({ code: 0 })
      expect(await readFile(to, 'utf8')).toBe('one to two\n')
    } finally {
      await other.stop()
    }
  })

  it('names an unknown machine in a two-machine copy', () => {
    expect(() => systemScpArgs({ one: target }, {}, 'one:/a', 'three:/b')).toThrow(/no machine named "three"/)
  })
})

describe('scp locations', () => {
  it('parses remote and local specs like scp does', () => {
    expect(parseScpLocation('dev:/etc/hosts')).toEqual({ remote: true, machine: 'dev', user: undefined, path: '/etc/hosts' })
    expect(parseScpLocation('ubuntu@dev:file')).toEqual({ remote: true, machine: 'dev', user: 'ubuntu', path: 'file' })
    expect(parseScpLocation('dev:')).toEqual({ remote: true, machine: 'dev', user: undefined, path: '' })
    expect(parseScpLocation('./a:b')).toEqual({ remote: false, path: './a:b' })
    expect(parseScpLocation('dir/a:b')).toEqual({ remote: false, path: 'dir/a:b' })
    expect(parseScpLocation('/abs/path')).toEqual({ remote: false, path: '/abs/path' })
    expect(parseScpLocation('localhost:notes.txt')).toEqual({ remote: false, path: 'notes.txt' })
  })

  it('takes a name that cannot be a machine as the remote side, for the store to refuse', () => {
    // A colon before any slash: remote, even for a leading dot (no machine name starts with one).
    expect(parseScpLocation('..:/a')).toEqual({ remote: true, machine: '..', user: undefined, path: '/a' })
    expect(parseScpLocation('.:/a')).toEqual({ remote: true, machine: '.', user: undefined, path: '/a' })
    // user@ marks a remote side whatever the name holds.
    expect(parseScpLocation('root@../certs:/a')).toEqual({ remote: true, machine: '../certs', user: 'root', path: '/a' })
    expect(parseScpLocation('root@:/a')).toEqual({ remote: true, machine: '', user: 'root', path: '/a' })
    // Without user@, a slash before the colon is still a local path (scp's rule).
    expect(parseScpLocation('../x:/a')).toEqual({ remote: false, path: '../x:/a' })
  })

  it('puts the user from the spec, brackets IPv6 hosts and passes the port', () => {
    const v6: SshTarget = { ...target, host: '::1', port: 2222 }
    const args = systemScpArgs(v6, {}, 'docker@dev:/x', '/tmp/y')
    expect(args.slice(-3)).toEqual(['--', 'docker@[::1]:/x', '/tmp/y'])
    expect(args).toEqual(expect.arrayContaining(['-P', '2222']))
  })
})
