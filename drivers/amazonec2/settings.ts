import type { DriverContext } from '../../src/driver-kit/contract.js'
import { optionProperty, type OptionValue } from '../../src/driver-kit/options.js'
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
 * The driver's view of its options. The kit resolved each one already (flag → saved config →
 * env → default, secrets never from the config), for create and later commands alike: this only
 * names them and derives a few values.
 */
export function readSettings(ctx: DriverContext): Settings {
  const get = (name: string): OptionValue | undefined => {
    if (!options.some((o) => o.name === name)) throw new Error(`amazonec2: unknown option ${name}`)
    const v = ctx.options[optionProperty(name)]
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


  const endpoint = str('endpoint')
  return {
    accessKey: str('access-key'),
    secretKey: str('secret-key'),
    sessionToken: str('session-token'),
    profile: str('profile'),
    region: str('region')!,
    zone: str('zone')!,
    ami: str('ami'),
    instanceType: str('instance-type')!,
    deviceName: str('device-name'),
    rootSize: int('root-size'),
    volumeType: str('volume-type')!,
    vpcId: str('vpc-id'),
    subnetId: str('subnet-id'),
    securityGroups: list('security-group'),
    securityGroupReadonly: bool('security-group-readonly'),
    openPorts: list('open-port'),
    keypairName: str('keypair-name'),
    sshKeypath: str('ssh-keypath'),
    sshUser: str('ssh-user')!,
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
