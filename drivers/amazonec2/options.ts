/**
 * The amazonec2 driver's options, imported by the definition (index.ts) and, typed, by the
 * lifecycle code. Flag names and env vars follow docker-machine's amazonec2 driver; config keys
 * follow its config.json field names so existing stores read back. Defaults are modernised where
 * the old ones no longer make sense (t3.micro, gp3, a looked-up Ubuntu 24.04 image, IMDSv2 required).
 *
 * Pure: no SDK import (this is loaded by `--help` and `drivers`).
 */
import type { OptionSpec, OptionValue, OptionsOf } from '../../src/driver-kit/options.js'

/** docker-machine's group name: machines made by either tool share it. */
export const DEFAULT_SECURITY_GROUP = 'docker-machine'

const positive = (what: string) => (v: OptionValue) => (typeof v === 'number' && v > 0 ? undefined : `${what} must be greater than 0`)

export const options = [
  // Credentials: used for this invocation's client only, never saved (secret). Without them the
  // SDK's default chain applies (env, ~/.aws profiles, SSO, instance role).
  { name: 'access-key', type: 'string', env: ['AWS_ACCESS_KEY_ID'], secret: true, configKey: 'AccessKey', description: 'AWS access key id (not saved; prefer the SDK credential chain)' },
  { name: 'secret-key', type: 'string', env: ['AWS_SECRET_ACCESS_KEY'], secret: true, configKey: 'SecretKey', description: 'AWS secret access key (not saved)' },
  { name: 'session-token', type: 'string', env: ['AWS_SESSION_TOKEN'], secret: true, configKey: 'SessionToken', description: 'AWS session token for temporary credentials (not saved)' },
  { name: 'profile', type: 'string', env: ['AWS_PROFILE'], configKey: 'Profile', description: 'Profile in ~/.aws/config and ~/.aws/credentials to take credentials from' },
  { name: 'region', type: 'string', env: ['AWS_DEFAULT_REGION', 'AWS_REGION'], default: 'us-east-1', configKey: 'Region', description: 'AWS region' },
  {
    name: 'zone', type: 'string', env: ['AWS_ZONE'], default: 'a', configKey: 'Zone',
    description: 'Availability zone letter within the region (ignored when --amazonec2-subnet-id is given)',
    validate: (v: OptionValue) => (/^[a-z]$/.test(String(v)) ? undefined : 'must be a single letter such as a, b or c'),
  },
  { name: 'ami', type: 'string', env: ['AWS_AMI'], configKey: 'AMI', description: 'AMI id; default: the newest Canonical Ubuntu 24.04 LTS server image for the region and the instance type\'s architecture' },
  { name: 'instance-type', type: 'string', env: ['AWS_INSTANCE_TYPE'], default: 't3.micro', configKey: 'InstanceType', description: 'Instance type' },
  { name: 'device-name', type: 'string', env: ['AWS_DEVICE_NAME'], configKey: 'DeviceName', description: 'Root device name; default: the image\'s own root device (/dev/sda1 on Ubuntu)' },
  { name: 'root-size', type: 'int', env: ['AWS_ROOT_SIZE'], default: 16, configKey: 'RootSize', description: 'Root volume size in GiB', validate: positive('the size') },
  { name: 'volume-type', type: 'string', env: ['AWS_VOLUME_TYPE'], default: 'gp3', configKey: 'VolumeType', description: 'EBS volume type of the root disk (gp3, gp2, io1, io2, st1, sc1, standard)' },
  { name: 'vpc-id', type: 'string', env: ['AWS_VPC_ID'], configKey: 'VpcId', description: 'VPC id; default: the region\'s default VPC (or the VPC of --amazonec2-subnet-id)' },
  { name: 'subnet-id', type: 'string', env: ['AWS_SUBNET_ID'], configKey: 'SubnetId', description: 'Subnet id; default: the VPC\'s subnet in the chosen zone' },
  { name: 'security-group', type: 'string[]', env: ['AWS_SECURITY_GROUP'], default: [DEFAULT_SECURITY_GROUP], configKey: 'SecurityGroupNames', description: 'Security group name(s); a missing group is created with the ports the machine needs' },
  { name: 'security-group-readonly', type: 'boolean', env: ['AWS_SECURITY_GROUP_READONLY'], configKey: 'SecurityGroupReadOnly', description: 'Never add rules to security groups that already exist' },
  {
    name: 'open-port', type: 'string[]', configKey: 'OpenPorts',
    description: 'Extra port to open to the world, "port" or "port/tcp" or "port/udp" (repeatable)',
    validate: (v: OptionValue) => {
      const bad = (v as string[]).find((p) => !/^\d{1,5}(\/(tcp|udp))?$/.test(p) || Number(p.split('/')[0]) < 1 || Number(p.split('/')[0]) > 65535)
      return bad ? `"${bad}" is not a port such as 8080 or 8080/tcp or 53/udp` : undefined
    },
  },
  {
    name: 'swarm-ports', type: 'boolean', env: ['AWS_SWARM_PORTS'], configKey: 'SwarmPorts',
    description: 'Allow swarm mode between the instances of the security group (2377/tcp, 7946/tcp+udp, 4789/udp, from the group itself only, never the world); removed with the last machine that needs them. Default: on for a machine that joins a swarm (--swarm, --swarm-master); AWS_SWARM_PORTS=false turns it off',
    // A swarm's nodes must reach each other's swarm ports: opened for them unless told otherwise.
    clusterDefault: true,
  },
  { name: 'keypair-name', type: 'string', env: ['AWS_KEYPAIR_NAME'], configKey: 'KeyName', description: 'Existing EC2 key pair to launch with (needs --amazonec2-ssh-keypath)' },
  { name: 'ssh-keypath', type: 'string', env: ['AWS_SSH_KEYPATH'], configKey: 'SSHPrivateKeyPath', description: 'Private SSH key to log in with; without --amazonec2-keypair-name its .pub file is imported as a new key pair' },
  { name: 'ssh-user', type: 'string', env: ['AWS_SSH_USER'], default: 'ubuntu', configKey: 'SSHUser', description: 'SSH user created on the instance' },
  { name: 'ssh-port', type: 'int', env: ['AWS_SSH_PORT'], default: 22, configKey: 'SSHPort', description: 'SSH port', validate: (v: OptionValue) => (Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'must be a port number') },
  {
    name: 'tags', type: 'string', env: ['AWS_TAGS'], configKey: 'Tags',
    description: 'Extra tags as comma-separated key,value pairs: "k1,v1,k2,v2"',
    validate: (v: OptionValue) => (String(v).split(',').length % 2 === 0 ? undefined : 'must be key,value pairs such as "team,web,env,dev"'),
  },
  { name: 'userdata', type: 'string', env: ['AWS_USERDATA'], configKey: 'UserDataFile', description: 'File with user data (#cloud-config or a #! script) merged with the machine\'s own cloud-init' },
  { name: 'iam-instance-profile', type: 'string', env: ['AWS_INSTANCE_PROFILE'], configKey: 'IamInstanceProfile', description: 'IAM instance profile name or ARN for the instance' },
  { name: 'request-spot-instance', type: 'boolean', configKey: 'RequestSpotInstance', description: 'Launch a one-time spot instance (cannot be stopped, only removed)' },
  {
    name: 'spot-price', type: 'string', configKey: 'SpotPrice', description: 'Maximum spot price in USD per hour; default: the on-demand price',
    validate: (v: OptionValue) => (/^\d+(\.\d+)?$/.test(String(v)) ? undefined : 'must be a price such as 0.05'),
  },
  { name: 'private-address-only', type: 'boolean', configKey: 'PrivateIPOnly', description: 'Give the instance no public IP; connect over the private address' },
  { name: 'use-private-address', type: 'boolean', configKey: 'UsePrivateIP', description: 'Connect over the private address (the instance still gets a public IP)' },
  { name: 'monitoring', type: 'boolean', configKey: 'Monitoring', description: 'Enable CloudWatch detailed monitoring (billed)' },
  { name: 'use-ebs-optimized-instance', type: 'boolean', configKey: 'UseEbsOptimizedInstance', description: 'Launch an EBS-optimized instance' },
  {
    name: 'http-tokens', type: 'string', env: ['AWS_HTTP_TOKENS'], default: 'required', choices: ['required', 'optional'], configKey: 'HttpTokens',
    description: 'Instance metadata service: "required" allows IMDSv2 only',
  },
  { name: 'http-endpoint', type: 'string', env: ['AWS_HTTP_ENDPOINT'], default: 'enabled', choices: ['enabled', 'disabled'], configKey: 'HttpEndpoint', description: 'Instance metadata service endpoint on the instance' },
  {
    name: 'retries', type: 'int', default: 5, configKey: 'RetryCount', description: 'Retries of a throttled or failed API call (0 to 20)',
    validate: (v: OptionValue) => (Number(v) >= 0 ? undefined : 'must be 0 or more'),
    // Each retry waits up to 20 s: more than 20 is a wait without end. A saved count (an imported docker-machine config) stays usable.
    validateNew: (v: OptionValue) => (Number(v) <= 20 ? undefined : 'must be from 0 to 20 (each retry waits up to 20 s)'),
  },
  { name: 'endpoint', type: 'string', env: ['AWS_ENDPOINT'], configKey: 'Endpoint', description: 'Custom EC2 API endpoint URL, used for every call' },
  { name: 'insecure-transport', type: 'boolean', env: ['AWS_INSECURE_TRANSPORT'], configKey: 'DisableSSL', description: 'Use http:// for an --amazonec2-endpoint given without a scheme' },
] as const satisfies readonly OptionSpec[]

export type Amazonec2Options = OptionsOf<typeof options>

// ---- values derived from the options -----------------------------------------------------------

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

/** --amazonec2-endpoint with a scheme: https, or http with --amazonec2-insecure-transport. */
export const endpointUrl = (o: Pick<Amazonec2Options, 'endpoint' | 'insecureTransport'>): string | undefined =>
  !o.endpoint ? undefined : /^[a-z]+:\/\//i.test(o.endpoint) ? o.endpoint : `${o.insecureTransport ? 'http' : 'https'}://${o.endpoint}`

/** The private address is the way in with either flag (without a public IP there is no other). */
export const usesPrivateAddress = (o: Pick<Amazonec2Options, 'usePrivateAddress' | 'privateAddressOnly'>): boolean =>
  o.usePrivateAddress || o.privateAddressOnly

/** What EC2 accepts as user data: 16 KiB before base64. */
export const USER_DATA_LIMITS = { flag: '--amazonec2-userdata', maxBytes: 16 * 1024, provider: 'EC2' }
