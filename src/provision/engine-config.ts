import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { displayValue, hasControlChar, validateEngineOptions } from '../core/engine-options.js'
import { MachineError } from '../core/errors.js'
import type { EngineOptions } from '../core/host-config.js'
import { renderTemplate, templatesDir } from '../driver-kit/templates.js'
import { HAS_CONTAINERD_UNIT } from '../driver-kit/shell.js'

export const REMOTE_CA = '/etc/docker/ca.pem'
export const REMOTE_CERT = '/etc/docker/server.pem'
export const REMOTE_KEY = '/etc/docker/server-key.pem'
export const DROP_IN = '/etc/systemd/system/docker.service.d/10-machine.conf'
/** containerd's socket when it runs as its own service (Debian's docker.io, Docker's containerd.io). */
export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock'
// Shared with the qemu seed's first-boot commands (drivers import only the driver kit).
export { HAS_CONTAINERD_UNIT }

// Moved to the driver kit (the vmware driver renders its .vmx with them); still exported here.
export { renderTemplate, templatesDir }

/** Render refuses what no quoting can carry: a control character would end or corrupt the line. */
function refuseControl(what: string, v: string): void {
  if (hasControlChar(v)) {
    throw new MachineError('invalid-engine-option', `${what} ${displayValue(v)} contains a control character and cannot go into the engine's systemd unit`, {
      hint: 'remove the control character (a newline, tab, NUL…) from that value',
    })
  }
}

// Characters that mean nothing to systemd's unit parser outside quotes (after % is doubled).
const BARE = /^[A-Za-z0-9_@%+=:,./-]+$/

/** Double-quoted per systemd.syntax(7): \ and " escaped; every other character is literal there. */
const dquote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/**
 * Quote one argument for a systemd ExecStart= line so that systemd passes exactly `arg`:
 * % doubled (specifiers are expanded on the whole line first), $ doubled (ExecStart= expands
 * $NAME and ${NAME} when the command runs), then bare when nothing else is special, else in
 * double quotes.
 */
export function quoteExecArg(arg: string): string {
  refuseControl('the dockerd argument', arg)
  const s = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$')
  return BARE.test(s) ? s : dquote(s)
}

/**
 * Quote one NAME=value for Environment=: % doubled and double quotes as for ExecStart=, but $
 * kept (Environment= does no variable expansion), and quoted whenever it has a space, which
 * would otherwise split it into two assignments.
 */
export function quoteEnvironment(kv: string): string {
  refuseControl('the engine environment assignment', kv)
  const s = kv.replace(/%/g, '%%')
  return BARE.test(s) ? s : dquote(s)
}

export interface EngineConfigInput {
  machineName: string
  driverName: string
  dockerd: string
  port: number
  engine: EngineOptions
  /**
   * The host runs containerd as its own service (HAS_CONTAINERD_UNIT): dockerd is given its
   * socket, as the distribution's own docker.service does and our ExecStart= replaces. Without it
   * dockerd only uses the system containerd if the socket exists the moment it starts, and starts
   * a containerd of its own otherwise; with it, it waits for the socket, so it may start while
   * containerd is still starting (the qemu driver's first boot does).
   */
  containerd?: boolean
}

export function dockerdArgs(i: EngineConfigInput): string[] {
  const e = i.engine
  const args = [i.dockerd, '-H', `tcp://0.0.0.0:${i.port}`, '-H', 'unix:///var/run/docker.sock']
  if (i.containerd) args.push(`--containerd=${CONTAINERD_SOCKET}`)
  if (e.StorageDriver) args.push('--storage-driver', e.StorageDriver)
  if (e.GraphDir) args.push('--data-root', e.GraphDir)
  if (e.LogLevel) args.push('--log-level', e.LogLevel)
  if (e.Ipv6) args.push('--ipv6')
  if (e.SelinuxEnabled) args.push('--selinux-enabled')
  for (const d of e.Dns ?? []) args.push('--dns', d)
  args.push('--tlsverify', '--tlscacert', REMOTE_CA, '--tlscert', REMOTE_CERT, '--tlskey', REMOTE_KEY)
  for (const l of [...e.Labels, `provider=${i.driverName}`]) args.push('--label', l)
  for (const r of e.InsecureRegistry) args.push('--insecure-registry', r)
  for (const r of e.RegistryMirror) args.push('--registry-mirror', r)
  for (const o of e.ArbitraryFlags) {
    // --engine-opt "name=value" (or a bare "name") is dockerd's --name=value, one argument as
    // docker-machine passed it: `--experimental=false` must not become `--experimental false`.
    args.push(`--${o}`)
  }
  return args
}

/**
 * The systemd drop-in that makes dockerd listen with TLS on the engine port. The options are
 * checked first: they come from a config.json that may have been edited since create.
 */
export function renderDropIn(i: EngineConfigInput): string {
  validateEngineOptions(i.engine, [], { machine: i.machineName })
  refuseControl('the machine name', i.machineName)
  const tpl = readFileSync(join(templatesDir(), '10-machine.conf'), 'utf8')
  const environment = i.engine.Env.map((kv) => `Environment=${quoteEnvironment(kv)}`).join('\n')
  return renderTemplate(tpl, {
    machineName: i.machineName,
    execStart: dockerdArgs(i).map(quoteExecArg).join(' '),
    environment,
  })
    .replace(/\n+$/, '\n')
}
