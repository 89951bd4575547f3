/**
 * A disposable "host" to provision for real: a chroot with the real bash, dash (/bin/sh), env and
 * coreutils `install`, busybox file/text applets, a fake /etc/os-release, and STUB `hostname`,
 * `systemctl`, `sudo`, `curl` (and, optionally, `dockerd`/`docker`) first on PATH, served by a
 * real OpenSSH sshd on 127.0.0.1 with `ChrootDirectory`. Every SSH session (exec and
 * internal-sftp) runs inside the chroot, so provisioning as root writes /etc/docker, the systemd
 * drop-in and /etc/hostname of the chroot — never of the machine running the tests.
 *
 * Why each piece:
 * - ChrootDirectory wants every path component root-owned and not group/world-writable, so the
 *   chroot lives under /var/lib/machine-tests, not /tmp (1777).
 * - A chroot does not isolate the UTS name: a real `hostname x` run as root would rename this
 *   machine. So `hostname` is a stub that only writes files in the chroot, no applet or binary
 *   that could call sethostname() is present (see APPLETS), and as a backstop sshd runs in its
 *   own UTS namespace (unshare --uts).
 * - /bin/bash (root's login shell, which sshd runs inside the chroot) is a wrapper that records
 *   the exact command string of every exec request, then runs the real bash: tests can prove a
 *   secret never appeared on a command line.
 * - Devices are made with mknod, never bind-mounted, so removing the tree can never reach the
 *   real /dev.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { chmod, copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { startSshd, type StartSshdOptions, type Sshd } from './sshd.js'
import { onCleanup, tempDir } from './tmp.js'

const run = promisify(execFile)

export const CHROOT_BASE = '/var/lib/machine-tests'

export const OS_RELEASE = {
  debian: [
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
    'NAME="Debian GNU/Linux"',
    'VERSION_ID="12"',
    'VERSION="12 (bookworm)"',
    'VERSION_CODENAME=bookworm',
    'ID=debian',
    'HOME_URL="https://www.debian.org/"',
    '',
  ].join('\n'),
  ubuntu: [
    'PRETTY_NAME="Ubuntu 24.04.2 LTS"',
    'NAME="Ubuntu"',
    'VERSION_ID="24.04"',
    'VERSION="24.04.2 LTS (Noble Numbat)"',
    'VERSION_CODENAME=noble',
    'ID=ubuntu',
    'ID_LIKE=debian',
    '',
  ].join('\n'),
  alpine: ['NAME="Alpine Linux"', 'ID=alpine', 'VERSION_ID=3.20.3', 'PRETTY_NAME="Alpine Linux v3.20"', 'HOME_URL="https://alpinelinux.org/"', ''].join('\n'),
} as const

export interface ChrootHostOptions {
  /** A preset /etc/os-release (default debian) … */
  os?: keyof typeof OS_RELEASE
  /** … or its exact text. */
  osRelease?: string
  /** dockerd + docker stubs installed in /usr/bin (default true). Without them the provisioner must install or refuse. */
  docker?: boolean
  /** Initial answer of `systemctl is-active docker` (default 'inactive'). */
  dockerState?: 'active' | 'inactive'
  /** Initial answer of `systemctl is-enabled docker` when docker is present (default 'enabled', as the packages leave it). */
  dockerEnabled?: 'enabled' | 'disabled'
  /** Initial /etc/hostname (default "testhost"). */
  hostname?: string
  /** Initial /etc/hosts. */
  hosts?: string
  /** Passed to startSshd (extraConfig is appended after the ChrootDirectory line). */
  sshd?: StartSshdOptions
  /**
   * Log in as this user instead of root (a guest's cloud-init user, "docker"): sshd looks users
   * up on this machine, so it runs in its own mount namespace where /etc/passwd (a bind-mounted
   * copy) also has this name for uid 0. The real /etc/passwd is never touched.
   */
  user?: string
}

export interface ChrootHost {
  port: number
  /** The sshd's current public host key line; changes after restart({ newHostKey: true }). */
  readonly hostKeyPub: string
  userKeyPath: string
  /** The chroot directory on this machine: "/" of every SSH session. */
  root: string
  sshd: Sshd
  /** Path on this machine of a path inside the chroot. */
  path(inside: string): string
  /** Text of a file inside the chroot. */
  read(inside: string): Promise<string>
  /** Every call the stubs recorded ("systemctl restart docker", "hostname g1", "curl -fsSL …"), oldest first. */
  calls(): string[]
  /** The command string of every SSH exec request the session shell received, oldest first. */
  commands(): string[]
  /** Stop and start sshd on the same port (optionally with a fresh host key, after downMs like a reboot); the chroot is kept. */
  restart(opts?: { newHostKey?: boolean; downMs?: number }): Promise<void>
  /** sshd stops, the chroot stays (a powered-off machine and its disk); up() starts sshd again, on `port` if given. */
  down(): Promise<void>
  up(port?: number): Promise<void>
  stop(): Promise<void>
}

/**
 * Busybox applets linked into /bin: file and text tools only. Debian's busybox runs its own
 * applets in-process before looking at PATH (FEATURE_PREFER_APPLETS), so any applet that runs
 * commands — sh/ash, env, xargs, find, timeout — would reach its built-in `hostname` (and
 * `reboot` …) instead of our stubs: those come from the real dash/coreutils instead.
 */
const APPLETS = [
  'cat', 'cp', 'mv', 'rm', 'ln', 'ls', 'mkdir', 'rmdir', 'chmod', 'chown', 'chgrp', 'touch', 'head', 'tail', 'tee', 'grep', 'egrep', 'fgrep',
  'sed', 'sort', 'uniq', 'cut', 'tr', 'wc', 'sha256sum', 'md5sum', 'mktemp', 'echo', 'printf', 'test', '[', 'true', 'false', 'sleep', 'id',
  'whoami', 'basename', 'dirname', 'readlink', 'realpath', 'stat', 'uname', 'cmp', 'diff', 'od', 'base64', 'expr', 'seq', 'which', 'pwd',
]

const STUBS: Record<string, string> = {
  // Records, and keeps the name in a file: never calls sethostname().
  '/usr/local/sbin/hostname': `#!/bin/sh
echo "hostname\${*:+ $*}" >> /var/log/calls.log
if [ $# -eq 0 ]; then cat /var/lib/fake-uts/hostname 2>/dev/null || cat /etc/hostname; exit 0; fi
case "$1" in -*) echo "hostname (test stub): option $1 not supported" >&2; exit 1;; esac
echo "$1" > /var/lib/fake-uts/hostname
`,
  // Records every call; the docker unit's state (is-active) and enablement (is-enabled; no
  // file = no unit installed) live in files.
  '/usr/local/sbin/systemctl': `#!/bin/sh
echo "systemctl $*" >> /var/log/calls.log
state=/var/lib/fake-systemd/docker.state
en=/var/lib/fake-systemd/docker.enabled
case "$*" in
  "is-active docker") s=$(cat $state 2>/dev/null || echo inactive); echo "$s"; [ "$s" = active ]; exit $? ;;
  "is-enabled docker")
    if [ ! -f $en ]; then echo "Failed to get unit file state for docker.service: No such file or directory" >&2; exit 1; fi
    s=$(cat $en); echo "$s"; [ "$s" = enabled ]; exit $? ;;
  "start docker"|"restart docker")
    if [ -f /var/lib/fake-systemd/docker.fail ]; then echo "Job for docker.service failed (test stub)" >&2; exit 1; fi
    echo active > $state
    # The engine that comes up is the installed package's version (Debian revision dropped).
    for p in docker-ce docker.io; do
      if [ -f /var/lib/fake-dpkg/$p ]; then sed 's/-[^-]*$//' /var/lib/fake-dpkg/$p > /var/lib/fake-docker/running-version; break; fi
    done ;;
  "stop docker") echo inactive > $state ;;
  "enable docker") echo enabled > $en ;;
  "disable docker") echo disabled > $en ;;
  daemon-reload) ;;
  *) echo "systemctl (test stub): not supported: $*" >&2; exit 1 ;;
esac
`,
  // Installed packages are files /var/lib/fake-dpkg/<package> holding the version; the format
  // argument is not interpreted: lines come out as "<status> <package> <version>" like the
  // provisioner's -f asks for. Unknown packages are reported like dpkg-query does.
  '/usr/local/bin/dpkg-query': `#!/bin/sh
echo "dpkg-query $*" >> /var/log/calls.log
rc=0
for a in "$@"; do
  case "$a" in -*) continue ;; esac
  if [ -f /var/lib/fake-dpkg/$a ]; then printf 'ii  %s %s\\n' "$a" "$(cat /var/lib/fake-dpkg/$a)"
  else echo "dpkg-query: no packages found matching $a" >&2; rc=1; fi
done
exit $rc
`,
  // The package sources: /var/lib/fake-apt/<package> holds the newest version on offer.
  // "install --only-upgrade" moves installed packages to it; /var/lib/fake-apt/fail makes every
  // call fail with its text, as apt does on a held lock or a broken source.
  '/usr/local/bin/apt-get': `#!/bin/sh
echo "apt-get $*" >> /var/log/calls.log
if [ -f /var/lib/fake-apt/fail ]; then echo "E: $(cat /var/lib/fake-apt/fail)" >&2; exit 100; fi
[ "$1" = update ] && exit 0
only=no; sub=""
for a in "$@"; do
  case "$a" in
    --only-upgrade) only=yes ;;
    -*|Dpkg::*) ;;
    install) sub=install ;;
    *)
      [ "$sub" = install ] || { echo "apt-get (test stub): not supported: $*" >&2; exit 1; }
      if [ ! -f /var/lib/fake-dpkg/$a ]; then
        [ $only = yes ] && { echo "Skipping $a, it is not installed and only upgrades are requested."; continue; }
        echo "apt-get (test stub): installing new packages is not supported" >&2; exit 1
      fi
      if [ -f /var/lib/fake-apt/$a ] && [ "$(cat /var/lib/fake-apt/$a)" != "$(cat /var/lib/fake-dpkg/$a)" ]; then
        echo "Setting up $a ($(cat /var/lib/fake-apt/$a)) ..."; cp /var/lib/fake-apt/$a /var/lib/fake-dpkg/$a
      else echo "$a is already the newest version ($(cat /var/lib/fake-dpkg/$a))."; fi ;;
  esac
done
`,
  '/usr/local/sbin/sudo': `#!/bin/sh
echo "sudo $*" >> /var/log/calls.log
while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done
exec env "$@"
`,
  // Records the request; the test plays the reboot (ChrootHost.restart with downMs).
  '/usr/local/sbin/shutdown': `#!/bin/sh
echo "shutdown $*" >> /var/log/calls.log
if [ -f /var/lib/fake-systemd/shutdown.fail ]; then echo "Failed to connect to bus: No such file or directory" >&2; exit 1; fi
`,
  // No network on the test host: any URL serves a stand-in of get.docker.com's script (to stdout
  // or -o FILE), except URLs ending in /404, which fail like `curl -f` on a missing page.
  '/usr/local/bin/curl': `#!/bin/sh
echo "curl $*" >> /var/log/calls.log
out=""; url=""
while [ $# -gt 0 ]; do
  case "$1" in -o) out="$2"; shift ;; -*) ;; *) url="$1" ;; esac
  shift
done
case "$url" in */404) echo "curl: (22) The requested URL returned error: 404" >&2; exit 22 ;; esac
if [ -n "$out" ]; then cat /usr/share/fake-docker/install.sh > "$out"; else cat /usr/share/fake-docker/install.sh; fi
`,
  '/usr/share/fake-docker/install.sh': `set -e
echo "install.sh" >> /var/log/calls.log
install -m 755 /usr/share/fake-docker/dockerd /usr/bin/dockerd
install -m 755 /usr/share/fake-docker/docker /usr/bin/docker
echo enabled > /var/lib/fake-systemd/docker.enabled
# As get.docker.com's containerd.io: containerd runs as its own service.
mkdir -p /lib/systemd/system && echo '[Service]' > /lib/systemd/system/containerd.service
`,
  '/usr/share/fake-docker/dockerd': `#!/bin/sh
echo "dockerd $*" >> /var/log/calls.log
echo "dockerd (test stub): the engine does not run inside the test chroot" >&2
exit 1
`,
  '/usr/share/fake-docker/docker': `#!/bin/sh
echo "docker $*" >> /var/log/calls.log
[ "$1" = "--version" ] && { echo "Docker version 28.2.2, build e6534b4"; exit 0; }
echo "docker (test stub): not supported: $*" >&2
exit 1
`,
  // Root's login shell inside the chroot: record the command of each exec request (NUL-separated:
  // commands can span lines), then run it with the real bash.
  '/bin/bash': `#!/bin/bash.real
if [ "$1" = "-c" ]; then printf '%s\\0' "$2" >> /var/log/exec.log; fi
exec /bin/bash.real "$@"
`,
}

/** Each path component must be root-owned and not group/world-writable, or sshd refuses the chroot. */
function checkChrootPath(dir: string): void {
  let p = dir
  for (;;) {
    const st = statSync(p)
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new Error(`ChrootDirectory needs ${p} root-owned and not group/world-writable (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`)
    }
    if (p === '/') return
    p = dirname(p)
  }
}

/** Copy an ELF binary and the shared libraries `ldd` lists into the chroot, at the same paths. */
async function copyWithLibs(root: string, bin: string, dest = bin): Promise<void> {
  await mkdir(dirname(join(root, dest)), { recursive: true })
  await copyFile(bin, join(root, dest))
  await chmod(join(root, dest), 0o755)
  const { stdout } = await run('ldd', [bin])
  for (const line of stdout.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)
    if (!m) continue
    const lib = m[1]!
    const to = join(root, lib)
    if (existsSync(to)) continue
    await mkdir(dirname(to), { recursive: true })
    await copyFile(lib, to) // follows the symlink: a plain file with the library's content
  }
}

export async function startChrootHost(opts: ChrootHostOptions = {}): Promise<ChrootHost> {
  if (process.getuid?.() !== 0) throw new Error('startChrootHost needs root (sshd ChrootDirectory, mknod)')
  await mkdir(CHROOT_BASE, { recursive: true, mode: 0o755 })
  checkChrootPath(CHROOT_BASE)
  // Removed by stop(), or when the test file ends should a test not get to stop it.
  const top = await tempDir('host-', { parent: CHROOT_BASE, scope: 'file' })
  const root = join(top, 'root')
  const p = (inside: string): string => join(root, inside)
  let sshd: Sshd | undefined
  try {
    await mkdir(root, { mode: 0o755 })
    for (const d of ['bin', 'usr/bin', 'usr/sbin', 'usr/local/bin', 'usr/local/sbin', 'usr/share/fake-docker', 'etc', 'dev', 'var/log', 'var/lib/fake-systemd', 'var/lib/fake-uts', 'var/lib/fake-dpkg', 'var/lib/fake-apt', 'var/lib/fake-docker', 'run']) {
      await mkdir(p(d), { recursive: true, mode: 0o755 })
    }
    await mkdir(p('root'), { mode: 0o700 }) // sshd chdirs to the home directory after chroot
    await mkdir(p('tmp'))
    await chmod(p('tmp'), 0o1777)

    await copyFile('/bin/busybox', p('bin/busybox'))
    await chmod(p('bin/busybox'), 0o755)
    for (const a of APPLETS) await symlink('busybox', p(`bin/${a}`))
    await copyWithLibs(root, '/bin/bash', '/bin/bash.real')
    await copyWithLibs(root, '/bin/dash', '/bin/sh')
    await copyWithLibs(root, '/usr/bin/env')
    await copyWithLibs(root, '/usr/bin/install')

    for (const [path, text] of Object.entries(STUBS)) await writeFile(p(path), text, { mode: 0o755 })
    if (opts.docker !== false) {
      for (const b of ['dockerd', 'docker']) await copyFile(p(`usr/share/fake-docker/${b}`), p(`usr/bin/${b}`))
    }
    await writeFile(p('var/lib/fake-systemd/docker.state'), `${opts.dockerState ?? 'inactive'}\n`)
    if (opts.docker !== false) await writeFile(p('var/lib/fake-systemd/docker.enabled'), `${opts.dockerEnabled ?? 'enabled'}\n`)
    await writeFile(p('var/log/calls.log'), '')
    await writeFile(p('var/log/exec.log'), '')

    await writeFile(p('etc/os-release'), opts.osRelease ?? OS_RELEASE[opts.os ?? 'debian'])
    await writeFile(p('etc/hostname'), `${opts.hostname ?? 'testhost'}\n`)
    await writeFile(p('etc/hosts'), opts.hosts ?? '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n')
    await writeFile(p('etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n')
    await writeFile(p('etc/group'), 'root:x:0:\nnogroup:x:65534:\n')

    for (const [name, minor] of [['null', 3], ['zero', 5], ['urandom', 9]] as const) {
      await run('mknod', ['-m', '666', p(`dev/${name}`), 'c', '1', String(minor)])
    }

    checkChrootPath(root)
    // Its own UTS namespace: even a real sethostname() in a session could not rename this machine.
    let launcher = ['unshare', '--uts', '--']
    if (opts.user && opts.user !== 'root') {
      if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(opts.user)) throw new Error(`startChrootHost: bad user name ${opts.user}`)
      const passwd = join(top, 'passwd')
      await writeFile(passwd, `${readFileSync('/etc/passwd', 'utf8').trimEnd()}\n${opts.user}:x:0:0:${opts.user}:/root:/bin/bash\n`, { mode: 0o644 })
      launcher = ['unshare', '--uts', '--mount', '--', 'sh', '-c', 'mount --bind "$0" /etc/passwd && exec "$@"', passwd]
    }
    // INFO: sshd's VERBOSE "Changed root directory" would otherwise land on every session's stderr.
    sshd = await startSshd({ launcher, logLevel: 'INFO', ...opts.sshd, extraConfig: [`ChrootDirectory ${root}`, ...(opts.sshd?.extraConfig ?? [])] })
  } catch (e) {
    await sshd?.stop()
    await rm(top, { recursive: true, force: true })
    throw e
  }

  const s = sshd
  const readLog = (name: string): string => {
    try {
      // Synchronous so calls() can be used inside expect() without await.
      return readFileSync(p(name), 'utf8')
    } catch {
      return ''
    }
  }
  const host: ChrootHost = {
    get port() {
      return s.port
    },
    get hostKeyPub() {
      return s.hostKeyPub
    },
    userKeyPath: s.userKeyPath,
    root,
    sshd: s,
    path: p,
    read: (inside) => readFile(p(inside), 'utf8'),
    calls: () => readLog('var/log/calls.log').split('\n').filter(Boolean),
    commands: () => readLog('var/log/exec.log').split('\0').filter(Boolean),
    restart: (r) => s.restart(r),
    down: () => s.down(),
    up: (port) => s.up(port),
    async stop() {
      await s.stop()
      // The (empty) base directory stays: removing it could race another file's startChrootHost.
      await rm(top, { recursive: true, force: true })
    },
  }
  onCleanup(() => host.stop(), 'file')
  return host
}
