/**
 * A real OpenSSH sshd for tests: 127.0.0.1 only, a free port, a temp sshd_config, its own host
 * key and an authorized user key, both made with ssh-keygen. Runs as the current user (root in
 * CI, hence PermitRootLogin prohibit-password) and is stopped by `stop()` (or, should a test not
 * get to it, when the test file ends: see tmp.ts).
 *
 * `extraPath` is prepended to PATH in every session (sshd's SetEnv), so provisioner tests can
 * put stub `systemctl` / `docker` commands in front of the real ones.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, existsSync } from 'node:fs'
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { SshTarget } from '../../src/ssh/index.js'
import { childrenOf } from './processes.js'
import { onCleanup, tempDir } from './tmp.js'

const run = promisify(execFile)

export interface StartSshdOptions {
  /** Directory put first on PATH of sessions (stub commands). */
  extraPath?: string
  /** Listen on this port instead of a free one (e.g. to start sshd late on a port a client already polls). */
  port?: number
  /** Host key type made by ssh-keygen (default ed25519). */
  hostKeyType?: 'ed25519' | 'rsa' | 'ecdsa'
  /** Authorize this existing private key (its .pub beside it) instead of making a new one. */
  userKeyPath?: string
  /** Use this host key pair (OpenSSH private key text, public key line) instead of making one: a key a driver injected. */
  hostKey?: { privateKey: string; publicKey: string }
  /** Authorize exactly this public key line (a key a driver injected); then no user key is made and userKeyPath is ''. */
  authorizedKey?: string
  /** Extra sshd_config lines. */
  extraConfig?: string[]
  /**
   * sshd LogLevel (default VERBOSE). With -e, messages logged by a session's child after the
   * channel is set up (e.g. VERBOSE "Changed root directory") reach that session's stderr.
   */
  logLevel?: 'QUIET' | 'FATAL' | 'ERROR' | 'INFO' | 'VERBOSE' | 'DEBUG' | 'DEBUG1' | 'DEBUG2' | 'DEBUG3'
  /** Command prefix to launch sshd with, e.g. ['unshare', '--uts', '--'] (it must exec sshd, keeping its pid). */
  launcher?: string[]
}

export interface Sshd {
  port: number
  /** The server's public host key line ("ssh-ed25519 AAAA… comment"). */
  hostKeyPub: string
  /** Private key (OpenSSH format, 0600) whose public half is authorized. */
  userKeyPath: string
  user: string
  /** Temp directory holding config, keys, logs; removed by stop(). */
  dir: string
  /** $HOME of sessions (an empty directory under dir). */
  home: string
  /** Everything sshd wrote to stderr so far (-e): useful when a test fails. */
  log(): string
  /** Stop and start again on the same port; with newHostKey a fresh host key replaces the old one; downMs: stay down that long (a reboot). */
  restart(opts?: { newHostKey?: boolean; downMs?: number }): Promise<void>
  /** Stop listening, keeping keys and config (a powered-off VM); up() starts it again, on `port` if given. */
  down(): Promise<void>
  up(port?: number): Promise<void>
  stop(): Promise<void>
}

const SSHD = existsSync('/usr/sbin/sshd') ? '/usr/sbin/sshd' : 'sshd'
const STD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** A TCP port nobody listens on right now (bind :0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** ssh-keygen a key pair without passphrase; returns the private key path. */
export async function makeKey(path: string, type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519', comment = 'test'): Promise<string> {
  await rm(path, { force: true })
  await rm(`${path}.pub`, { force: true })
  const args = ['-q', '-t', type, '-N', '', '-C', comment, '-f', path]
  if (type === 'rsa') args.push('-b', '2048')
  await run('ssh-keygen', args)
  await chmod(path, 0o600)
  return path
}

export async function startSshd(opts: StartSshdOptions = {}): Promise<Sshd> {
  // Removed by stop(), or when the test file ends should a test not get to stop it.
  const dir = await tempDir('machine-sshd-', { scope: 'file' })
  const user = userInfo().username
  const hostKeyType = opts.hostKeyType ?? 'ed25519'
  const hostKeyPath = join(dir, 'ssh_host_key')
  const userKeyPath = opts.userKeyPath ?? join(dir, 'id_user')
  const authorizedKeys = join(dir, 'authorized_keys')
  const configPath = join(dir, 'sshd_config')
  const home = join(dir, 'home')
  await mkdir(home, { mode: 0o700 })

  // As root, sshd insists on its privilege-separation directory (systemd's RuntimeDirectory
  // makes it on a real host; containers often lack it).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755, recursive: true })

  if (opts.hostKey) {
    await writeFile(hostKeyPath, opts.hostKey.privateKey.endsWith('\n') ? opts.hostKey.privateKey : `${opts.hostKey.privateKey}\n`, { mode: 0o600 })
    await writeFile(`${hostKeyPath}.pub`, `${opts.hostKey.publicKey.trim()}\n`)
  } else await makeKey(hostKeyPath, hostKeyType, 'test-host')
  if (opts.authorizedKey !== undefined) await writeFile(authorizedKeys, `${opts.authorizedKey.trim()}\n`, { mode: 0o600 })
  else {
    if (!opts.userKeyPath) await makeKey(userKeyPath, 'ed25519', 'test-user')
    await writeFile(authorizedKeys, await readFile(`${userKeyPath}.pub`), { mode: 0o600 })
  }

  let port = opts.port ?? (await freePort())
  const path = opts.extraPath ? `${opts.extraPath}:${STD_PATH}` : STD_PATH
  const config = (): string => [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKeyPath}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'StrictModes no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    `LogLevel ${opts.logLevel ?? 'VERBOSE'}`,
    'Subsystem sftp internal-sftp',
    // HOME is an empty temp dir so the test user's dotfiles (a slow ~/.bashrc, which bash runs
    // for ssh sessions on Debian) neither slow nor change the sessions. SFTP's relative paths
    // still start at the passwd home directory.
    `SetEnv PATH=${path} HOME=${home}`,
    ...(opts.extraConfig ?? []),
    '',
  ].join('\n')
  await writeFile(configPath, config(), { mode: 0o600 })

  let child: ChildProcess | undefined
  let logText = ''

  const launch = async (): Promise<void> => {
    const argv = [...(opts.launcher ?? []), SSHD, '-D', '-e', '-f', configPath]
    const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
    child = proc
    // Only this launch's "listening" line counts (a restart's log holds the previous one).
    const from = logText.length
    await new Promise<void>((resolve, reject) => {
      let done = false
      const timer = setTimeout(() => finish(new Error(`sshd did not start within 10s:\n${logText}`)), 10_000)
      const finish = (err?: Error): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        if (err) {
          proc.kill('SIGKILL')
          reject(err)
        } else resolve()
      }
      proc.stderr?.setEncoding('utf8')
      proc.stderr?.on('data', (s: string) => {
        logText += s
        if (logText.slice(from).includes(`Server listening on 127.0.0.1 port ${port}`)) finish()
      })
      proc.on('error', (e) => finish(e))
      proc.on('exit', (code, sig) => finish(new Error(`sshd exited (${code ?? sig}) before listening:\n${logText}`)))
    })
  }

  const halt = async (): Promise<void> => {
    const proc = child
    child = undefined
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    // Its sessions too, as when a machine goes down (they outlive the listener otherwise).
    for (const pid of proc.pid ? childrenOf(proc.pid) : []) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
      proc.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      proc.kill('SIGTERM')
    })
  }

  try {
    await launch()
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    throw e
  }

  const hostKeyPub = async (): Promise<string> => (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim()
  const sshd: Sshd = {
    port,
    hostKeyPub: await hostKeyPub(),
    userKeyPath: opts.authorizedKey !== undefined ? '' : userKeyPath,
    user,
    dir,
    home,
    log: () => logText,
    async restart(r = {}) {
      await halt()
      if (r.downMs) await new Promise((res) => setTimeout(res, r.downMs))
      if (r.newHostKey) {
        await makeKey(hostKeyPath, hostKeyType, 'test-host-rebuilt')
        sshd.hostKeyPub = await hostKeyPub()
      }
      await launch()
    },
    down: halt,
    async up(newPort) {
      if (newPort !== undefined && newPort !== port) {
        port = sshd.port = newPort
        await writeFile(configPath, config(), { mode: 0o600 })
      }
      if (!child || child.exitCode !== null || child.signalCode !== null) await launch()
    },
    async stop() {
      await halt()
      await rm(dir, { recursive: true, force: true })
    },
  }
  onCleanup(() => sshd.stop(), 'file')
  return sshd
}

/** This sshd as an SSH target whose host key is known in advance (pinned in `knownHostsPath` on first contact). */
export const sshdTarget = (sshd: Sshd, knownHostsPath: string, extra: Partial<SshTarget> = {}): SshTarget => ({
  host: '127.0.0.1',
  port: sshd.port,
  user: sshd.user,
  keyPath: sshd.userKeyPath,
  knownHostsPath,
  hostKeys: [sshd.hostKeyPub],
  ...extra,
})
