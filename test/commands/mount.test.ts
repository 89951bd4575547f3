import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BIN, expectCleanFailure, runCli, snapshot, tempStore } from '../helpers/cli.js'
import { freePort, startSshd, type Sshd } from '../helpers/sshd.js'
import { tempDir } from '../helpers/tmp.js'

// `machine mount` through the BUILT binary with the real sshfs and FUSE, against a real OpenSSH
// sshd on 127.0.0.1 playing a generic machine's host (its files are a temp directory here).

/** Mount points listed by the kernel (the \ooo escapes of /proc/self/mounts undone). */
const mounted = async (): Promise<string[]> =>
  (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter(Boolean)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))

/** runCli's way of running the built binary, in another current directory. */
function runIn(cwd: string, args: string[], store: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, MACHINE_STORAGE_PATH: store }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('error', reject)
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

/** A generic machine's store entry, as `create -d generic` leaves it, with the host key pinned. */
async function addGenericMachine(store: string, name: string, sshd: { port: number; userKeyPath: string; user: string; hostKeyPub: string }): Promise<void> {
  // The store layout (certs, HostOptions) comes from a real create; the driver part is generic's.
  const seed = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23760', name], { store })
  expect(seed.code, seed.stderr).toBe(0)
  const dir = join(store, 'machines', name)
  const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))
  await copyFile(sshd.userKeyPath, join(dir, 'id_user'))
  await chmod(join(dir, 'id_user'), 0o600)
  cfg.DriverName = 'generic'
  cfg.Driver = { ...cfg.Driver, URL: undefined, EngineURL: `tcp://127.0.0.1:23760`, IPAddress: '127.0.0.1', SSHUser: sshd.user, SSHPort: sshd.port, SSHKeyPath: join(dir, 'id_user'), EnginePort: 23760 }
  await writeFile(join(dir, 'config.json'), JSON.stringify(cfg, null, 4), { mode: 0o600 })
  const [type, b64] = sshd.hostKeyPub.split(' ')
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${sshd.port} ${type} ${b64}\n`, { mode: 0o600 })
}

describe('machine mount with sshfs, end to end', () => {
  let store: string
  let sshd: Sshd
  let sshd2: Sshd | undefined
  let tmp: string
  let remote: string

  /** The one-line error contract, and mount prints nothing on stdout when it fails. */
  const failsCleanly = (args: string[], env: NodeJS.ProcessEnv = {}) => expectCleanFailure(args, store, { env, stdoutEmpty: true })

  beforeAll(async () => {
    store = await tempStore()
    // A space in the path: the mount table escapes it, sshfs and ssh must still get it right.
    tmp = await tempDir('machine-mount test-')
    remote = join(tmp, 'remote')
    await mkdir(remote)
    await writeFile(join(remote, 'hello.txt'), 'from the machine\n')
    sshd = await startSshd()
    await addGenericMachine(store, 'g1', sshd)
    const none = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23761', 'n1'], { store })
    expect(none.code, none.stderr).toBe(0)
  })

  // Never leave a FUSE mount behind, whatever failed.
  const unmountAll = async (): Promise<void> => {
    for (const p of await mounted()) if (tmp && p.startsWith(tmp)) execFileSync('fusermount3', ['-u', '-z', p])
  }
  afterEach(unmountAll)
  afterAll(async () => {
    await unmountAll()
    await sshd?.stop()
    await sshd2?.stop()
  })

  it('mounts NAME:/dir on a new mount point: files go both ways; -u unmounts it', async () => {
    const mp = join(tmp, 'mnt')
    expect(existsSync(mp)).toBe(false)
    const before = await snapshot(store)
    const r = await runCli(['mount', `g1:${remote}`, mp], { store })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(await mounted()).toContain(mp)
    expect(await readFile(join(mp, 'hello.txt'), 'utf8')).toBe('from the machine\n')
    await writeFile(join(mp, 'local.txt'), 'from here\n')
    expect(await readFile(join(remote, 'local.txt'), 'utf8')).toBe('from here\n')
    await writeFile(join(remote, 'later.txt'), 'written on the machine\n')
    expect(await readFile(join(mp, 'later.txt'), 'utf8')).toBe('written on the machine\n')
    // Mounting reads the pin; it writes nothing to the store.
    expect(await snapshot(store)).toEqual(before)

    // A second mount on the same directory is refused before anything runs.
    const again = await failsCleanly(['mount', `g1:${remote}`, mp])
    expect(again.code).toBe('already-mounted')
    expect(again.line).toBe(`Error: ${mp} is already a mount point: unmount it first ("machine mount -u ${mp}") or choose another directory`)

    const u = await runCli(['mount', '-u', mp], { store })
    expect(u).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect(await mounted()).not.toContain(mp)
    expect(await readdir(mp)).toEqual([])
    expect(await readFile(join(remote, 'local.txt'), 'utf8')).toBe('from here\n')

    const twice = await failsCleanly(['mount', '-u', mp])
    expect(twice.code).toBe('not-mounted')
    expect(twice.line).toBe(`Error: ${mp} is not mounted: nothing to unmount (see "mount" for what is mounted)`)
  })

  it('--json reports what was mounted and unmounted; -u also takes docker-machine\'s NAME:path form', async () => {
    const mp = join(tmp, 'json-mnt')
    await mkdir(mp)
    const r = await runCli(['mount', `g1:${remote}`, mp, '--json'], { store })
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, command: 'mount', data: { mounted: true, machine: 'g1', path: remote, mountpoint: mp } })
    expect(await mounted()).toContain(mp)
    const u = await runCli(['mount', '-u', `g1:${remote}`, mp, '--json'], { store })
    expect(JSON.parse(u.stdout)).toEqual({ ok: true, command: 'mount', data: { unmounted: true, mountpoint: mp } })
    expect(await mounted()).not.toContain(mp)
  })

  it('the mount point defaults to the remote path (docker-machine), created if missing', async () => {
    // A relative remote path: on the "machine" it starts in the SFTP start directory, locally in
    // the current directory, so the two are different directories with the same name.
    const start = await tempDir('machine-mount-home-')
    const cwd = await tempDir('machine-mount-cwd-')
    const other = await startSshd({ extraConfig: [`ForceCommand internal-sftp -d ${start}`] })
    try {
      await mkdir(join(start, 'project'))
      await writeFile(join(start, 'project', 'on-the-machine.txt'), 'x')
      await addGenericMachine(store, 'other', other)
      const r = await runIn(cwd, ['mount', 'other:project'], store)
      expect(r).toMatchObject({ code: 0, stderr: '' })
      expect(await mounted()).toContain(join(cwd, 'project'))
      expect(await readdir(join(cwd, 'project'))).toEqual(['on-the-machine.txt'])
      const u = await runIn(cwd, ['mount', '-u', 'other:project'], store)
      expect(u).toMatchObject({ code: 0, stderr: '' })
      expect(await mounted()).not.toContain(join(cwd, 'project'))
      expect(await readdir(join(cwd, 'project'))).toEqual([])
    } finally {
      for (const p of await mounted()) if (p.startsWith(cwd)) execFileSync('fusermount3', ['-u', '-z', p])
      await other.stop()
    }
  })

  it('a mount point whose parent does not exist is an error, and nothing is created', async () => {
    const mp = join(tmp, 'no-such-parent', 'mnt')
    const f = await failsCleanly(['mount', `g1:${remote}`, mp])
    expect(f.code).toBe('invalid-mountpoint')
    expect(f.line).toBe(`Error: Cannot create mount point ${mp}: ${join(tmp, 'no-such-parent')} does not exist: create it first (mkdir -p ${join(tmp, 'no-such-parent')})`)
    expect(existsSync(join(tmp, 'no-such-parent'))).toBe(false)
  })

  it('sshfs failing (no such remote directory) is reported with its exit code, and the mount point it made is gone', async () => {
    const mp = join(tmp, 'missing-remote')
    const f = await failsCleanly(['mount', `g1:${join(remote, 'nope')}`, mp])
    expect(f.code).toBe('sshfs-failed')
    expect(f.line).toMatch(/^Error: sshfs exited with code [1-9]\d*: .*No such file or directory/)
    expect(existsSync(mp)).toBe(false)
    expect(await mounted()).not.toContain(mp)
  })

  it('without sshfs on PATH: one line saying how to install it', async () => {
    const emptyPath = await tempDir('machine-nopath-')
    const mp = join(tmp, 'no-sshfs')
    const f = await failsCleanly(['mount', `g1:${remote}`, mp], { PATH: emptyPath })
    expect(f.code).toBe('sshfs-missing')
    expect(f.line).toBe('Error: sshfs is not installed: install sshfs (apt-get install sshfs; macOS: macFUSE + sshfs)')
    expect(existsSync(mp)).toBe(false)
  })

  it('a none machine is refused: it has no SSH', async () => {
    const f = await failsCleanly(['mount', 'n1:/srv', join(tmp, 'none-mnt')])
    expect(f.code).toBe('not-supported')
    expect(f.line).toBe('Error: Machine "n1" (driver none) has no SSH access')
  })

  it('a machine that is not running gets the same error as ssh', async () => {
    const closed = await freePort()
    await addGenericMachine(store, 'down', { ...sshd, port: closed })
    const env = { MACHINE_GENERIC_PROBE_TIMEOUT_MS: '1000' }
    const f = await failsCleanly(['mount', `down:${remote}`, join(tmp, 'down-mnt')], env)
    const s = await runCli(['ssh', '--json', 'down', '--', 'true'], { store, env })
    expect(f.code).toBe('not-running')
    expect(JSON.parse(s.stdout).error.code).toBe('not-running')
    expect(f.line).toBe('Error: Cannot mount: machine "down" is not running (Stopped): start it with "machine start down"')
    expect(existsSync(join(tmp, 'down-mnt'))).toBe(false)
  })

  it('a host whose key changed is refused like ssh refuses it: nothing mounted, the pin kept', async () => {
    sshd2 = await startSshd()
    await addGenericMachine(store, 'g2', sshd2)
    const pin = await readFile(join(store, 'machines', 'g2', 'known_hosts'), 'utf8')
    const mp = join(tmp, 'g2-mnt')
    await sshd2.restart({ newHostKey: true })
    const f = await failsCleanly(['mount', `g2:${remote}`, mp])
    expect(f.code).toBe('host-key-changed')
    expect(f.line).toMatch(new RegExp(`^Error: host key for 127\\.0\\.0\\.1:${sshd2.port} has changed: expected SHA256:\\S+, presented SHA256:\\S+ \\(ssh-ed25519\\)`))
    // The very line `machine ssh` prints for it.
    const s = await runCli(['ssh', 'g2', '--', 'true'], { store })
    expect(s.stderr.trimEnd()).toBe(f.line)
    expect(await mounted()).not.toContain(mp)
    expect(existsSync(mp)).toBe(false)
    expect(await readFile(join(store, 'machines', 'g2', 'known_hosts'), 'utf8')).toBe(pin)
  })
})
