import * as v from 'valibot'

/**
 * The shape of a config.json document, as a valibot schema: the authority on whether a document
 * can be used. Only types are checked (what our code and docker-machine's would choke on);
 * unknown keys are kept (older and newer docker-machine versions, driver-specific fields), and
 * every section may be absent (older documents; parseHost fills defaults).
 *
 * Imported lazily by parseHost, only for a document that fails its quick check (about 5 ms of
 * module loading that `env` and `ls` should not pay for well-formed stores).
 */

const str = v.string('text')
const bool = v.boolean('true or false')
const int = v.pipe(v.number('a whole number'), v.safeInteger('a whole number'))
// Go writes a nil slice as null: docker-machine's documents have "Dns": null, "Env": null.
const strings = v.nullable(v.array(str, 'a list of strings'))
// valibot's objects take arrays too; a list where a section belongs is as wrong as null.
const plainObject = v.custom<Record<string, unknown>>((x) => !!x && typeof x === 'object' && !Array.isArray(x), 'an object')
const section = <T extends v.ObjectEntries>(entries: T) => v.pipe(plainObject, v.looseObject(entries, 'an object'))

const opt = <T extends v.GenericSchema>(s: T) => v.optional(s)

const EngineOptions = section({
  ArbitraryFlags: opt(strings),
  Dns: opt(strings),
  GraphDir: opt(str),
  Env: opt(strings),
  Ipv6: opt(bool),
  InsecureRegistry: opt(strings),
  Labels: opt(strings),
  LogLevel: opt(str),
  StorageDriver: opt(str),
  SelinuxEnabled: opt(bool),
  TlsVerify: opt(bool),
  RegistryMirror: opt(strings),
  InstallURL: opt(str),
})

const SwarmOptions = section({
  IsSwarm: opt(bool),
  Address: opt(str),
  Discovery: opt(str),
  Agent: opt(bool),
  Master: opt(bool),
  Host: opt(str),
  Image: opt(str),
  Strategy: opt(str),
  Heartbeat: opt(int),
  Overcommit: opt(int),
  ArbitraryFlags: opt(strings),
  ArbitraryJoinFlags: opt(strings),
  Env: opt(strings),
  IsExperimental: opt(bool),
})

const AuthOptions = section({
  CertDir: opt(str),
  CaCertPath: opt(str),
  CaPrivateKeyPath: opt(str),
  CaCertRemotePath: opt(str),
  ServerCertPath: opt(str),
  ServerKeyPath: opt(str),
  ClientKeyPath: opt(str),
  ServerCertRemotePath: opt(str),
  ServerKeyRemotePath: opt(str),
  ClientCertPath: opt(str),
  ServerCertSANs: opt(strings),
  StorePath: opt(str),
})

/** docker-machine's BaseDriver fields, plus the engine address fields our drivers save. */
const Driver = section({
  IPAddress: opt(str),
  MachineName: opt(str),
  SSHUser: opt(str),
  SSHPort: opt(int),
  SSHKeyPath: opt(str),
  StorePath: opt(str),
  SwarmMaster: opt(bool),
  SwarmHost: opt(str),
  SwarmDiscovery: opt(str),
  URL: opt(str),
  EngineURL: opt(str),
  EnginePort: opt(int),
})

const HostOptions = section({
  Driver: opt(str),
  Memory: opt(int),
  Disk: opt(int),
  EngineOptions: opt(EngineOptions),
  SwarmOptions: opt(SwarmOptions),
  AuthOptions: opt(AuthOptions),
})

export const HostDocument = section({
  ConfigVersion: opt(int),
  Driver: opt(Driver),
  DriverName: v.pipe(str, v.minLength(1, 'a driver name')),
  HostOptions: opt(HostOptions),
  Name: opt(str),
})

/** What a JSON value is, in words. */
function kindOf(x: unknown): string {
  if (x === undefined) return 'missing'
  if (x === null) return 'null'
  if (Array.isArray(x)) return 'a list'
  if (typeof x === 'string') return x === '' ? 'empty' : 'text'
  if (typeof x === 'number') return Number.isInteger(x) ? 'a number' : `the number ${x}`
  if (typeof x === 'boolean') return `${x}`
  return 'an object'
}

/**
 * The first thing wrong with the document's shape, as "HostOptions.EngineOptions.Labels[1] is
 * a number, not text", or undefined when the document fits the schema.
 */
export function shapeProblem(doc: unknown): string | undefined {
  const r = v.safeParse(HostDocument, doc, { abortEarly: true })
  if (r.success) return undefined
  const issue = r.issues[0]
  let where = ''
  for (const p of issue.path ?? []) where += typeof p.key === 'number' ? `[${p.key}]` : `${where ? '.' : ''}${String(p.key)}`
  const is = kindOf(issue.input)
  if (!where) return `the document is ${is}, not ${issue.message}`
  return is === 'missing' ? `${where} is missing` : `${where} is ${is}, not ${issue.message}`
}
