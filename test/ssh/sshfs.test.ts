import { execFileSync } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isMountPoint, runProgram, unmountProgram } from '../../src/services/mount.js'
import { ensurePinnedForSystemSsh, parseMountSource, systemSshfsArgs, type SshTarget } from '../../src/ssh/index.js'
import { sshdTarget, startSshd, type Sshd } from '../helpers/sshd.js'
import { tempDir } from '../helpers/tmp.js'

describe('parseMountSource: [[user@]NAME:][path]', () => {
  it('reads docker-machine forms', () => {
    expect(parseMountSource('dev:/srv/app')).toEqual({ machine: 'dev', user: undefined, path: '/srv/app' })
    expect(parseMountSource('ops@dev:logs')).toEqual({ machine: 'dev', user: 'ops', path: 'logs' })
    expect(parseMountSource('dev:')).toEqual({ machine: 'dev', user: undefined, path: '' })
    // No machine part: docker-machine's "default" machine.
    expect(parseMountSource('/srv/app')).toEqual({ machine: 'default', user: undefined, path: '/srv/app' })
    expect(parseMountSource('./a:b')).toEqual({ machine: 'default', user: undefined, path: './a:b' })
    expect(parseMountSource('/x', 'other').machine).toBe('other')
    // Unlike scp, localhost is a machine name here.
    expect(parseMountSource('localhost:/x')).toEqual({ machine: 'localhost', user: undefined, path: '/x' })
    // Names that cannot be machines stay names, for the store to refuse (never a path on "default").
    expect(parseMountSource('..:/srv')).toEqual({ machine: '..', user: undefined, path: '/srv' })
    expect(parseMountSource('root@../x:/srv')).toEqual({ machine: '../x', user: 'root', path: '/srv' })
  })
})

const target = (over: Partial<SshTarget> = {}): SshTarget => ({
  host: '127.0.0.1',
  port: 2222,
  user: 'docker',
  keyPath: '/store/machines/dev/id_rsa',
  knownHostsPath: '/store/machines/dev/known_hosts',
  ...over,
})

describe('systemSshfsArgs', () => {
  it('pins like scp: only the machine known_hosts, strict checking, only its key, its port', () => {
    const a = systemSshfsArgs(target(), '/srv/app', '/mnt/app')
    const opts = a.flatMap((v, i) => (a[i - 1] === '-o' ? [v] : []))
    expect(opts).toEqual(
      expect.arrayContaining([
        'StrictHostKeyChecking=yes',
        'UserKnownHostsFile=/store/machines/dev/known_hosts',
        'GlobalKnownHostsFile=/dev/null',
        'UpdateHostKeys=no',
        'IdentitiesOnly=yes',
        'PasswordAuthentication=no',
        'IdentityFile=/store/machines/dev/id_rsa',
        'Port=2222',
      ]),
    )
    expect(a.slice(0, 2)).toEqual(['-F', '/dev/null'])
    expect(a.join(' ')).not.toMatch(/StrictHostKeyChecking=(no|accept-new)/)
    expect(a.slice(-3)).toEqual(['--', 'docker@127.0.0.1:/srv/app', '/mnt/app'])
  })

  it('IPv6 in brackets, user override, empty path is the login directory', () => {
    expect(systemSshfsArgs(target({ host: '::1' }), '', '/m', { user: 'ops' }).slice(-2)).toEqual(['ops@[::1]:', '/m'])
  })

  it("escapes fuse's option separators and quotes spaces for ssh", () => {
    const a = systemSshfsArgs(target({ knownHostsPath: '/a b,c/known_hosts', keyPath: '/k\\ey' }), 'p', '/m')
    expect(a).toContain('UserKnownHostsFile="/a b\\,c/known_hosts"')
    expect(a).toContain('IdentityFile=/k\\\\ey')
  })
})

// The argv with the real sshfs against a real sshd: the pin is what decides.
describe('systemSshfsArgs with the real sshfs', () => {
  let sshd: Sshd
  let tmp: string
  let t: SshTarget
  let mp: string
  let remote: string

  beforeAll(async () => {
    sshd = await startSshd()
    // A comma and a space in every path: the escaping must hold for real.
    tmp = await tempDir('machine-sshfs a,b-')
    t = sshdTarget(sshd, join(tmp, 'known_hosts'))
    await ensurePinnedForSystemSsh(t)
    remote = join(tmp, 'remote')
    mp = join(tmp, 'mnt')
    await mkdir(remote)
    await mkdir(mp)
    await writeFile(join(remote, 'hello.txt'), 'from the host\n')
  })
  afterEach(async () => {
    if (await isMountPoint(mp)) execFileSync('fusermount3', ['-u', '-z', mp])
  })
  afterAll(async () => {
    await sshd?.stop()
  })

  it('mounts with the pinned key: files go both ways; unmounts', async () => {
    const r = await runProgram('sshfs', systemSshfsArgs(t, remote, mp))
    expect(r, sshd.log()).toEqual({ code: 0, stderr: '' })
    expect(await isMountPoint(mp)).toBe(true)
    expect(await readFile(join(mp, 'hello.txt'), 'utf8')).toBe('from the host\n')
    await writeFile(join(mp, 'back.txt'), 'from here\n')
    expect(await readFile(join(remote, 'back.txt'), 'utf8')).toBe('from here\n')
    const u = await unmountProgram()
    expect(await runProgram(u.program, u.args(mp))).toEqual({ code: 0, stderr: '' })
    expect(await isMountPoint(mp)).toBe(false)
    expect(await readdir(mp)).toEqual([])
  })

  it('refuses a host whose key is not the pinned one: nothing mounted', async () => {
    const wrong = join(tmp, 'wrong_known_hosts')
    await writeFile(wrong, `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHfS0y6MxTVmEsr2tjALFD7rXXm6IwKmBfZzDGckLtUU\n`, { mode: 0o600 })
    const r = await runProgram('sshfs', systemSshfsArgs({ ...t, knownHostsPath: wrong }, remote, mp))
    expect(r.code).not.toBe(0)
    expect(await isMountPoint(mp)).toBe(false)
    // And no pin at all is no better: no trust on first use, nothing written.
    const none = join(tmp, 'no_known_hosts')
    expect((await runProgram('sshfs', systemSshfsArgs({ ...t, knownHostsPath: none }, remote, mp))).code).not.toBe(0)
    expect(await isMountPoint(mp)).toBe(false)
    expect(await readdir(tmp)).not.toContain('no_known_hosts')
  })
})
