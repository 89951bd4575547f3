import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { MachineError, messageOf } from '../../src/driver-kit/errors.js'
import type { Driver, DriverContext, Journal, JournalEntry, MachineState, SshInfo } from '../../src/driver-kit/contract.js'
import { ensureMachineSshKey, generateHostKey } from '../../src/driver-kit/keys.js'
import { savedSshInfo } from '../../src/driver-kit/ssh-info.js'
import { Ec2, type Instance, type RunInstancesCommandInput, type SecurityGroup, type Tag } from './client.js'
import { awsCode, isNotFound } from './errors.js'
import { missingRules, neededRules, toPermissions } from './firewall.js'
import { architectureOf, newestImage, ubuntuImageQuery, type Arch } from './image.js'
import { publicKeyOf } from './ssh-key.js'
import { pollIntervalMs, readSettings, type Settings } from './settings.js'
import { composeUserData } from './userdata.js'
import { pollUntil, sleep } from './wait.js'

/** Upper bounds for waits; each also ends on ctx.signal (Ctrl-C / the caller's step timeout). */
const WAIT_RUNNING_MS = 10 * 60_000
const WAIT_STOPPED_MS = 10 * 60_000
const WAIT_TERMINATED_MS = 10 * 60_000
/** Right after a resource is made EC2 may not "see" it yet (eventual consistency). */
const FRESH_RESOURCE_RETRIES = 5

/** EC2 instance states → docker-machine's state names. */
export function mapState(name: string | undefined): MachineState {
  switch (name) {
    case 'pending':
      return 'Starting'
    case 'running':
      return 'Running'
    case 'stopping':
    case 'shutting-down':
      return 'Stopping'
    case 'stopped':
      return 'Stopped'
    default:
      // terminated (the instance is gone) or anything unknown.
      return 'Error'
  }
}

/** EC2's error code, also when it is wrapped in a MachineError's cause. */
const codeOf = (e: unknown): string | undefined =>
  e instanceof MachineError ? awsCode(e.cause) : awsCode(e)
const notFound = (e: unknown) => isNotFound(e instanceof MachineError ? e.cause : e)

interface Plan {
  arch: Arch
  imageId: string
  rootDevice?: string
  vpcId: string
  subnetId: string
  zone: string
}

export function createDriver(ctx: DriverContext): Driver {
  return new AmazonEc2Driver(ctx)
}

class AmazonEc2Driver implements Driver {
  private readonly s: Settings
  private client?: Ec2
  private plan?: Plan
  /** Aborts API calls and waits: ctx.signal, except during a rollback that began after an abort. */
  private signal: AbortSignal

  constructor(private readonly ctx: DriverContext) {
    this.s = readSettings(ctx)
    this.signal = ctx.signal
  }

  // ---- helpers -------------------------------------------------------------------------------

  private get api(): Ec2 {
    this.client ??= new Ec2({
      settings: this.s,
      retryBaseMs: Math.min(250, this.interval),
      signal: () => this.signal,
    })
    return this.client
  }

  private get interval(): number {
    return pollIntervalMs(this.ctx.env)
  }

  private get machineId(): string {
    const c = this.ctx.config
    if (typeof c.MachineId !== 'string' || !c.MachineId) c.MachineId = randomUUID()
    return c.MachineId as string
  }

  private get instanceId(): string | undefined {
    const id = this.ctx.config.InstanceId
    return typeof id === 'string' && id ? id : undefined
  }

  private requireInstanceId(): string {
    const id = this.instanceId
    if (!id) throw new MachineError('no-instance', `machine ${this.ctx.machineName} has no EC2 instance id in its config`)
    return id
  }

  /** Name + machine-id (ours always win) and the user's --amazonec2-tags. */
  private tags(): Tag[] {
    const all: Record<string, string> = { ...this.s.tags, Name: this.ctx.machineName, 'machine-id': this.machineId }
    return Object.entries(all).map(([Key, Value]) => ({ Key, Value }))
  }

  private wait = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number) =>
    pollUntil(what, probe, { intervalMs: this.interval, timeoutMs, signal: this.signal })

  /** Retry a call on a NotFound about something we have just made (EC2 is eventually consistent). */
  private async fresh<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn()
      } catch (e) {
        if (i >= FRESH_RESOURCE_RETRIES || !notFound(e)) throw e
        await sleep(this.interval * (i + 1), this.signal)
      }
    }
  }

  private async describe(id: string): Promise<Instance | undefined> {
    try {
      return (await this.api.describeInstances({ InstanceIds: [id] }))[0]
    } catch (e) {
      if (codeOf(e) === 'InvalidInstanceID.NotFound') return undefined
      throw e
    }
  }

  private addressOf(inst: Instance): string | undefined {
    return (this.s.usePrivateAddress ? inst.PrivateIpAddress : inst.PublicIpAddress) || undefined
  }

  /** Save the addresses; the caller regenerates certificates when IPAddress changed. */
  private applyAddresses(inst: Instance): string | undefined {
    const ip = this.addressOf(inst)
    const before = this.ctx.config.IPAddress
    if (ip) {
      if (before && before !== ip) this.ctx.log.info(`IP address changed from ${String(before)} to ${ip}`)
      this.ctx.config.IPAddress = ip
    }
    if (inst.PrivateIpAddress) this.ctx.config.PrivateIPAddress = inst.PrivateIpAddress
    return ip
  }

  private waitRunning(id: string): Promise<Instance> {
    return this.wait(
      `instance ${id} to run${this.s.usePrivateAddress ? '' : ' with a public IP address'}`,
      async () => {
        const inst = await this.describe(id)
        const state = inst?.State?.Name
        if (!inst || !state) return undefined // not visible yet right after launch
        if (state === 'terminated' || state === 'shutting-down') {
          const why = inst.StateReason?.Message ?? inst.StateTransitionReason ?? 'no reason given'
          throw new MachineError('aws-instance-failed', `instance ${id} was terminated instead of starting: ${why}`, {
            hint: /Capacity|Limit/.test(why) ? 'try another zone or instance type' : undefined,
          })
        }
        return state === 'running' && this.addressOf(inst) ? inst : undefined
      },
      WAIT_RUNNING_MS,
    )
  }

  private waitStopped(id: string): Promise<Instance> {
    return this.wait(
      `instance ${id} to stop`,
      async () => {
        const inst = await this.describe(id)
        const state = inst?.State?.Name
        if (!inst || state === 'terminated') throw new MachineError('aws-instance-gone', `instance ${id} no longer exists`)
        return state === 'stopped' ? inst : undefined
      },
      WAIT_STOPPED_MS,
    )
  }

  // ---- pre-create: everything we can check or look up without making anything ------------------

  async preCreateCheck(): Promise<void> {
    const s = this.s
    if (s.keypairName && !s.sshKeypath) {
      throw new MachineError('missing-option', '--amazonec2-keypair-name needs --amazonec2-ssh-keypath', {
        hint: 'pass the private key of that key pair with --amazonec2-ssh-keypath',
      })
    }
    if (s.sshKeypath && !existsSync(s.sshKeypath)) {
      throw new MachineError('invalid-option', `--amazonec2-ssh-keypath: no such file ${s.sshKeypath}`)
    }
    if (s.userdata) await this.readUserData()
    if (s.spotPrice && !s.spot) this.ctx.log.info('--amazonec2-spot-price has no effect without --amazonec2-request-spot-instance')
    this.plan = await this.resolvePlan()
  }

  private async readUserData(): Promise<string | undefined> {
    if (!this.s.userdata) return undefined
    try {
      return await readFile(this.s.userdata, 'utf8')
    } catch (e) {
      throw new MachineError('invalid-option', `--amazonec2-userdata: cannot read ${this.s.userdata}: ${messageOf(e)}`)
    }
  }

  /** Instance type → architecture → image; VPC → subnet → zone. Read-only calls only. */
  private async resolvePlan(): Promise<Plan> {
    const s = this.s
    const log = this.ctx.log

    // Validates the credentials too: an AuthFailure surfaces here, before anything exists.
    let supported: string[] | undefined
    try {
      const info = await this.api.describeInstanceType(s.instanceType)
      if (!info) {
        throw new MachineError('aws-not-found', `instance type ${s.instanceType} is not offered in ${s.region}`, {
          hint: 'pick another --amazonec2-instance-type or --amazonec2-region',
        })
      }
      supported = info.ProcessorInfo?.SupportedArchitectures
    } catch (e) {
      // EC2-compatible endpoints may lack DescribeInstanceTypes: fall back to the type's name.
      if (!['InvalidAction', 'UnsupportedOperation', 'NotImplemented', 'UnknownOperationException'].includes(codeOf(e) ?? '')) throw e
      log.debug(`DescribeInstanceTypes is not available (${codeOf(e)}); guessing the architecture from the type name`)
    }
    const arch = architectureOf(s.instanceType, supported)

    let imageId: string
    let rootDevice: string | undefined
    if (s.ami) {
      const img = (await this.api.describeImages({ ImageIds: [s.ami] }))[0]
      if (!img?.ImageId) {
        throw new MachineError('aws-not-found', `image ${s.ami} does not exist in ${s.region}`, { hint: 'check --amazonec2-ami and --amazonec2-region' })
      }
      const imgArch = img.Architecture
      if (imgArch && supported?.length && !supported.includes(imgArch)) {
        throw new MachineError('invalid-option', `image ${s.ami} is built for ${imgArch} but ${s.instanceType} runs ${supported.join('/')}`, {
          hint: 'pick an image and an instance type of the same architecture',
        })
      }
      imageId = img.ImageId
      rootDevice = img.RootDeviceName
    } else {
      const img = newestImage(await this.api.describeImages(ubuntuImageQuery(arch)))
      if (!img?.ImageId) {
        throw new MachineError('aws-not-found', `no Ubuntu 24.04 ${arch} image from Canonical found in ${s.region}`, {
          hint: 'pass an image id with --amazonec2-ami',
        })
      }
      log.debug(`Using ${img.ImageId} (${img.Name ?? 'unnamed'})`)
      imageId = img.ImageId
      rootDevice = img.RootDeviceName
    }

    let vpcId = s.vpcId
    let subnetId = s.subnetId
    let zone = `${s.region}${s.zone}`
    if (subnetId) {
      const sub = (await this.api.describeSubnets({ SubnetIds: [subnetId] }))[0]
      if (!sub?.VpcId) throw new MachineError('aws-not-found', `subnet ${subnetId} does not exist in ${s.region}`)
      if (vpcId && sub.VpcId !== vpcId) {
        throw new MachineError('invalid-option', `subnet ${subnetId} is in ${sub.VpcId}, not in --amazonec2-vpc-id ${vpcId}`)
      }
      vpcId = sub.VpcId
      zone = sub.AvailabilityZone ?? zone
    } else {
      if (!vpcId) {
        vpcId = (await this.api.describeVpcs([{ Name: 'is-default', Values: ['true'] }]))[0]?.VpcId
        if (!vpcId) {
          throw new MachineError('aws-no-default-vpc', `region ${s.region} has no default VPC`, {
            hint: 'pass --amazonec2-vpc-id and --amazonec2-subnet-id',
          })
        }
      }
      const subnets = await this.api.describeSubnets({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'availability-zone', Values: [zone] },
        ],
      })
      const sub = subnets.find((x) => x.DefaultForAz && x.State === 'available') ?? subnets.find((x) => x.State === 'available') ?? subnets[0]
      if (!sub?.SubnetId) {
        throw new MachineError('aws-not-found', `VPC ${vpcId} has no subnet in zone ${zone}`, {
          hint: 'pick another --amazonec2-zone or pass --amazonec2-subnet-id',
        })
      }
      subnetId = sub.SubnetId
    }
    return { arch, imageId, rootDevice, vpcId, subnetId, zone }
  }

  // ---- create ----------------------------------------------------------------------------------

  async create(journal: Journal): Promise<void> {
    const { ctx, s } = this
    const plan = this.plan ?? (await this.resolvePlan())
    const id = this.machineId

    // Local material first: if any of this fails, nothing exists in the cloud yet.
    const login = s.sshKeypath
      ? { path: s.sshKeypath, publicKey: await publicKeyOf(s.sshKeypath) }
      : await ensureMachineSshKey(ctx.machineDir, ctx.machineName)
    const hostKey = await generateHostKey(`${ctx.machineName}-host`)
    const userData = composeUserData(
      { user: s.sshUser, authorizedKey: login.publicKey, hostname: ctx.machineName, hostKey },
      await this.readUserData(),
    )
    Object.assign(ctx.config, {
      MachineId: id,
      AMI: plan.imageId,
      VpcId: plan.vpcId,
      SubnetId: plan.subnetId,
      Zone: plan.zone.startsWith(s.region) ? plan.zone.slice(s.region.length) : s.zone,
      SSHUser: s.sshUser,
      SSHPort: s.sshPort,
      SSHKeyPath: login.path,
      // Only the public half is saved; the private host key travels in the user data alone.
      SSHHostKeys: [hostKey.publicKey],
    })

    const groupIds = await this.ensureSecurityGroups(journal, plan.vpcId)
    ctx.config.SecurityGroupIds = groupIds
    const keyName = await this.ensureKeyPair(journal, login.publicKey)
    ctx.config.KeyName = keyName

    // The instance id is only known after RunInstances, so the journal first gets the request
    // (its idempotency token: rollback finds the instance by it), then the instance itself.
    const token = randomUUID()
    await journal.record({ kind: 'instance-request', id: token, data: { machineId: id } })
    ctx.log.info(`Launching a ${s.instanceType}${s.spot ? ' spot' : ''} instance from ${plan.imageId} in ${plan.zone}…`)
    const input = this.runInput(plan, groupIds, keyName, userData, token)
    const inst = await this.fresh(() => this.api.runInstance(input))
    const instanceId = inst.InstanceId!
    await journal.record({ kind: 'instance', id: instanceId, data: { machineId: id, region: s.region } })
    await journal.forget('instance-request', token)
    ctx.config.InstanceId = instanceId

    ctx.log.info(`Waiting for instance ${instanceId} to run…`)
    this.applyAddresses(await this.waitRunning(instanceId))
  }

  private runInput(plan: Plan, groupIds: string[], keyName: string, userData: string, token: string): RunInstancesCommandInput {
    const s = this.s
    const tags = this.tags()
    const profile = s.iamInstanceProfile
    return {
      ImageId: plan.imageId,
      InstanceType: s.instanceType as RunInstancesCommandInput['InstanceType'],
      MinCount: 1,
      MaxCount: 1,
      ClientToken: token,
      KeyName: keyName,
      UserData: Buffer.from(userData).toString('base64'),
      Placement: { AvailabilityZone: plan.zone },
      NetworkInterfaces: [
        {
          DeviceIndex: 0,
          SubnetId: plan.subnetId,
          Groups: groupIds,
          AssociatePublicIpAddress: !s.privateAddressOnly,
          DeleteOnTermination: true,
        },
      ],
      BlockDeviceMappings: [
        {
          DeviceName: s.deviceName ?? plan.rootDevice ?? '/dev/sda1',
          Ebs: { VolumeSize: s.rootSize, VolumeType: s.volumeType as 'gp3', DeleteOnTermination: true },
        },
      ],
      Monitoring: { Enabled: s.monitoring },
      ...(s.ebsOptimized ? { EbsOptimized: true } : {}),
      MetadataOptions: { HttpTokens: s.httpTokens, HttpEndpoint: s.httpEndpoint },
      ...(profile ? { IamInstanceProfile: profile.startsWith('arn:') ? { Arn: profile } : { Name: profile } } : {}),
      ...(s.spot
        ? {
            InstanceMarketOptions: {
              MarketType: 'spot' as const,
              SpotOptions: {
                SpotInstanceType: 'one-time' as const,
                InstanceInterruptionBehavior: 'terminate' as const,
                ...(s.spotPrice ? { MaxPrice: s.spotPrice } : {}),
              },
            },
          }
        : {}),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
        { ResourceType: 'network-interface', Tags: tags },
        ...(s.spot ? [{ ResourceType: 'spot-instances-request' as const, Tags: tags }] : []),
      ],
    }
  }

  /**
   * The named groups in the VPC: existing ones are used as they are (adding the missing rules
   * unless --amazonec2-security-group-readonly); missing ones are made, journaled first, with
   * exactly the rules the machine needs.
   */
  private async ensureSecurityGroups(journal: Journal, vpcId: string): Promise<string[]> {
    const { s, ctx } = this
    const names = [...new Set(s.securityGroups.length ? s.securityGroups : ['docker-machine'])]
    const needed = neededRules(s.sshPort, s.openPorts)
    const existing: SecurityGroup[] = await this.api.describeSecurityGroups({
      Filters: [
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'group-name', Values: names },
      ],
    })
    const ids: string[] = []
    let ours: string | undefined
    for (const name of names) {
      const found = existing.find((g) => g.GroupName === name)
      if (found?.GroupId) {
        ids.push(found.GroupId)
        continue
      }
      await journal.record({ kind: 'security-group', id: name, data: { vpcId, machineId: this.machineId } })
      ctx.log.info(`Creating security group ${name} in ${vpcId}…`)
      let groupId: string
      try {
        groupId = await this.api.createSecurityGroup(name, `Docker host ${ctx.machineName}: SSH and Docker engine (made by machine)`, vpcId, this.tags())
      } catch (e) {
        if (codeOf(e) !== 'InvalidGroup.Duplicate') throw e
        // Someone made it between our look-up and now: it is not ours, use it as existing.
        await journal.forget('security-group', name)
        const again = await this.api.describeSecurityGroups({
          Filters: [
            { Name: 'vpc-id', Values: [vpcId] },
            { Name: 'group-name', Values: [name] },
          ],
        })
        if (!again[0]?.GroupId) throw e
        existing.push(again[0])
        ids.push(again[0].GroupId)
        continue
      }
      await journal.update('security-group', name, { groupId })
      ids.push(groupId)
      ours ??= groupId
    }

    if (ours) {
      await this.fresh(() => this.api.authorizeIngress(ours, toPermissions(needed)))
    } else if (!s.securityGroupReadonly) {
      const missing = missingRules(
        needed,
        existing.filter((g) => g.GroupId && ids.includes(g.GroupId)).flatMap((g) => g.IpPermissions ?? []),
      )
      if (missing.length && ids[0]) {
        ctx.log.info(`Opening ${missing.map((r) => `${r.port}/${r.protocol}`).join(', ')} in security group ${ids[0]}…`)
        await this.api.authorizeIngress(ids[0], toPermissions(missing))
      }
    }
    return ids
  }

  private async ensureKeyPair(journal: Journal, publicKey: string): Promise<string> {
    if (this.s.keypairName) return this.s.keypairName
    const name = `${this.ctx.machineName}-${this.machineId.slice(0, 8)}`
    await journal.record({ kind: 'key-pair', id: name, data: { machineId: this.machineId } })
    try {
      await this.api.importKeyPair(name, publicKey, this.tags())
    } catch (e) {
      // A key pair of that name that is not ours must never be deleted by our rollback.
      if (codeOf(e) === 'InvalidKeyPair.Duplicate') await journal.forget('key-pair', name)
      throw e
    }
    return name
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  async state(): Promise<MachineState> {
    const id = this.instanceId
    if (!id) return 'Error'
    const inst = await this.describe(id)
    return mapState(inst?.State?.Name)
  }

  async ip(): Promise<string> {
    const id = this.requireInstanceId()
    const inst = await this.describe(id)
    if (!inst) throw new MachineError('aws-not-found', `instance ${id} no longer exists`)
    const ip = this.applyAddresses(inst)
    if (!ip) {
      throw new MachineError('no-ip', `instance ${id} has no ${this.s.usePrivateAddress ? 'private' : 'public'} IP address (state: ${inst.State?.Name ?? 'unknown'})`, {
        hint: `start it with: machine start ${this.ctx.machineName}`,
      })
    }
    return ip
  }

  async sshInfo(): Promise<SshInfo> {
    const c = this.ctx.config
    const host = typeof c.IPAddress === 'string' && c.IPAddress ? c.IPAddress : await this.ip()
    return savedSshInfo(this.ctx, { host, port: this.s.sshPort, user: this.s.sshUser })
  }

  async start(): Promise<void> {
    const id = this.requireInstanceId()
    await this.api.startInstance(id)
    this.ctx.log.info(`Waiting for instance ${id} to run…`)
    // A stopped instance gets a new public IP when it starts (unless it has an Elastic IP).
    this.applyAddresses(await this.waitRunning(id))
  }

  async stop(): Promise<void> {
    const id = this.requireInstanceId()
    await this.api.stopInstance(id, false)
    this.ctx.log.info(`Waiting for instance ${id} to stop…`)
    await this.waitStopped(id)
  }

  async kill(): Promise<void> {
    const id = this.requireInstanceId()
    // Force: no clean OS shutdown, like pulling the plug (EC2 skips the guest's shutdown).
    await this.api.stopInstance(id, true)
    await this.waitStopped(id)
  }

  async restart(): Promise<void> {
    const id = this.requireInstanceId()
    await this.api.rebootInstance(id)
    this.applyAddresses(await this.waitRunning(id))
  }

  // ---- remove ----------------------------------------------------------------------------------

  /**
   * Deletes what the journal lists, newest first: instances (terminate, wait), then the key pair
   * and the security group this machine made. Things that were already gone are fine. What cannot
   * be deleted is listed in the error with the command to delete it by hand.
   */
  async remove(journal: Journal): Promise<void> {
    const { ctx, s } = this
    // Rolling back after Ctrl-C: the create's signal is already aborted, but the rollback must
    // still run (each wait stays bounded by its own timeout), or the instance would leak.
    if (this.signal.aborted) this.signal = new AbortController().signal
    const failures: { what: string; why: string; how: string }[] = []
    const region = `--region ${s.region}`
    const entries = [...journal.entries()].reverse()

    // 1. Instances: journaled ones, launches that may have happened (by token), and the config's.
    const targets: { id: string; entry?: JournalEntry }[] = []
    for (const e of entries) {
      if (e.kind === 'instance') targets.push({ id: e.id, entry: e })
      if (e.kind === 'instance-request') {
        try {
          const found = await this.api.describeInstances({ Filters: [{ Name: 'client-token', Values: [e.id] }] })
          const live = found.filter((i) => i.InstanceId && i.State?.Name !== 'terminated')
          for (const i of live) targets.push({ id: i.InstanceId!, entry: e })
          if (!live.length) await journal.forget(e.kind, e.id)
        } catch (err) {
          failures.push({
            what: `instance launched with token ${e.id}`,
            why: messageOf(err),
            how: `aws ec2 describe-instances ${region} --filters Name=client-token,Values=${e.id} (then terminate what it lists)`,
          })
        }
      }
    }
    if (this.instanceId && !targets.some((t) => t.id === this.instanceId)) targets.push({ id: this.instanceId })

    const terminating: string[] = []
    for (const t of targets) {
      try {
        const change = await this.api.terminateInstance(t.id)
        if (change?.CurrentState?.Name !== 'terminated') terminating.push(t.id)
      } catch (e) {
        if (codeOf(e) !== 'InvalidInstanceID.NotFound') {
          failures.push({ what: `instance ${t.id}`, why: messageOf(e), how: `aws ec2 terminate-instances ${region} --instance-ids ${t.id}` })
        }
      }
    }
    for (const id of terminating) {
      if (failures.some((f) => f.what === `instance ${id}`)) continue
      ctx.log.info(`Waiting for instance ${id} to terminate…`)
      try {
        await this.wait(
          `instance ${id} to terminate`,
          async () => {
            const inst = await this.describe(id)
            return !inst || inst.State?.Name === 'terminated' ? true : undefined
          },
          WAIT_TERMINATED_MS,
        )
      } catch (e) {
        failures.push({ what: `instance ${id}`, why: messageOf(e), how: `aws ec2 terminate-instances ${region} --instance-ids ${id}` })
      }
    }
    for (const t of targets) {
      if (failures.some((f) => f.what === `instance ${t.id}`)) continue
      if (t.entry) await journal.forget(t.entry.kind, t.entry.id)
      ctx.log.info(`Terminated instance ${t.id}`)
    }
    const instancesLeft = failures.length > 0

    // 2. Key pairs and security groups this machine made, newest first.
    for (const e of entries) {
      if (e.kind === 'key-pair') {
        try {
          await this.api.deleteKeyPair(e.id)
          await journal.forget(e.kind, e.id)
          ctx.log.info(`Deleted key pair ${e.id}`)
        } catch (err) {
          if (notFound(err)) await journal.forget(e.kind, e.id)
          else failures.push({ what: `key pair ${e.id}`, why: messageOf(err), how: `aws ec2 delete-key-pair ${region} --key-name ${e.id}` })
        }
      } else if (e.kind === 'security-group') {
        const gid = typeof e.data?.groupId === 'string' ? e.data.groupId : undefined
        const how = `aws ec2 delete-security-group ${region} --group-id ${gid ?? `<id of ${e.id}>`}`
        if (instancesLeft) {
          failures.push({ what: `security group ${e.id}`, why: 'an instance using it could not be terminated', how })
          continue
        }
        try {
          await this.deleteSecurityGroup(e)
          await journal.forget(e.kind, e.id)
        } catch (err) {
          failures.push({ what: `security group ${e.id}`, why: messageOf(err), how })
        }
      }
    }

    if (failures.length) {
      throw new MachineError(
        'remove-incomplete',
        `could not delete ${failures.map((f) => `${f.what} (${f.why})`).join('; ')}`,
        { hint: `delete by hand: ${failures.map((f) => f.how).join(' && ')}` },
      )
    }
  }

  private async deleteSecurityGroup(e: JournalEntry): Promise<void> {
    let gid = typeof e.data?.groupId === 'string' ? e.data.groupId : undefined
    if (!gid) {
      // Interrupted between CreateSecurityGroup and the journal update: find it by name + our tag.
      const vpcId = typeof e.data?.vpcId === 'string' ? e.data.vpcId : undefined
      const machineId = typeof e.data?.machineId === 'string' ? e.data.machineId : this.machineId
      const found = await this.api.describeSecurityGroups({
        Filters: [
          { Name: 'group-name', Values: [e.id] },
          { Name: 'tag:machine-id', Values: [machineId] },
          ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
        ],
      })
      gid = found[0]?.GroupId
      if (!gid) return
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await this.api.deleteSecurityGroup(gid)
        this.ctx.log.info(`Deleted security group ${e.id} (${gid})`)
        return
      } catch (err) {
        if (notFound(err)) return
        if (codeOf(err) !== 'DependencyViolation') throw err
        // Still attached: either to other machines sharing the group (leave it) or to our
        // instance's network interface that EC2 is still releasing (try again shortly).
        const users = await this.api.describeInstances({
          Filters: [
            { Name: 'instance.group-id', Values: [gid] },
            { Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] },
          ],
        })
        if (users.length) {
          this.ctx.log.info(`Security group ${e.id} (${gid}) is still used by ${users.map((i) => i.InstanceId).join(', ')}; left in place`)
          return
        }
        if (attempt >= 10) throw err
        await sleep(this.interval, this.signal)
      }
    }
  }
}
