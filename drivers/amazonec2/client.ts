/**
 * The only module that loads @aws-sdk/client-ec2. A thin layer: one method per EC2 action the
 * driver uses, each turning SDK errors into one-line MachineErrors (see errors.ts). Every call
 * goes to the same client, so a custom --amazonec2-endpoint applies to all of them.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateTagsCommand,
  CreateSecurityGroupCommand,
  DeleteKeyPairCommand,
  DeleteSecurityGroupCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  type EC2ClientConfig,
  ImportKeyPairCommand,
  RebootInstancesCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type DescribeImagesCommandInput,
  type DescribeInstancesCommandInput,
  type DescribeSecurityGroupsCommandInput,
  type DescribeSubnetsCommandInput,
  type Filter,
  type Image,
  type Instance,
  type InstanceStateChange,
  type InstanceTypeInfo,
  type KeyPairInfo,
  type IpPermission,
  type RunInstancesCommandInput,
  type SecurityGroup,
  type Subnet,
  type Tag,
  type Vpc,
} from '@aws-sdk/client-ec2'
import { toMachineError } from './errors.js'
import { backoffRetryStrategy } from './retry.js'
import { endpointUrl, type Amazonec2Options } from './options.js'

export type { Filter, Image, Instance, InstanceTypeInfo, IpPermission, KeyPairInfo, RunInstancesCommandInput, SecurityGroup, Subnet, Tag, Vpc }

export interface Ec2Options {
  options: Pick<Amazonec2Options, 'region' | 'retries' | 'endpoint' | 'insecureTransport' | 'accessKey' | 'secretKey' | 'sessionToken' | 'profile'>
  /** First retry back-off in ms (tests make it tiny). */
  retryBaseMs: number
  /** The signal that aborts calls in flight; read per call (remove may swap it, see driver.ts). */
  signal: () => AbortSignal
}

export class Ec2 {
  private readonly client: EC2Client
  private readonly signal: () => AbortSignal

  constructor(o: Ec2Options) {
    const s = o.options
    const endpoint = endpointUrl(s)
    const config: EC2ClientConfig = {
      region: s.region,
      maxAttempts: s.retries + 1,
      retryStrategy: backoffRetryStrategy(s.retries, o.retryBaseMs),
    }
    if (endpoint) config.endpoint = endpoint
    // Explicit keys (flags or the context's environment) win; otherwise the SDK's default chain
    // (env, shared config/credentials files with the profile, SSO, container/instance roles).
    if (s.accessKey && s.secretKey) {
      config.credentials = { accessKeyId: s.accessKey, secretAccessKey: s.secretKey, ...(s.sessionToken ? { sessionToken: s.sessionToken } : {}) }
    } else if (s.profile) {
      config.profile = s.profile
    }
    this.client = new EC2Client(config)
    this.signal = o.signal
  }

  private async call<T>(operation: string, run: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = this.signal()
    try {
      return await run(signal)
    } catch (e) {
      throw toMachineError(e, operation, signal)
    }
  }

  describeInstanceType(type: string): Promise<InstanceTypeInfo | undefined> {
    return this.call('DescribeInstanceTypes', async (abortSignal) => {
      const out = await this.client.send(new DescribeInstanceTypesCommand({ InstanceTypes: [type as never] }), { abortSignal })
      return out.InstanceTypes?.[0]
    })
  }

  describeImages(input: DescribeImagesCommandInput): Promise<Image[]> {
    return this.call('DescribeImages', async (abortSignal) => (await this.client.send(new DescribeImagesCommand(input), { abortSignal })).Images ?? [])
  }

  describeVpcs(filters: Filter[]): Promise<Vpc[]> {
    return this.call('DescribeVpcs', async (abortSignal) => (await this.client.send(new DescribeVpcsCommand({ Filters: filters }), { abortSignal })).Vpcs ?? [])
  }

  describeSubnets(input: DescribeSubnetsCommandInput): Promise<Subnet[]> {
    return this.call('DescribeSubnets', async (abortSignal) => (await this.client.send(new DescribeSubnetsCommand(input), { abortSignal })).Subnets ?? [])
  }

  describeSecurityGroups(input: DescribeSecurityGroupsCommandInput): Promise<SecurityGroup[]> {
    return this.call(
      'DescribeSecurityGroups',
      async (abortSignal) => (await this.client.send(new DescribeSecurityGroupsCommand(input), { abortSignal })).SecurityGroups ?? [],
    )
  }

  createSecurityGroup(name: string, description: string, vpcId: string, tags: Tag[]): Promise<string> {
    return this.call('CreateSecurityGroup', async (abortSignal) => {
      const out = await this.client.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: description,
          VpcId: vpcId,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: tags }],
        }),
        { abortSignal },
      )
      if (!out.GroupId) throw new Error('CreateSecurityGroup returned no group id')
      return out.GroupId
    })
  }

  authorizeIngress(groupId: string, permissions: IpPermission[]): Promise<void> {
    return this.call('AuthorizeSecurityGroupIngress', async (abortSignal) => {
      await this.client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissions }), { abortSignal })
    })
  }

  revokeIngress(groupId: string, permissions: IpPermission[]): Promise<void> {
    return this.call('RevokeSecurityGroupIngress', async (abortSignal) => {
      await this.client.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissions }), { abortSignal })
    })
  }

  deleteSecurityGroup(groupId: string): Promise<void> {
    return this.call('DeleteSecurityGroup', async (abortSignal) => {
      await this.client.send(new DeleteSecurityGroupCommand({ GroupId: groupId }), { abortSignal })
    })
  }

  importKeyPair(name: string, publicKey: string, tags: Tag[]): Promise<void> {
    return this.call('ImportKeyPair', async (abortSignal) => {
      await this.client.send(
        new ImportKeyPairCommand({
          KeyName: name,
          PublicKeyMaterial: Buffer.from(publicKey),
          TagSpecifications: [{ ResourceType: 'key-pair', Tags: tags }],
        }),
        { abortSignal },
      )
    })
  }

  deleteKeyPair(name: string): Promise<void> {
    return this.call('DeleteKeyPair', async (abortSignal) => {
      await this.client.send(new DeleteKeyPairCommand({ KeyName: name }), { abortSignal })
    })
  }

  runInstance(input: RunInstancesCommandInput): Promise<Instance> {
    return this.call('RunInstances', async (abortSignal) => {
      const out = await this.client.send(new RunInstancesCommand(input), { abortSignal })
      const inst = out.Instances?.[0]
      if (!inst?.InstanceId) throw new Error('RunInstances returned no instance')
      return inst
    })
  }

  describeInstances(input: DescribeInstancesCommandInput): Promise<Instance[]> {
    return this.call('DescribeInstances', async (abortSignal) => {
      const out = await this.client.send(new DescribeInstancesCommand(input), { abortSignal })
      return (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])
    })
  }

  /** Every page of DescribeInstances (NextToken followed): prune lists a whole region. */
  describeAllInstances(filters: Filter[]): Promise<Instance[]> {
    return this.allPages('DescribeInstances', async (NextToken, abortSignal) => {
      const page = await this.client.send(new DescribeInstancesCommand({ Filters: filters, NextToken }), { abortSignal })
      return { items: (page.Reservations ?? []).flatMap((r) => r.Instances ?? []), next: page.NextToken }
    })
  }

  /** Every page of DescribeSecurityGroups (NextToken followed). */
  describeAllSecurityGroups(filters: Filter[]): Promise<SecurityGroup[]> {
    return this.allPages('DescribeSecurityGroups', async (NextToken, abortSignal) => {
      const page = await this.client.send(new DescribeSecurityGroupsCommand({ Filters: filters, NextToken }), { abortSignal })
      return { items: page.SecurityGroups ?? [], next: page.NextToken }
    })
  }

  private async allPages<T>(operation: string, page: (token: string | undefined, abortSignal: AbortSignal) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
    const out: T[] = []
    let token: string | undefined
    do {
      const p = await this.call(operation, (abortSignal) => page(token, abortSignal))
      out.push(...p.items)
      token = p.next
    } while (token)
    return out
  }

  /** DescribeKeyPairs has no pages: one answer lists them all. */
  describeKeyPairs(filters: Filter[]): Promise<KeyPairInfo[]> {
    return this.call('DescribeKeyPairs', async (abortSignal) => (await this.client.send(new DescribeKeyPairsCommand({ Filters: filters }), { abortSignal })).KeyPairs ?? [])
  }

  startInstance(id: string): Promise<InstanceStateChange | undefined> {
    return this.call('StartInstances', async (abortSignal) => (await this.client.send(new StartInstancesCommand({ InstanceIds: [id] }), { abortSignal })).StartingInstances?.[0])
  }

  stopInstance(id: string, force: boolean): Promise<InstanceStateChange | undefined> {
    return this.call('StopInstances', async (abortSignal) => {
      const out = await this.client.send(new StopInstancesCommand({ InstanceIds: [id], ...(force ? { Force: true } : {}) }), { abortSignal })
      return out.StoppingInstances?.[0]
    })
  }

  rebootInstance(id: string): Promise<void> {
    return this.call('RebootInstances', async (abortSignal) => {
      await this.client.send(new RebootInstancesCommand({ InstanceIds: [id] }), { abortSignal })
    })
  }

  terminateInstance(id: string): Promise<InstanceStateChange | undefined> {
    return this.call('TerminateInstances', async (abortSignal) => {
      const out = await this.client.send(new TerminateInstancesCommand({ InstanceIds: [id] }), { abortSignal })
      return out.TerminatingInstances?.[0]
    })
  }

  createTags(resourceId: string, tags: Tag[]): Promise<void> {
    return this.call('CreateTags', async (abortSignal) => {
      await this.client.send(new CreateTagsCommand({ Resources: [resourceId], Tags: tags }), { abortSignal })
    })
  }

  /** The tags of those keys, whatever their values (an absent tag is no error). */
  deleteTags(resourceId: string, keys: string[]): Promise<void> {
    return this.call('DeleteTags', async (abortSignal) => {
      await this.client.send(new DeleteTagsCommand({ Resources: [resourceId], Tags: keys.map((Key) => ({ Key })) }), { abortSignal })
    })
  }

  destroy(): void {
    this.client.destroy()
  }
}
