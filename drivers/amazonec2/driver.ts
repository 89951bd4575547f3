/**
 * The amazonec2 driver's lifecycle. What a create launches is found first (plan.ts, read-only);
 * create makes the security groups, the key pair and the instance, each journaled before it is
 * made; rm and rollback delete what the journal lists (teardown.ts).
 */
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { composeUserData } from '../../src/driver-kit/cloud-init.js'
import { STORE_TAG, storeMarker } from '../../src/driver-kit/store-marker.js'
import { MachineError, messageOf } from '../../src/driver-kit/errors.js'
import type { Driver, DriverContext, Journal, MachineState, SshInfo } from '../../src/driver-kit/contract.js'
import { ensureMachineSshKey, generateHostKey } from '../../src/driver-kit/keys.js'
import { savedSshInfo } from '../../src/driver-kit/ssh-info.js'
import { poll, pollIntervalMs, retry, sleep } from '../../src/driver-kit/wait.js'
import { Ec2, type Instance, type RunInstancesCommandInput, type SecurityGroup, type Tag } from './client.js'
import { codeOf, isGone } from './errors.js'
import { missingRules, neededRules, ruleName, SWARM_RULES, SWARM_TAG, swarmRulesIn, toGroupPermissions, toPermissions } from './firewall.js'
import { DEFAULT_SECURITY_GROUP, parseTags, USER_DATA_LIMITS, usesPrivateAddress, type options } from './options.js'
import { resolvePlan, type Plan } from './plan.js'
import { publicKeyOf } from './ssh-key.js'
import { removeMachine, revokeSwarmRules, type TeardownContext } from './teardown.js'

/** Upper bounds for waits; each also ends on ctx.signal (Ctrl-C / the caller's step timeout). */
const WAIT_RUNNING_MS = 10 * 60_000
const WAIT_STOPPED_MS = 10 * 60_000
/** Poll interval of waits unless MACHINE_POLL_INTERVAL_MS says otherwise. */
const POLL_MS = 3000
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

export { listResources } from './prune.js'

export function createDriver(ctx: DriverContext<typeof options>): Driver {
  return new AmazonEc2Driver(ctx)
}

class AmazonEc2Driver implements Driver {
  private client?: Ec2
  private plan?: Plan
  /** Aborts API calls and waits: ctx.signal, except during a rollback that began after an abort. */
  private signal: AbortSignal

  constructor(private readonly ctx: DriverContext<typeof options>) {
    this.signal = ctx.signal
  }

  /** The options, resolved by the kit (flag → saved config → env → default). */
  private get o() {
    return this.ctx.options
  }

  private get usePrivateAddress(): boolean {
    return usesPrivateAddress(this.o)
  }

  // ---- helpers -------------------------------------------------------------------------------

  private get api(): Ec2 {
    this.client ??= new Ec2({
      options: this.o,
      retryBaseMs: Math.min(250, this.interval),
      signal: () => this.signal,
    })
    return this.client
  }

  private get interval(): number {
    return pollIntervalMs(this.ctx.env, POLL_MS)
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

  /** Name + machine-id + machine-store (ours always win) and the user's --amazonec2-tags. */
  private tags(): Tag[] {
    const all: Record<string, string> = { ...parseTags(this.o.tags), Name: this.ctx.machineName, 'machine-id': this.machineId, [STORE_TAG]: storeMarker(this.ctx.storePath) }
    return Object.entries(all).map(([Key, Value]) => ({ Key, Value }))
  }

  private wait = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number) =>
    poll(what, probe, { intervalMs: this.interval, timeoutMs, signal: this.signal })

  /** Retry a call on a NotFound about something we have just made (EC2 is eventually consistent). */
  private fresh<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, { isRetryable: isGone, baseMs: this.interval, capMs: 5 * POLL_MS, attempts: FRESH_RESOURCE_RETRIES + 1, signal: this.signal })
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
    return (this.usePrivateAddress ? inst.PrivateIpAddress : inst.PublicIpAddress) || undefined
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
      `instance ${id} to run${this.usePrivateAddress ? '' : ' with a public IP address'}`,
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
    const o = this.o
    if (o.keypairName && !o.sshKeypath) {
      throw new MachineError('missing-option', '--amazonec2-keypair-name needs --amazonec2-ssh-keypath', {
        hint: 'pass the private key of that key pair with --amazonec2-ssh-keypath',
      })
    }
    if (o.sshKeypath && !existsSync(o.sshKeypath)) {
      throw new MachineError('invalid-option', `--amazonec2-ssh-keypath: no such file ${o.sshKeypath}`)
    }
    if (o.userdata) await this.readUserData()
    if (o.spotPrice && !o.requestSpotInstance) this.ctx.log.info('--amazonec2-spot-price has no effect without --amazonec2-request-spot-instance')
    this.plan = await resolvePlan(this.api, o, this.ctx.log)
  }

  private async readUserData(): Promise<string | undefined> {
    if (!this.o.userdata) return undefined
    try {
      return await readFile(this.o.userdata, 'utf8')
    } catch (e) {
      throw new MachineError('invalid-option', `--amazonec2-userdata: cannot read ${this.o.userdata}: ${messageOf(e)}`)
    }
  }

  // ---- create ----------------------------------------------------------------------------------

  async create(journal: Journal): Promise<void> {
    const { ctx, o } = this
    const plan = this.plan ?? (await resolvePlan(this.api, o, ctx.log))
    const id = this.machineId

    // Local material first: if any of this fails, nothing exists in the cloud yet.
    const login = o.sshKeypath
      ? { path: o.sshKeypath, publicKey: await publicKeyOf(o.sshKeypath) }
      : await ensureMachineSshKey(ctx.machineDir, ctx.machineName)
    const hostKey = await generateHostKey(`${ctx.machineName}-host`)
    const userData = composeUserData(
      { user: o.sshUser, authorizedKey: login.publicKey, hostname: ctx.machineName, hostKey },
      await this.readUserData(),
      USER_DATA_LIMITS,
    )
    Object.assign(ctx.config, {
      MachineId: id,
      AMI: plan.imageId,
      VpcId: plan.vpcId,
      SubnetId: plan.subnetId,
      Zone: plan.zone.startsWith(o.region) ? plan.zone.slice(o.region.length) : o.zone,
      SSHUser: o.sshUser,
      SSHPort: o.sshPort,
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
    ctx.log.info(`Launching a ${o.instanceType}${o.requestSpotInstance ? ' spot' : ''} instance from ${plan.imageId} in ${plan.zone}…`)
    const input = this.runInput(plan, groupIds, keyName, userData, token)
    const swarmGroup = journal.entries().find((e) => e.kind === 'swarm-rules')?.id
    // The instance says which group's swarm rules it needs (rm of the last one revokes them).
    const spec = input.TagSpecifications?.find((x) => x.ResourceType === 'instance')
    if (swarmGroup && spec) spec.Tags = [...(spec.Tags ?? []), { Key: SWARM_TAG, Value: swarmGroup }]
    const inst = await this.fresh(() => this.api.runInstance(input))
    const instanceId = inst.InstanceId!
    await journal.record({ kind: 'instance', id: instanceId, data: { machineId: id, region: o.region } })
    await journal.forget('instance-request', token)
    ctx.config.InstanceId = instanceId

    ctx.log.info(`Waiting for instance ${instanceId} to run…`)
    this.applyAddresses(await this.waitRunning(instanceId))
  }

  private runInput(plan: Plan, groupIds: string[], keyName: string, userData: string, token: string): RunInstancesCommandInput {
    const o = this.o
    const tags = this.tags()
    const profile = o.iamInstanceProfile
    return {
      ImageId: plan.imageId,
      InstanceType: o.instanceType as RunInstancesCommandInput['InstanceType'],
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
          AssociatePublicIpAddress: !o.privateAddressOnly,
          DeleteOnTermination: true,
        },
      ],
      BlockDeviceMappings: [
        {
          DeviceName: o.deviceName || plan.rootDevice || '/dev/sda1',
          Ebs: { VolumeSize: o.rootSize, VolumeType: o.volumeType as 'gp3', DeleteOnTermination: true },
        },
      ],
      Monitoring: { Enabled: o.monitoring },
      ...(o.useEbsOptimizedInstance ? { EbsOptimized: true } : {}),
      MetadataOptions: { HttpTokens: o.httpTokens, HttpEndpoint: o.httpEndpoint },
      ...(profile ? { IamInstanceProfile: profile.startsWith('arn:') ? { Arn: profile } : { Name: profile } } : {}),
      ...(o.requestSpotInstance
        ? {
            InstanceMarketOptions: {
              MarketType: 'spot' as const,
              SpotOptions: {
                SpotInstanceType: 'one-time' as const,
                InstanceInterruptionBehavior: 'terminate' as const,
                ...(o.spotPrice ? { MaxPrice: o.spotPrice } : {}),
              },
            },
          }
        : {}),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
        { ResourceType: 'network-interface', Tags: tags },
        ...(o.requestSpotInstance ? [{ ResourceType: 'spot-instances-request' as const, Tags: tags }] : []),
      ],
    }
  }

  /**
   * The named groups in the VPC: existing ones are used as they are (adding the missing rules
   * unless --amazonec2-security-group-readonly); missing ones are made, journaled first, with
   * exactly the rules the machine needs.
   */
  private async ensureSecurityGroups(journal: Journal, vpcId: string): Promise<string[]> {
    const { o, ctx } = this
    // A saved config may hold an empty list (the kit keeps it): the default group then.
    const names = [...new Set(o.securityGroup.length ? o.securityGroup : [DEFAULT_SECURITY_GROUP])]
    const needed = neededRules(o.sshPort, o.openPort)
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
    } else if (!o.securityGroupReadonly) {
      const missing = missingRules(
        needed,
        existing.filter((g) => g.GroupId && ids.includes(g.GroupId)).flatMap((g) => g.IpPermissions ?? []),
      )
      if (missing.length && ids[0]) {
        ctx.log.info(`Opening ${missing.map((r) => `${r.port}/${r.protocol}`).join(', ')} in security group ${ids[0]}…`)
        await this.api.authorizeIngress(ids[0], toPermissions(missing))
      }
    }
    // The instance is tagged as a user of them when it is launched (runInput's caller).
    if (o.swarmPorts && ids[0]) await this.openSwarmPorts(journal, ids[0], existing, ids[0] === ours)
    return ids
  }

  /**
   * Swarm mode's ports in the machine's (first) security group, from the group itself: for
   * create (before the instance exists) and openClusterPorts (an existing machine) alike.
   * Journaled first, with every rule machine made there (by this machine or another): the rm
   * (or swarm leave) of the last instance using them revokes them (teardown.ts); rules the user
   * made are left alone, and so is a read-only group machine did not make. True when the
   * machine now uses rules of ours (its instance must carry the swarm tag).
   */
  private async openSwarmPorts(journal: Journal, groupId: string, existing: SecurityGroup[], madeByUs: boolean): Promise<boolean> {
    if (this.o.securityGroupReadonly && !madeByUs) {
      this.ctx.log.info(`Security group ${groupId} is read-only (--amazonec2-security-group-readonly): allow ${SWARM_RULES.map(ruleName).join(', ')} between its instances yourself`)
      return false
    }
    const { missing, ours } = swarmRulesIn(groupId, existing.find((g) => g.GroupId === groupId)?.IpPermissions ?? [])
    const mine = [...ours, ...missing]
    if (!mine.length) {
      this.ctx.log.debug(`amazonec2: security group ${groupId} already allows swarm mode between its instances`)
      return false
    }
    const known = journal.entries().find((e) => e.kind === 'swarm-rules' && e.id === groupId)
    const data = { rules: mine.map(ruleName), machineId: this.machineId }
    if (known) await journal.update('swarm-rules', groupId, data)
    else await journal.record({ kind: 'swarm-rules', id: groupId, data })
    if (!missing.length) return true
    this.ctx.log.info(`Opening ${missing.map(ruleName).join(', ')} between the instances of security group ${groupId} (swarm mode)…`)
    try {
      await this.fresh(() => this.api.authorizeIngress(groupId, toGroupPermissions(missing, groupId)))
    } catch (e) {
      // Another create in the same group got there first: the rules are there, as wanted.
      if (codeOf(e) === 'InvalidPermission.Duplicate') return true
      // EC2 answered no (not allowed, a limit): nothing was made, so nothing is left to undo
      // unless the journal already named rules of ours there.
      if (codeOf(e) && !known && !ours.length) await journal.forget('swarm-rules', groupId)
      throw e
    }
    return true
  }

  /**
   * An existing machine joins a swarm (`swarm init/join`): the swarm rules of its first group,
   * as create opens them, and its instance tagged as one that needs them.
   */
  async openClusterPorts(journal: Journal): Promise<void> {
    const groupId = (Array.isArray(this.ctx.config.SecurityGroupIds) ? this.ctx.config.SecurityGroupIds : []).find((x): x is string => typeof x === 'string' && !!x)
    if (!this.o.swarmPorts || !groupId) {
      this.ctx.log.info(
        `Swarm ports not opened: ${groupId ? '--amazonec2-swarm-ports is off for this machine' : 'its config names no security group'}; allow ${SWARM_RULES.map(ruleName).join(', ')} between the swarm's instances yourself`,
      )
      return
    }
    const id = this.requireInstanceId()
    const existing = await this.api.describeSecurityGroups({ GroupIds: [groupId] })
    const madeByUs = journal.entries().some((e) => e.kind === 'security-group' && e.data?.groupId === groupId)
    if (!(await this.openSwarmPorts(journal, groupId, existing, madeByUs))) return
    const inst = await this.describe(id)
    if (inst?.Tags?.some((t) => t.Key === SWARM_TAG && t.Value === groupId)) return
    await this.api.createTags(id, [{ Key: SWARM_TAG, Value: groupId }])
  }

  /** Left its swarm: untagged, and the swarm rules revoked unless another instance still uses them (teardown.ts's rule). */
  async closeClusterPorts(journal: Journal): Promise<void> {
    const e = journal.entries().find((x) => x.kind === 'swarm-rules')
    if (!e) return
    if (this.instanceId) await this.api.deleteTags(this.instanceId, [SWARM_TAG])
    await revokeSwarmRules(this.teardown(), e)
    await journal.forget(e.kind, e.id)
  }

  private async ensureKeyPair(journal: Journal, publicKey: string): Promise<string> {
    if (this.o.keypairName) return this.o.keypairName
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
      throw new MachineError('no-ip', `instance ${id} has no ${this.usePrivateAddress ? 'private' : 'public'} IP address (state: ${inst.State?.Name ?? 'unknown'})`, {
        hint: `start it with: machine start ${this.ctx.machineName}`,
      })
    }
    return ip
  }

  /**
   * The instance's private address: the nodes of a swarm in one VPC talk over it (the swarm ports
   * are open between the group's instances, and only inside the VPC).
   */
  async clusterAddress(): Promise<string | undefined> {
    const saved = this.ctx.config.PrivateIPAddress
    if (typeof saved === 'string' && saved) return saved
    const id = this.instanceId
    const inst = id ? await this.describe(id) : undefined
    if (inst) this.applyAddresses(inst)
    return inst?.PrivateIpAddress || undefined
  }

  async sshInfo(): Promise<SshInfo> {
    const c = this.ctx.config
    const host = typeof c.IPAddress === 'string' && c.IPAddress ? c.IPAddress : await this.ip()
    return savedSshInfo(this.ctx, { host, port: this.o.sshPort, user: this.o.sshUser })
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

  /** Deletes what the journal lists (teardown.ts). */
  async remove(journal: Journal): Promise<void> {
    // Rolling back after Ctrl-C: the create's signal is already aborted, but the rollback must
    // still run (each wait stays bounded by its own timeout), or the instance would leak.
    if (this.signal.aborted) this.signal = new AbortController().signal
    await removeMachine(this.teardown(), journal)
  }

  private teardown(): TeardownContext {
    return {
      api: this.api,
      region: this.o.region,
      log: this.ctx.log,
      instanceId: this.instanceId,
      machineId: this.machineId,
      describe: (id) => this.describe(id),
      poll: (what, probe, timeoutMs) => this.wait(what, probe, timeoutMs),
      pause: () => sleep(this.interval, this.signal),
    }
  }
}
