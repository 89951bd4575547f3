import { createHash, randomBytes } from 'node:crypto'
import { MachineError } from '../core/errors.js'
import type { EngineOptions } from '../core/host-config.js'
import type { SshSession } from '../ssh/index.js'
import { boundedSession } from './bounded.js'
import { DROP_IN, HAS_CONTAINERD_UNIT, REMOTE_CA, REMOTE_CERT, REMOTE_KEY, renderDropIn } from './engine-config.js'
import { describeOs, osFamily, parseOsRelease } from './os-release.js'
import { shq, sudoFor } from './shell.js'

export interface ProvisionInput {
  machineName: string
  driverName: string
  sshUser: string
  /** Port dockerd listens on inside the host. */
  enginePort: number
  engine: EngineOptions
  /** PEM contents to install on the host. */
  caCert: string
  serverCert: string
  serverKey: string
  /** Called with each step's name as it starts. */
  onStep?: (title: string) => void
  log?: (line: string) => void
  /** Bound of each remote command that has none of its own (default: bounded.ts). */
  commandTimeoutMs?: number
}

export interface ProvisionResult {
  os: string
  /** True when anything on the host was changed (files written, engine installed, restarted). */
  changed: boolean
  installedEngine: boolean
  restartedEngine: boolean
}

const DOCKERD_PATH = 'command -v dockerd || ls /usr/bin/dockerd /usr/sbin/dockerd 2>/dev/null | head -n1'
const CONTAINERD_UNIT = `${HAS_CONTAINERD_UNIT} && echo yes || echo no`

/**
 * One shell command answering every question provisioning asks, in sections ("@@section"),
 * so a host that is already right costs a single exec.
 */
async function probeHost(ssh: SshSession, sudo: string, nameRe: string, paths: string[]): Promise<Record<string, string>> {
  const files = paths.join(' ')
  const script = [
    'echo @@os; cat /etc/os-release',
    'echo @@hostname; cat /etc/hostname 2>/dev/null || hostname',
    `echo @@hosts; grep -qE '^127\\.0\\.1\\.1([[:space:]]+[^[:space:]]+)*[[:space:]]+${nameRe}([[:space:]]|$)' /etc/hosts && echo yes || echo no`,
    'echo @@docker; (command -v dockerd || command -v docker) >/dev/null 2>&1 && echo yes || echo no',
    `echo @@dockerd; ${DOCKERD_PATH}`,
    `echo @@containerd; ${CONTAINERD_UNIT}`,
    // Content ("<hex>  <path>") and mode/owner ("<mode> <uid> <gid> <path>") of the TLS files and drop-in.
    `echo @@sums; sha256sum ${files} 2>/dev/null`,
    `echo @@modes; stat -c '%a %u %g %n' ${files} 2>/dev/null`,
    'echo @@state; systemctl is-active docker',
    'echo @@enabled; systemctl is-enabled docker',
    'true',
  ].join('; ')
  // As root in one go: each sudo is a PAM session, about a second on an emulated VM.
  return sectionsOf((await ssh.exec(sudo ? `${sudo}sh -c ${shq(script)}` : script)).stdout)
}

/** The answers of a script whose parts each begin with an "@@section" line, by section. */
function sectionsOf(out: string): Record<string, string> {
  const sections: Record<string, string> = {}
  let current = ''
  for (const line of out.split('\n')) {
    const m = /^@@(\w+)$/.exec(line)
    if (m) {
      current = m[1]!
      sections[current] = ''
    } else if (current) sections[current] += `${line}\n`
  }
  return sections
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex')

/**
 * Provision a Debian/Ubuntu host over ONE SSH session: hostname, engine (only if missing),
 * TLS certificates and the dockerd drop-in (only when they differ), restart only when
 * something changed. Running it again on a correct host changes nothing.
 */
export async function provisionDebian(session: SshSession, i: ProvisionInput): Promise<ProvisionResult> {
  // Every command bounded: a stuck one ends with the step's name and the machine's.
  const bounded = boundedSession(session, { machine: i.machineName, defaultMs: i.commandTimeoutMs, firstStep: 'Detecting the operating system' })
  const ssh = bounded.ssh
  const step = (t: string) => {
    bounded.step(t)
    i.onStep?.(t)
  }
  const sudo = sudoFor(i.sshUser)
  let changed = false

  step('Detecting the operating system')
  const wantedPaths = [REMOTE_CA, REMOTE_CERT, REMOTE_KEY, DROP_IN]
  // Everything provisioning needs to know, in ONE round trip: each exec costs a process start
  // on the host, seconds on an emulated VM.
  const nameRe = i.machineName.replace(/[.]/g, '\\.')
  const probe = await probeHost(ssh, sudo, nameRe, wantedPaths)
  const os = parseOsRelease(probe.os ?? '')
  if (osFamily(os) !== 'debian') {
    throw new MachineError('unsupported-os', `Unsupported operating system on "${i.machineName}": found ${describeOs(os)} (ID=${os.ID ?? '?'})`, {
      hint: 'use a Debian or Ubuntu image',
    })
  }

  // Refuse before changing anything: a host that has no engine and may not get one is left as it was.
  const hasDocker = probe.docker?.trim() === 'yes'
  if (!hasDocker && (!i.engine.InstallURL || i.engine.InstallURL === 'none')) {
    throw new MachineError('engine-missing', `Docker is not installed on "${i.machineName}" and --engine-install-url is "none"`, {
      hint: 'install Docker on the host, or drop --engine-install-url none to install it from https://get.docker.com',
    })
  }

  step('Setting the hostname')
  const current = (probe.hostname ?? '').trim()
  // The name as a whole word of the 127.0.1.1 line: "web-1" is not satisfied by "my-web-1", and
  // the dots of "a.b" are literal.
  const hostsLine = probe.hosts?.trim() === 'yes'
  if (current !== i.machineName || !hostsLine) {
    await ssh.run(
      `${sudo}sh -c ${shq(
        `hostname ${i.machineName} && echo ${i.machineName} > /etc/hostname && ` +
          `if grep -q '^127.0.1.1' /etc/hosts; then sed -i 's/^127.0.1.1.*/127.0.1.1 ${i.machineName}/' /etc/hosts; ` +
          `else echo '127.0.1.1 ${i.machineName}' >> /etc/hosts; fi`,
      )}`,
    )
    changed = true
  }

  step('Installing the Docker engine if missing')
  let installedEngine = false
  if (!hasDocker) {
    await ssh.run(`command -v curl >/dev/null 2>&1 || (${sudo}apt-get update -qq && ${sudo}DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl)`, { timeoutMs: 600_000 })
    // Download first, then run: in `curl | sh` a failed download (404, no network) feeds sh an
    // empty script that "succeeds", and the real cause is lost.
    await ssh.run(`t=$(mktemp) && curl -fsSL ${shq(i.engine.InstallURL)} -o "$t" && ${sudo}sh "$t"; s=$?; rm -f "$t"; exit $s`, { timeoutMs: 900_000 })
    installedEngine = true
    changed = true
  }
  // Debian's dockerd lives in /usr/sbin, Docker's packages put it in /usr/bin: ask the host.
  // …and whether containerd is a service of its own there: asked again after an install, which may have brought it.
  const found = installedEngine ? sectionsOf(await ssh.run(`echo @@dockerd; ${DOCKERD_PATH}; echo @@containerd; ${CONTAINERD_UNIT}`)) : probe
  const dockerd = (found.dockerd ?? '').trim().split('\n')[0]
  const containerd = (found.containerd ?? '').trim() === 'yes'
  if (!dockerd) {
    throw installedEngine
      ? new MachineError('engine-missing', `dockerd was not found on "${i.machineName}" after installing Docker`, { hint: 'check the engine install URL output with --debug' })
      : new MachineError('engine-missing', `"${i.machineName}" has the docker client but no dockerd`, { hint: 'install the Docker engine package on the host (docker-ce or docker.io)' })
  }

  step('Configuring the engine with TLS')
  const dropIn = renderDropIn({ machineName: i.machineName, driverName: i.driverName, dockerd, port: i.enginePort, engine: i.engine, containerd })
  const wanted: Array<{ path: string; content: string; mode: number }> = [
    { path: REMOTE_CA, content: i.caCert, mode: 0o644 },
    { path: REMOTE_CERT, content: i.serverCert, mode: 0o644 },
    { path: REMOTE_KEY, content: i.serverKey, mode: 0o600 },
    { path: DROP_IN, content: dropIn, mode: 0o644 },
  ]
  const remoteSum = new Map<string, string>()
  const remoteMode = new Map<string, string>()
  for (const f of (probe.sums ?? '').split('\n').map((l) => l.trim().split(/\s+/))) if (f.length === 2) remoteSum.set(f[1]!, f[0]!)
  for (const f of (probe.modes ?? '').split('\n').map((l) => l.trim().split(/\s+/))) if (f.length === 4) remoteMode.set(f[3]!, `${f[0]} ${f[1]} ${f[2]}`)
  const stale = wanted.filter((w) => remoteSum.get(w.path) !== sha256(w.content))
  // Right content, wrong mode or owner (a server key someone made readable): fix in place, no restart.
  const loose = wanted.filter((w) => !stale.includes(w) && remoteMode.get(w.path) !== `${w.mode.toString(8)} 0 0`)
  if (stale.length > 0 || loose.length > 0) {
    // Upload over SFTP as owner-only files in the login directory, then move them into place
    // as root in one command: the key never appears on a command line (docker-machine piped it
    // through printf | tee).
    const tag = randomBytes(6).toString('hex')
    const staged = stale.map((w, n) => ({ ...w, tmp: `.machine-upload-${tag}-${n}` }))
    for (const w of staged) await ssh.upload(w.tmp, w.content, 0o600)
    const moves = [
      ...staged.map((w) => `${sudo}install -D -m ${w.mode.toString(8)} -o root -g root ${w.tmp} ${w.path}`),
      // Right content, wrong mode or owner (a server key someone made readable): fixed in place.
      ...loose.map((w) => `${sudo}chown root:root ${w.path} && ${sudo}chmod ${w.mode.toString(8)} ${w.path}`),
    ].join(' && ')
    const cleanup = staged.length ? `; s=$?; rm -f ${staged.map((w) => w.tmp).join(' ')}; exit $s` : ''
    await ssh.run(`${moves}${cleanup}`)
    changed = true
  }

  let restartedEngine = false
  // "activating" is the engine starting with the files already in place (first boot, engine
  // bootstrap): restarting it would only start it twice. The TLS check after provisioning waits.
  const state = (probe.state ?? '').trim()
  const enabled = (probe.enabled ?? '').trim()
  const running = state === 'active' || state === 'activating' || state === 'reloading'
  if (stale.length > 0 || !running) {
    step(stale.length > 0 ? 'Restarting the engine' : 'Starting the engine')
    // `enable` runs slow compatibility scripts on Debian: only when the engine is not enabled yet.
    const enable = enabled === 'enabled' ? '' : `${sudo}systemctl enable docker >/dev/null 2>&1; `
    // systemd re-reads units only for a changed drop-in: a reload costs seconds on an emulated VM.
    const reload = stale.some((w) => w.path === DROP_IN) ? `${sudo}systemctl daemon-reload && ` : ''
    // Nothing changed but the engine is not running: `start`, never `restart`. On a first boot
    // the engine may not have begun yet (queued behind containerd: "inactive" with a start job
    // pending): start joins that job, where restart would stop the engine as it comes up and
    // start it a second time (measured: 18 s more under TCG).
    const verb = stale.length > 0 ? 'restart' : 'start'
    await ssh.run(`${reload}${enable}${sudo}systemctl ${verb} docker`, { timeoutMs: 180_000 })
    restartedEngine = true
    changed = true
  }
  return { os: describeOs(os), changed, installedEngine, restartedEngine }
}
