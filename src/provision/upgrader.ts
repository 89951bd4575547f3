import type { SshSession } from '../ssh/index.js'
import { lastLine, MachineError } from '../core/errors.js'
import { describeOs, osFamily, parseOsRelease } from './os-release.js'
import { boundedSession } from './bounded.js'
import { shq, sudoFor } from './shell.js'

/**
 * Engine packages as Docker's repository (docker-ce …) and Debian/Ubuntu (docker.io …) ship them.
 * Only those already installed are upgraded: `upgrade` never adds a package the host lacks.
 */
export const ENGINE_PACKAGES = [
  'docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-buildx-plugin', 'docker-compose-plugin', 'docker-ce-rootless-extras',
  'docker.io', 'docker-cli', 'containerd', 'runc',
] as const
/** The package whose version is "the engine's" in messages, in order of preference. */
const ENGINE_MAIN = ['docker-ce', 'docker.io'] as const
/** Docker ≤ 1.13's package: upgrading it in place is not possible (docker-machine purged it). */
const LEGACY = 'docker-engine'

export interface PackageChange {
  name: string
  from: string
  to: string
}

export interface UpgradeResult {
  os: string
  /** docker-ce or docker.io: the package that carries dockerd. */
  enginePackage: string
  /** Every installed engine package with its version before and after (from === to: unchanged). */
  packages: PackageChange[]
  /** True when any package got a new version. */
  changed: boolean
  /** The engine was restarted (because a package changed). */
  restarted: boolean
}

export interface UpgradeInput {
  machineName: string
  sshUser: string
  log?: (line: string) => void
  /** Bound of each remote command that has none of its own (default: bounded.ts). */
  commandTimeoutMs?: number
}

// "ii  docker.io 20.10.24+dfsg1-1+deb12u1": only fully installed packages ("ii") count.
const QUERY = `dpkg-query -W -f='\${db:Status-Abbrev} \${Package} \${Version}\\n' ${[...ENGINE_PACKAGES, LEGACY].join(' ')} 2>/dev/null; true`

function installedVersions(out: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length === 3 && f[0] === 'ii') m.set(f[1]!, f[2]!)
  }
  return m
}

/**
 * Upgrade the Docker engine packages of a Debian/Ubuntu host to the newest versions its package
 * sources offer, over one SSH session: query, `apt-get install --only-upgrade`, query again.
 * Configuration files are kept (the TLS drop-in lives outside the packages anyway). When a
 * package changed the engine is restarted; checking that it answers is the caller's job.
 */
export async function upgradeDebianEngine(session: SshSession, i: UpgradeInput): Promise<UpgradeResult> {
  const sudo = sudoFor(i.sshUser)
  // Every command bounded: a stuck one ends with the step's name and the machine's.
  const bounded = boundedSession(session, { machine: i.machineName, defaultMs: i.commandTimeoutMs, firstStep: 'Reading the installed engine packages' })
  const ssh = bounded.ssh
  const probe = await ssh.run(`cat /etc/os-release; echo @@pkgs; ${QUERY}`)
  const [osText = '', pkgText = ''] = probe.split('@@pkgs\n')
  const os = parseOsRelease(osText)
  if (osFamily(os) !== 'debian') {
    throw new MachineError('unsupported-os', `Cannot upgrade Docker on "${i.machineName}": found ${describeOs(os)} (ID=${os.ID ?? '?'})`, {
      hint: 'upgrade supports Debian and Ubuntu hosts; upgrade the engine with the host\'s own package manager',
    })
  }
  const before = installedVersions(pkgText)
  if (before.has(LEGACY)) {
    throw new MachineError('legacy-engine', `"${i.machineName}" runs docker-engine ${before.get(LEGACY)} (Docker ≤ 1.13), which has no upgrade path`, {
      hint: `remove it ("machine ssh ${i.machineName} -- sudo apt-get purge -y docker-engine"), then run "machine provision ${i.machineName}" to install a current engine`,
    })
  }
  const enginePackage = ENGINE_MAIN.find((p) => before.has(p))
  if (!enginePackage) {
    throw new MachineError('engine-not-packaged', `Docker on "${i.machineName}" was not installed from a Debian package (neither docker-ce nor docker.io is installed)`, {
      hint: 'upgrade it the way it was installed, or install docker-ce or docker.io and run "machine upgrade" again',
    })
  }
  const names = [...before.keys()]
  i.log?.(`Upgrading ${names.map((n) => `${n} ${before.get(n)}`).join(', ')}`)
  bounded.step('Upgrading the engine packages')
  const install = `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --only-upgrade -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold ${names.join(' ')}`
  const r = await ssh.exec(sudo ? `${sudo}sh -c ${shq(install)}` : install, { timeoutMs: 1_200_000 })
  for (const l of `${r.stdout}${r.stderr}`.split('\n')) if (l.trim()) i.log?.(`apt-get: ${l}`)
  if (r.code !== 0) {
    const why = lastLine(r.stderr) || `exit code ${r.code}`
    throw new MachineError('upgrade-failed', `apt-get could not upgrade Docker on "${i.machineName}": ${why}`, {
      hint: `see the full output with --debug, or run "machine ssh ${i.machineName} -- sudo apt-get update"`,
    })
  }
  bounded.step('Reading the upgraded engine packages')
  const after = installedVersions(await ssh.run(QUERY))
  const packages = names.map((name) => ({ name, from: before.get(name)!, to: after.get(name) ?? '(removed)' }))
  const changed = packages.some((p) => p.from !== p.to)
  // Package scripts may or may not restart the engine (policy-rc.d, container hosts): restart
  // once ourselves so the engine that answers is the new one, with our TLS drop-in.
  bounded.step('Restarting the engine')
  if (changed) await ssh.run(`${sudo}systemctl daemon-reload && ${sudo}systemctl restart docker`, { timeoutMs: 180_000 })
  return { os: describeOs(os), enginePackage, packages, changed, restarted: changed }
}
