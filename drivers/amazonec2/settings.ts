import type { DriverContext } from '../../src/driver-kit/contract.js'
import { configKey, type OptionValue } from '../../src/driver-kit/options.js'
import { options } from './index.js'

/** Everything the driver reads from its options, typed. */
export interface Settings {
  accessKey?: string
  secretKey?: string
  sessionToken?: string
  profile?: string
  region: string
  zone: string
  ami?: string
  instanceType: string
  deviceName?: string
  rootSize: number
  volumeType: string
  vpcId?: string
  subnetId?: string
  securityGroups: string[]
  securityGroupReadonly: boolean
  openPorts: string[]
  keypairName?: string
  sshKeypath?: string
  sshUser: string
  sshPort: number
  tags: Record<string, string>
  userdata?: string
  iamInstanceProfile?: string
  spot: boolean
  spotPrice?: string
  privateAddressOnly: boolean
  usePrivateAddress: boolean
  monitoring: boolean
  ebsOptimized: boolean
  httpTokens: 'required' | 'optional'
  httpEndpoint: 'enabled' | 'disabled'
  retries: number
  endpoint?: string
}

/**
 * Option values come from `ctx.options` at create time; later commands may only have the saved
 * config (config.json "Driver"), so fall back to it by config key, then to the declared default.
 */
export function readSettings(ctx: DriverContext): Settings {
  const get = (name: string): OptionValue | undefined => {
    const spec = options.find((o) => o.name === name)
    if (!spec) throw new Error(`amazonec2: unknown option ${name}`)
    const v = ctx.options[name] ?? (ctx.config[configKey(spec)] as OptionValue | undefined) ?? spec.default
    return v === '' ? undefined : v
  }
  const str = (n: string) => {
    const v = get(n)
    return v === undefined ? undefined : String(v)
  }
  const bool = (n: string) => get(n) === true || get(n) === 'true'
  const int = (n: string) => Number(get(n))
  const list = (n: string) => {
    const v = get(n)
    return Array.isArray(v) ? v.map(String) : v === undefined ? [] : String(v).split(',').filter(Boolean)
  }

  // Secrets never come from the saved config (they are never written there), only from this
  // invocation's options or the context's environment.
  const secret = (n: string, env: string) => {
    const v = ctx.options[n]
    if (typeof v === 'string' && v) return v
    return ctx.env[env] || undefined
  }

  const endpoint = str('endpoint')
  return {
    accessKey: secret('access-key', 'AWS_ACCESS_KEY_ID'),
    secretKey: secret('secret-key', 'AWS_SECRET_ACCESS_KEY'),
    sessionToken: secret('session-token', 'AWS_SESSION_TOKEN'),
    profile: str('profile'),
    region: str('region') ?? 'us-east-1',
    zone: str('zone') ?? 'a',
    ami: str('ami'),
    instanceType: str('instance-type') ?? 't3.micro',
    deviceName: str('device-name'),
    rootSize: int('root-size'),
    volumeType: str('volume-type') ?? 'gp3',
    vpcId: str('vpc-id'),
    subnetId: str('subnet-id'),
    securityGroups: list('security-group'),
    securityGroupReadonly: bool('security-group-readonly'),
    openPorts: list('open-port'),
    keypairName: str('keypair-name'),
    sshKeypath: str('ssh-keypath'),
    sshUser: str('ssh-user') ?? 'ubuntu',
    sshPort: int('ssh-port'),
    tags: parseTags(str('tags')),
    userdata: str('userdata'),
    iamInstanceProfile: str('iam-instance-profile'),
    spot: bool('request-spot-instance'),
    spotPrice: str('spot-price'),
    privateAddressOnly: bool('private-address-only'),
    usePrivateAddress: bool('use-private-address') || bool('private-address-only'),
    monitoring: bool('monitoring'),
    ebsOptimized: bool('use-ebs-optimized-instance'),
    httpTokens: str('http-tokens') === 'optional' ? 'optional' : 'required',
    httpEndpoint: str('http-endpoint') === 'disabled' ? 'disabled' : 'enabled',
    retries: int('retries'),
    endpoint: endpoint ? withScheme(endpoint, bool('insecure-transport')) : undefined,
  }
}

/** docker-machine's tag syntax: "k1,v1,k2,v2". */
export function parseTags(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!text) return out
  const parts = text.split(',')
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const k = parts[i]!.trim()
    if (k) out[k] = parts[i + 1]!.trim()
  }
  return out
}

const withScheme = (url: string, insecure: boolean) => (/^[a-z]+:\/\//i.test(url) ? url : `${insecure ? 'http' : 'https'}://${url}`)

/** "8080" / "8080/tcp" / "53/udp" → port + protocol. */
export function parsePort(spec: string): { port: number; protocol: 'tcp' | 'udp' } {
  const [p, proto] = spec.split('/')
  return { port: Number(p), protocol: proto === 'udp' ? 'udp' : 'tcp' }
}

/** Poll interval for waits; tests set MACHINE_POLL_INTERVAL_MS to a few milliseconds. */
export function pollIntervalMs(env: NodeJS.ProcessEnv): number {
  const raw = env.MACHINE_POLL_INTERVAL_MS ?? process.env.MACHINE_POLL_INTERVAL_MS
  const n = raw === undefined ? NaN : Number(raw)
  return Number.isFinite(n) && n >= 0 ? n : 3000
}
