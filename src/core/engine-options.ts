import { isIP, isIPv4, isIPv6 } from 'node:net'
import { MachineError } from './errors.js'
import type { EngineOptions } from './host-config.js'

/**
 * The syntax of every engine option that ends up in the engine's systemd drop-in or its server
 * certificate. A value that breaks out of its line (a newline, say) would add directives to the
 * unit, so values are checked where they enter (create's flags) and again where they leave (each
 * render from a config.json that may have been edited); the renderer also quotes, as a last
 * line of defence.
 */

/** C0 controls, DEL and C1 controls: none of them belongs in a flag value or a unit file. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

export const hasControlChar = (s: string): boolean => CONTROL.test(s)

/**
 * A value as it can be shown on one line: JSON-quoted (so \n, \r, \u0000 are visible), with the
 * controls and line separators JSON leaves raw escaped too, and cut when very long.
 */
export function displayValue(v: string): string {
  const cut = v.length > 120 ? `${v.slice(0, 120)}…` : v
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

const LABEL = /^[a-z0-9]+(?:[.-][a-z0-9]+)*=/
const ENV = /^[A-Za-z_][A-Za-z0-9_]*=/
const OPT = /^[a-z][a-z0-9-]*(?:=|$)/
const WORD = /^[a-z0-9_-]+$/
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/
// RFC 3986 path characters: what a mirror URL may carry after its host.
const URL_PATH = /^(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]*)*$/

/** A DNS name of letters, digits and "-" labels (not all digits: that would be a bad IPv4). */
function isHostname(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false
  if (/^[0-9.]+$/.test(h)) return false
  return h.split('.').every((l) => DNS_LABEL.test(l))
}

function isPort(p: string): boolean {
  return /^[0-9]{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535
}

/** host[:port] with host a DNS name, an IPv4 address or a bracketed IPv6 address. */
function isHostPort(s: string): boolean {
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::([^:]*))?$/.exec(s)
  if (!m) return false
  const [, host = '', port] = m
  if (port !== undefined && !isPort(port)) return false
  if (host.startsWith('[')) return isIPv6(host.slice(1, -1))
  return isIPv4(host) || isHostname(host)
}

/** An IPv4 or IPv6 subnet in CIDR form (Docker takes these for --insecure-registry). */
function isCidr(s: string): boolean {
  const m = /^([^/]+)\/([0-9]{1,3})$/.exec(s)
  if (!m) return false
  const bits = Number(m[2])
  const family = isIP(m[1]!)
  return (family === 4 && bits <= 32) || (family === 6 && bits <= 128)
}

// Docker strips an http(s):// prefix from an insecure registry (with a warning) and needs one on
// a mirror; docker-machine stores either, so both are accepted on both.
const SCHEME = /^https?:\/\//i

function isRegistry(s: string): boolean {
  const r = s.replace(SCHEME, '')
  return isHostPort(r) || isCidr(r)
}

function isMirror(s: string): boolean {
  const r = s.replace(SCHEME, '')
  const slash = r.indexOf('/')
  const host = slash < 0 ? r : r.slice(0, slash)
  return isHostPort(host) && URL_PATH.test(slash < 0 ? '' : r.slice(slash))
}

function isSan(s: string): boolean {
  if (isIP(s)) return true
  return isHostname(s.startsWith('*.') ? s.slice(2) : s)
}

interface Rule {
  /** The create flag, or undefined for options only a config.json can set. */
  flag?: string
  /** The key under HostOptions.EngineOptions (or AuthOptions for --tls-san). */
  key: string
  what: string
  form: string
  ok: (v: string) => boolean
}

const RULES = {
  Labels: {
    flag: '--engine-label',
    key: 'EngineOptions.Labels',
    what: 'an engine label',
    form: 'key=value, the key of lowercase letters, digits, "." and "-" (e.g. com.example.tier=web)',
    ok: (v) => LABEL.test(v),
  },
  Env: {
    flag: '--engine-env',
    key: 'EngineOptions.Env',
    what: 'an environment assignment',
    form: 'NAME=value, the name of letters, digits and "_", not starting with a digit (e.g. HTTP_PROXY=http://proxy:3128)',
    ok: (v) => ENV.test(v),
  },
  ArbitraryFlags: {
    flag: '--engine-opt',
    key: 'EngineOptions.ArbitraryFlags',
    what: 'a dockerd flag',
    form: 'a dockerd flag name without its dashes, optionally with =value (e.g. dns=8.8.8.8 for dockerd --dns=8.8.8.8)',
    ok: (v) => OPT.test(v),
  },
  InsecureRegistry: {
    flag: '--engine-insecure-registry',
    key: 'EngineOptions.InsecureRegistry',
    what: 'a registry address',
    form: 'host[:port] or a CIDR subnet (e.g. registry.local:5000, [fd00::1]:5000, 10.0.0.0/8)',
    ok: isRegistry,
  },
  RegistryMirror: {
    flag: '--engine-registry-mirror',
    key: 'EngineOptions.RegistryMirror',
    what: 'a registry mirror',
    form: 'an http(s) URL of a host[:port] with an optional path (e.g. https://mirror.local:5000)',
    ok: isMirror,
  },
  StorageDriver: {
    flag: '--engine-storage-driver',
    key: 'EngineOptions.StorageDriver',
    what: 'a storage driver name',
    form: 'one word of lowercase letters, digits, "_" and "-" (e.g. overlay2)',
    ok: (v) => WORD.test(v),
  },
  Dns: { key: 'EngineOptions.Dns', what: 'an IP address', form: 'an IPv4 or IPv6 address (e.g. 8.8.8.8)', ok: (v) => isIP(v) !== 0 },
  GraphDir: { key: 'EngineOptions.GraphDir', what: 'an absolute path', form: 'an absolute path (e.g. /var/lib/docker)', ok: (v) => v.startsWith('/') },
  LogLevel: { key: 'EngineOptions.LogLevel', what: 'a log level', form: 'a dockerd log level (debug, info, warn, error or fatal)', ok: (v) => /^[a-z]+$/.test(v) },
  InstallURL: {
    flag: '--engine-install-url',
    key: 'EngineOptions.InstallURL',
    what: 'a URL',
    form: 'an http(s) URL of an install script, or "none"',
    // Its form is create's to check (which already does); here only that it is one line.
    ok: () => true,
  },
  tlsSans: {
    flag: '--tls-san',
    key: 'AuthOptions.ServerCertSANs',
    what: 'a DNS name or IP address',
    form: 'a DNS name (optionally *.domain) or an IPv4/IPv6 address (e.g. docker.example.com, 203.0.113.7)',
    ok: isSan,
  },
} satisfies Record<string, Rule>

/** Where the values came from: create's flags, or the stored config.json of a machine. */
export interface OptionSource {
  machine: string
}

/** `shown` is the value as displayed: displayValue() of a string, JSON of anything else. */
function refuse(rule: Rule, shown: string, from: OptionSource | undefined, reason: string): MachineError {
  if (from || !rule.flag) {
    const who = from ? `the config.json of ${displayValue(from.machine)}` : 'the machine config'
    return new MachineError('invalid-engine-option', `${who} has ${rule.key} ${shown}, which ${reason}`, {
      hint: `edit that value in config.json to ${rule.form}, then run the command again`,
    })
  }
  return new MachineError('invalid-engine-option', `${rule.flag} ${shown} ${reason}`, { hint: `write it as ${rule.form}` })
}

function check(rule: Rule, values: unknown, from: OptionSource | undefined): void {
  if (values === undefined || values === null || values === '') return
  const list = Array.isArray(values) ? values : [values]
  for (const v of list) {
    if (typeof v !== 'string') throw refuse(rule, displayValue(JSON.stringify(v) ?? String(v)).slice(1, -1), from, `is not ${rule.what} (not a string)`)
    if (hasControlChar(v)) throw refuse(rule, displayValue(v), from, 'contains a control character')
    if (!rule.ok(v)) throw refuse(rule, displayValue(v), from, `is not ${rule.what}`)
  }
}

/**
 * Throws MachineError `invalid-engine-option` for the first value that is not of its option's
 * form, naming the flag (or, for a stored config, the key), the value escaped, and the form.
 */
export function validateEngineOptions(engine: Partial<EngineOptions>, tlsSans: readonly string[] = [], from?: OptionSource): void {
  check(RULES.Labels, engine.Labels, from)
  check(RULES.Env, engine.Env, from)
  check(RULES.ArbitraryFlags, engine.ArbitraryFlags, from)
  check(RULES.InsecureRegistry, engine.InsecureRegistry, from)
  check(RULES.RegistryMirror, engine.RegistryMirror, from)
  check(RULES.StorageDriver, engine.StorageDriver, from)
  check(RULES.Dns, engine.Dns, from)
  check(RULES.GraphDir, engine.GraphDir, from)
  check(RULES.LogLevel, engine.LogLevel, from)
  check(RULES.InstallURL, engine.InstallURL, from)
  check(RULES.tlsSans, tlsSans, from)
}
