import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EngineOptions } from '../core/host-config.js'

export const REMOTE_CA = '/etc/docker/ca.pem'
export const REMOTE_CERT = '/etc/docker/server.pem'
export const REMOTE_KEY = '/etc/docker/server-key.pem'
export const DROP_IN = '/etc/systemd/system/docker.service.d/10-machine.conf'

/** The package's templates/ directory, from src/ (tests) or dist/src/ (built). */
export function templatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'templates', '10-machine.conf'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('templates/ directory not found next to the machine package')
    dir = up
  }
  return join(dir, 'templates')
}

/** Replace {{key}} placeholders; an unknown placeholder is a bug, so it throws. */
export function renderTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    const v = values[k]
    if (v === undefined) throw new Error(`template placeholder {{${k}}} has no value`)
    return v
  })
}

/**
 * Quote one argument for a systemd ExecStart= line: bare when it has nothing special, else in
 * double quotes with \ and " escaped (systemd.syntax), and % doubled (specifier escape).
 */
export function systemdQuote(arg: string): string {
  const s = arg.replace(/%/g, '%%')
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

export interface EngineConfigInput {
  machineName: string
  driverName: string
  dockerd: string
  port: number
  engine: EngineOptions
}

export function dockerdArgs(i: EngineConfigInput): string[] {
  const e = i.engine
  const args = [i.dockerd, '-H', `tcp://0.0.0.0:${i.port}`, '-H', 'unix:///var/run/docker.sock']
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
    // --engine-opt takes "name=value" or a bare "name", like docker-machine's.
    const eq = o.indexOf('=')
    if (eq > 0) args.push(`--${o.slice(0, eq)}`, o.slice(eq + 1))
    else args.push(`--${o}`)
  }
  return args
}

/** The systemd drop-in that makes dockerd listen with TLS on the engine port. */
export function renderDropIn(i: EngineConfigInput): string {
  const tpl = readFileSync(join(templatesDir(), '10-machine.conf'), 'utf8')
  const environment = i.engine.Env.map((kv) => `Environment=${systemdQuote(kv)}`).join('\n')
  return renderTemplate(tpl, {
    machineName: i.machineName,
    execStart: dockerdArgs(i).map(systemdQuote).join(' '),
    environment,
  })
    .replace(/\n+$/, '\n')
}
