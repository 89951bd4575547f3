/**
 * argv for the system `ssh` / `scp` / `sshfs` with the same pinning as our own client: the
 * machine's known_hosts file only, strict checking, only the machine's key. Used by `machine ssh`
 * (interactive: real terminal handling, escape sequences, agent-free), `machine scp` and
 * `machine mount`.
 */
import { MachineError } from '../core/errors.js'
import { connectSsh, type ConnectOptions, type SshTarget } from './connect.js'
import { parsePublicKeyLine, pinHostKeys, pinsFor, readKnownHosts } from './known-hosts.js'

/** ssh_config values are split on whitespace; quote paths that contain it. */
const cfgValue = (v: string): string => (/[\s"]/.test(v) ? `"${v.replace(/"/g, '\\"')}"` : v)

function commonOptions(knownHostsPaths: string[]): string[] {
  return [
    '-F', '/dev/null', // ignore ~/.ssh/config: nothing there may weaken the checks below
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${[...new Set(knownHostsPaths)].map(cfgValue).join(' ')}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'UpdateHostKeys=no', // our pin file is written by us only
    '-o', 'CheckHostIP=no',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no',
    '-o', 'ConnectionAttempts=3',
    '-o', 'ConnectTimeout=10',
    '-o', 'ControlMaster=no',
    '-o', 'ControlPath=none',
    '-o', 'ServerAliveInterval=60',
    // ERROR, not QUIET: a host-key mismatch must still be shown.
    '-o', 'LogLevel=ERROR',
  ]
}

/** `ssh` argv (without the program name) to run `command` (or a login shell) on the target. */
export function systemSshArgs(target: SshTarget, command: string[] = []): string[] {
  return [
    ...commonOptions([target.knownHostsPath]),
    '-i', target.keyPath,
    '-p', String(target.port),
    '-l', target.user,
    '--', // a host can never be taken for an option
    target.host,
    ...command,
  ]
}

type Location = { remote: false; path: string } | { remote: true; machine: string; user: string | undefined; path: string }

/**
 * The parts of a remote side `[user@]NAME:path`, or undefined for a local path. scp's rule: a
 * colon before any slash makes it remote. A `user@` prefix marks it remote as well, whatever the
 * name holds: `root@../certs:/a` or `..:/a` then reach the store's name check and fail as invalid
 * names, rather than being copied as odd local file names.
 */
export function splitRemote(spec: string): { machine: string; user: string | undefined; path: string } | undefined {
  const withUser = /^([^@/:]+)@([^:]*):(.*)$/s.exec(spec)
  if (withUser) return { user: withUser[1], machine: withUser[2] ?? '', path: withUser[3] ?? '' }
  const m = /^([^/:@]+):(.*)$/s.exec(spec)
  if (m) return { user: undefined, machine: m[1] ?? '', path: m[2] ?? '' }
  return undefined
}

/** A side of `scp`: remote by splitRemote's rule, except that `localhost:` is local (docker-machine). */
export function parseScpLocation(spec: string): Location {
  const r = splitRemote(spec)
  if (!r) return { remote: false, path: spec }
  if (r.machine === 'localhost') return { remote: false, path: r.path }
  return { remote: true, ...r }
}

const bracket = (host: string): string => (host.includes(':') ? `[${host}]` : host)

/**
 * `scp` argv (without the program name). `src`/`dst` are local paths or `[user@]machine:path`;
 * `targets` is the one machine every remote side means, or a map machine name → target.
 * Two different remote hosts are copied through this host (-3) using scp:// URIs, which carry
 * each host's port.
 */
export function systemScpArgs(
  targets: SshTarget | Record<string, SshTarget>,
  opts: { recursive?: boolean; quiet?: boolean },
  src: string,
  dst: string,
): string[] {
  const single = isTarget(targets) ? targets : undefined
  const locs = [parseScpLocation(src), parseScpLocation(dst)]
  const resolved = locs.map((l) => {
    if (!l.remote) return { loc: l, target: undefined }
    const t = single ?? (targets as Record<string, SshTarget>)[l.machine]
    if (!t) throw new MachineError('scp-unknown-machine', `no machine named "${l.machine}" for scp`, { hint: 'use <machine>:<path> with an existing machine name' })
    return { loc: l, target: t }
  })
  const used = resolved.flatMap((r) => (r.target ? [r.target] : []))
  const distinct = [...new Set(used)]
  const useUris = distinct.length > 1 && new Set(distinct.map((t) => t.port)).size > 1

  const args = [...commonOptions(distinct.map((t) => t.knownHostsPath))]
  for (const k of new Set(distinct.map((t) => t.keyPath))) args.push('-i', k)
  if (distinct.length === 1 && distinct[0]) args.push('-P', String(distinct[0].port))
  if (used.length === 2) args.push('-3') // remote → remote through us: no key on the hosts needed
  if (opts.recursive) args.push('-r')
  if (opts.quiet) args.push('-q')
  args.push('--')
  for (const { loc, target } of resolved) {
    if (!loc.remote || !target) {
      args.push(loc.path)
      continue
    }
    const user = loc.user ?? target.user
    if (useUris) {
      // In an scp:// URI the path after the first "/" is relative to the home directory.
      args.push(`scp://${encodeURIComponent(user)}@${bracket(target.host)}:${target.port}/${loc.path}`)
    } else {
      args.push(`${user}@${bracket(target.host)}:${loc.path}`)
    }
  }
  return args
}

/**
 * `[[user@]machine:][path]` of `machine mount`: splitRemote's rule, except that without a machine part docker-machine means its "default" machine, and
 * `localhost` is a machine name here (a local directory cannot be mounted from this host).
 * An empty path (`dev:`) is the login directory, as in sshfs.
 */
export function parseMountSource(spec: string, defaultMachine = 'default'): { machine: string; user: string | undefined; path: string } {
  return splitRemote(spec) ?? { machine: defaultMachine, user: undefined, path: spec }
}

/**
 * fuse's -o parser splits on commas and takes a backslash as an escape: keep both literal.
 * (sshfs hands every ssh option it knows on to ssh as one `-oName=value` argument.)
 */
const fuseOptValue = (v: string): string => v.replace(/[\\,]/g, (c) => `\\${c}`)

/**
 * `sshfs` argv (without the program name) mounting `remotePath` of the target (empty: the login
 * directory) on the local `mountpoint`, with exactly the checks of systemSshArgs: only the
 * machine's known_hosts, StrictHostKeyChecking=yes, only the machine's key. sshfs passes these
 * ssh options through to the ssh it runs; `--` keeps a user or path from being read as an option.
 */
export function systemSshfsArgs(target: SshTarget, remotePath: string, mountpoint: string, opts: { user?: string } = {}): string[] {
  const ssh = commonOptions([target.knownHostsPath])
  const args: string[] = []
  for (let i = 0; i + 1 < ssh.length; i += 2) {
    const flag = ssh[i] as string
    const value = ssh[i + 1] as string
    args.push(flag, flag === '-o' ? fuseOptValue(value) : value)
  }
  args.push(
    '-o', fuseOptValue(`IdentityFile=${cfgValue(target.keyPath)}`),
    '-o', `Port=${target.port}`,
    // Files of the remote login user show as the local user's (uids differ between hosts).
    '-o', 'idmap=user',
    '--',
    `${opts.user ?? target.user}@${bracket(target.host)}:${remotePath}`,
    mountpoint,
  )
  return args
}

function isTarget(t: SshTarget | Record<string, SshTarget>): t is SshTarget {
  return typeof (t as SshTarget).host === 'string' && typeof (t as SshTarget).knownHostsPath === 'string'
}

/**
 * Make sure the system client will find a pin before it is run (it runs with strict checking and
 * cannot check injected keys or fingerprints itself): keys known in advance are pinned directly;
 * a fingerprint or trust-on-first-use target is verified by one connection of our own.
 */
export async function ensurePinnedForSystemSsh(target: SshTarget, opts: ConnectOptions = {}): Promise<void> {
  const text = await readKnownHosts(target.knownHostsPath)
  if (pinsFor(text, target.host, target.port).keys.length > 0) return
  const keys = (target.hostKeys ?? []).filter((l) => l.trim() !== '')
  if (keys.length > 0) {
    await pinHostKeys(target.knownHostsPath, target.host, target.port, keys.map(parsePublicKeyLine))
    return
  }
  const session = await connectSsh(target, opts)
  session.close()
}
