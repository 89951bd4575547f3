/**
 * amazonec2 driver against nock: the EC2 Query API as the SDK really speaks it (POST / with a
 * form-encoded Action=…, XML answers). Every test checks that each arranged interceptor was used
 * and that no request went unmatched.
 */
import { storeMarker } from '../../src/driver-kit/store-marker.js'
import { readFile } from 'node:fs/promises'
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { MachineError } from '../../src/core/errors.js'
import { fingerprintOf } from '../../src/driver-kit/keys.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { type Ec2Mock, filtersOf, listOf, tagSpecOf } from './fixtures/amazonec2/ec2-mock.js'
import { xml } from './fixtures/amazonec2/ec2-xml.js'
import { useEc2Hooks } from './fixtures/amazonec2/hooks.js'
import {
  arrangeGroupAndKey,
  arrangeLookups,
  arrangeMaking,
  arrangeRemoval,
  byInstance,
  definition,
  IDS,
  instance,
  makeTestDriver,
  NEW_PUBLIC_IP,
  PRIVATE_IP,
  PUBLIC_IP,
  type TestCtx,
  CREATE_ACTIONS,
  createArranged,
} from './fixtures/amazonec2/scenarios.js'
import { expectMockDone } from '../helpers/cloud-mock.js'

let m: Ec2Mock
let t: TestCtx | undefined
useEc2Hooks((mock) => (m = mock), () => t, () => (t = undefined))

const expectAllUsed = () => expectMockDone(m)

/** A driver whose config already describes a created machine. */
async function existing(flags: Record<string, unknown> = {}) {
  t = await makeTestDriver(flags)
  Object.assign(t.ctx.config, { InstanceId: IDS.instance, IPAddress: PUBLIC_IP, MachineId: '5b0c6c2e-0000-4000-8000-000000000001' })
  return t
}

async function rejection(p: Promise<unknown>): Promise<MachineError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e, 'expected the call to fail').toBeInstanceOf(MachineError)
  return e as MachineError
}

describe('amazonec2 create', () => {
  it('looks up image, VPC and subnet, then makes the security group, key pair and instance, in order', async () => {
    t = await makeTestDriver()
    const journal = await createArranged(m, t.driver)

    expect(m.actions()).toEqual([...CREATE_ACTIONS])
    expectAllUsed()
    // Every call is a form-encoded POST signed for ec2 in the chosen region with the given key.
    for (const c of m.calls) {
      expect(c.params.Version).toBe('2016-11-15')
      expect(String(c.headers['content-type'])).toContain('application/x-www-form-urlencoded')
      expect(String(c.headers.authorization)).toMatch(/Credential=AKIDEXAMPLETESTONLY1\/\d{8}\/eu-west-1\/ec2\/aws4_request/)
    }

    // Image: Canonical's newest Ubuntu 24.04 server image for the type's architecture.
    expect(m.params('DescribeInstanceTypes')['InstanceType.1']).toBe('t3.micro')
    const img = m.params('DescribeImages')
    expect(listOf(img, 'Owner')).toEqual(['099720109477'])
    expect(filtersOf(img)).toMatchObject({
      name: ['ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-amd64-server-*'],
      architecture: ['x86_64'],
      state: ['available'],
    })
    expect(filtersOf(m.params('DescribeSubnets'))).toEqual({ 'vpc-id': [IDS.vpc], 'availability-zone': ['eu-west-1a'] })

    // Security group: in the default VPC, tagged, with exactly SSH and the engine port open.
    const sg = m.params('CreateSecurityGroup')
    expect(sg.VpcId).toBe(IDS.vpc)
    expect(tagSpecOf(sg, 1)).toEqual({ type: 'security-group', tags: { Name: 'web1', 'machine-id': t.ctx.config.MachineId, 'machine-store': storeMarker(t.ctx.storePath) } })
    const ingress = m.params('AuthorizeSecurityGroupIngress')
    const rules = Object.keys(ingress).filter((k) => /^IpPermissions\.\d+\.IpProtocol$/.test(k))
    expect(rules).toHaveLength(2)
    expect([ingress['IpPermissions.1.FromPort'], ingress['IpPermissions.2.FromPort']]).toEqual(['22', '2376'])
    expect([ingress['IpPermissions.1.ToPort'], ingress['IpPermissions.2.ToPort']]).toEqual(['22', '2376'])
    expect(ingress['IpPermissions.1.IpRanges.1.CidrIp']).toBe('0.0.0.0/0')

    // Key pair: the machine's own generated key, imported and tagged.
    const kp = m.params('ImportKeyPair')
    const pub = (await readFile(`${t.ctx.machineDir}/id_rsa.pub`, 'utf8')).trim()
    expect(Buffer.from(kp.PublicKeyMaterial ?? '', 'base64').toString()).toBe(pub)
    expect(kp.KeyName).toMatch(/^web1-[0-9a-f]{8}$/)
    expect(tagSpecOf(kp, 1).tags).toEqual({ Name: 'web1', 'machine-id': t.ctx.config.MachineId, 'machine-store': storeMarker(t.ctx.storePath) })

    // Instance: newest image, small current type, IMDSv2 required, our network and key, tagged.
    const run = m.params('RunInstances')
    expect(run).toMatchObject({
      ImageId: IDS.ami,
      InstanceType: 't3.micro',
      MinCount: '1',
      MaxCount: '1',
      KeyName: kp.KeyName,
      'Placement.AvailabilityZone': 'eu-west-1a',
      'MetadataOptions.HttpTokens': 'required',
      'MetadataOptions.HttpEndpoint': 'enabled',
      'NetworkInterface.1.SubnetId': IDS.subnet,
      'NetworkInterface.1.SecurityGroupId.1': IDS.sg,
      'NetworkInterface.1.AssociatePublicIpAddress': 'true',
      'NetworkInterface.1.DeleteOnTermination': 'true',
      'BlockDeviceMapping.1.DeviceName': '/dev/sda1',
      'BlockDeviceMapping.1.Ebs.VolumeSize': '16',
      'BlockDeviceMapping.1.Ebs.VolumeType': 'gp3',
      'BlockDeviceMapping.1.Ebs.DeleteOnTermination': 'true',
    })
    expect(run.ClientToken).toMatch(/^[0-9a-f-]{36}$/)
    expect(run['InstanceMarketOptions.MarketType']).toBeUndefined()
    const specs = [1, 2, 3].map((n) => tagSpecOf(run, n))
    expect(specs.map((s) => s.type)).toEqual(['instance', 'volume', 'network-interface'])
    for (const s of specs) expect(s.tags).toEqual({ Name: 'web1', 'machine-id': t.ctx.config.MachineId, 'machine-store': storeMarker(t.ctx.storePath) })

    // User data: cloud-init with our login key and the pinned ed25519 host key.
    const userData = Buffer.from(run.UserData ?? '', 'base64').toString()
    expect(userData.startsWith('#cloud-config\n')).toBe(true)
    const cloud = JSON.parse(userData.slice('#cloud-config\n'.length)) as {
      hostname: string
      users: { name: string; ssh_authorized_keys: string[] }[]
      ssh_keys: { ed25519_private: string; ed25519_public: string }
    }
    expect(cloud.hostname).toBe('web1')
    expect(cloud.users[0]).toMatchObject({ name: 'ubuntu', ssh_authorized_keys: [pub] })
    expect(cloud.ssh_keys.ed25519_private).toContain('BEGIN OPENSSH PRIVATE KEY')

    // Saved config: addresses, ids, the pinned public host key, and no secret at all.
    const c = t.ctx.config
    expect(c).toMatchObject({
      InstanceId: IDS.instance,
      IPAddress: PUBLIC_IP,
      PrivateIPAddress: PRIVATE_IP,
      SSHUser: 'ubuntu',
      SSHPort: 22,
      SSHKeyPath: `${t.ctx.machineDir}/id_rsa`,
      KeyName: kp.KeyName,
      SecurityGroupIds: [IDS.sg],
      VpcId: IDS.vpc,
      SubnetId: IDS.subnet,
      AMI: IDS.ami,
      Region: 'eu-west-1',
      InstanceType: 't3.micro',
    })
    expect(c.SSHHostKeys).toEqual([cloud.ssh_keys.ed25519_public])
    expect(fingerprintOf((c.SSHHostKeys as string[])[0]!)).toMatch(/^SHA256:/)
    const saved = JSON.stringify(c)
    expect(saved).not.toContain('AKIDEXAMPLETESTONLY1')
    expect(saved).not.toContain('wJalrXUtnFEMI')
    expect(saved).not.toMatch(/PRIVATE KEY/)

    // Journal: what was made, in order, with the ids needed to delete it.
    expect(journal.entries()).toEqual([
      { kind: 'security-group', id: 'docker-machine', data: { vpcId: IDS.vpc, machineId: c.MachineId, groupId: IDS.sg } },
      { kind: 'key-pair', id: kp.KeyName, data: { machineId: c.MachineId } },
      { kind: 'instance', id: IDS.instance, data: { machineId: c.MachineId, region: 'eu-west-1' } },
    ])

    const ssh = await t.driver.sshInfo()
    expect(ssh).toEqual({ host: PUBLIC_IP, port: 22, user: 'ubuntu', keyPath: `${t.ctx.machineDir}/id_rsa`, hostKeys: c.SSHHostKeys })
  })
})

describe('amazonec2 state', () => {
  const cases: [string, string][] = [
    ['pending', 'Starting'],
    ['running', 'Running'],
    ['stopping', 'Stopping'],
    ['shutting-down', 'Stopping'],
    ['stopped', 'Stopped'],
    ['terminated', 'Error'],
  ]
  for (const [ec2State, expected] of cases) {
    it(`maps ${ec2State} to ${expected}`, async () => {
      await existing()
      m.on('DescribeInstances', xml.describeInstances([instance({ state: ec2State })]), byInstance(IDS.instance))
      expect(await t!.driver.state()).toBe(expected)
      expectAllUsed()
    })
  }

  it('reports Error when the instance no longer exists', async () => {
    await existing()
    m.fail('DescribeInstances', 400, 'InvalidInstanceID.NotFound', `The instance ID '${IDS.instance}' does not exist`)
    expect(await t!.driver.state()).toBe('Error')
    expectAllUsed()
  })
})

describe('amazonec2 ip', () => {
  it('returns the public address and records a changed one', async () => {
    await existing()
    m.on('DescribeInstances', xml.describeInstances([instance({ publicIp: NEW_PUBLIC_IP })]), byInstance(IDS.instance))
    expect(await t!.driver.ip()).toBe(NEW_PUBLIC_IP)
    expect(t!.ctx.config.IPAddress).toBe(NEW_PUBLIC_IP)
    expectAllUsed()
  })

  it('returns the private address with --amazonec2-use-private-address', async () => {
    await existing({ 'amazonec2-use-private-address': true })
    m.on('DescribeInstances', xml.describeInstances([instance()]), byInstance(IDS.instance))
    expect(await t!.driver.ip()).toBe(PRIVATE_IP)
    expectAllUsed()
  })

  it('says clearly that a stopped instance has no public address', async () => {
    await existing()
    m.on('DescribeInstances', xml.describeInstances([instance({ state: 'stopped', publicIp: undefined })]), byInstance(IDS.instance))
    const e = await rejection(t!.driver.ip())
    expect(e.code).toBe('no-ip')
    expect(e.line).toBe(`instance ${IDS.instance} has no public IP address (state: stopped): start it with: machine start web1`)
    expectAllUsed()
  })
})

describe('amazonec2 start, stop, restart, kill', () => {
  it('start: StartInstances, waits until running, and records the new public IP', async () => {
    await existing()
    m.on('StartInstances', xml.stateChange('StartInstances', IDS.instance, 'pending', 'stopped'), byInstance(IDS.instance))
      // Right after StartInstances, EC2 may still answer with the old state.
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'stopped', publicIp: undefined })]), byInstance(IDS.instance))
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'pending', publicIp: undefined })]), byInstance(IDS.instance))
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'running', publicIp: NEW_PUBLIC_IP })]), byInstance(IDS.instance))
    await t!.driver.start()
    expect(m.actions()).toEqual(['StartInstances', 'DescribeInstances', 'DescribeInstances', 'DescribeInstances'])
    expect(t!.ctx.config.IPAddress).toBe(NEW_PUBLIC_IP)
    expect(t!.infos).toContain(`IP address changed from ${PUBLIC_IP} to ${NEW_PUBLIC_IP}`)
    expectAllUsed()
  })

  it('stop: StopInstances without Force, waits until stopped', async () => {
    await existing()
    m.on('StopInstances', xml.stateChange('StopInstances', IDS.instance, 'stopping', 'running'), byInstance(IDS.instance))
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'stopping' })]), byInstance(IDS.instance))
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'stopped', publicIp: undefined })]), byInstance(IDS.instance))
    await t!.driver.stop()
    expect(m.actions()).toEqual(['StopInstances', 'DescribeInstances', 'DescribeInstances'])
    expect(m.params('StopInstances').Force).toBeUndefined()
    expectAllUsed()
  })

  it('restart: RebootInstances, then waits until it runs', async () => {
    await existing()
    m.on('RebootInstances', xml.rebootInstances(), byInstance(IDS.instance))
      .on('DescribeInstances', xml.describeInstances([instance()]), byInstance(IDS.instance))
    await t!.driver.restart()
    expect(m.actions()).toEqual(['RebootInstances', 'DescribeInstances'])
    expectAllUsed()
  })

  it('kill: a forced stop (StopInstances Force=true), waits until stopped', async () => {
    await existing()
    m.on('StopInstances', xml.stateChange('StopInstances', IDS.instance, 'stopping', 'running'), (p) => p.Force === 'true')
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'stopped', publicIp: undefined })]), byInstance(IDS.instance))
    await t!.driver.kill()
    expect(m.actions()).toEqual(['StopInstances', 'DescribeInstances'])
    expectAllUsed()
  })

  it('stop fails clearly when the instance vanished while stopping', async () => {
    await existing()
    m.on('StopInstances', xml.stateChange('StopInstances', IDS.instance, 'stopping', 'running'))
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'terminated', publicIp: undefined })]))
    const e = await rejection(t!.driver.stop())
    expect(e.line).toBe(`instance ${IDS.instance} no longer exists`)
    expectAllUsed()
  })
})

describe('amazonec2 rm', () => {
  function journalOfCreatedMachine(keyName = 'web1-5b0c6c2e') {
    const j = new MemoryJournal()
    const machineId = '5b0c6c2e-0000-4000-8000-000000000001'
    void j.record({ kind: 'security-group', id: 'docker-machine', data: { vpcId: IDS.vpc, machineId, groupId: IDS.sg } })
    void j.record({ kind: 'key-pair', id: keyName, data: { machineId } })
    void j.record({ kind: 'instance', id: IDS.instance, data: { machineId } })
    return j
  }

  it('terminates the instance, waits, then deletes the key pair and the security group it made', async () => {
    await existing()
    const j = journalOfCreatedMachine()
    arrangeRemoval(m)
    await t!.driver.remove(j)
    expect(m.actions()).toEqual(['TerminateInstances', 'DescribeInstances', 'DeleteKeyPair', 'DeleteSecurityGroup'])
    expect(m.params('DeleteKeyPair').KeyName).toBe('web1-5b0c6c2e')
    expect(j.entries()).toEqual([])
    expect(t!.infos).toEqual(
      expect.arrayContaining([`Terminated instance ${IDS.instance}`, 'Deleted key pair web1-5b0c6c2e', `Deleted security group docker-machine (${IDS.sg})`]),
    )
    expectAllUsed()
  })

  it('leaves a user-named key pair and an existing security group alone (nothing journaled for them)', async () => {
    await existing({ 'amazonec2-keypair-name': 'team-key', 'amazonec2-security-group': ['team-sg'] })
    const j = new MemoryJournal()
    await j.record({ kind: 'instance', id: IDS.instance })
    m.on('TerminateInstances', xml.stateChange('TerminateInstances', IDS.instance, 'shutting-down', 'running'))
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'shutting-down', publicIp: undefined })]))
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'terminated', publicIp: undefined })]))
    await t!.driver.remove(j)
    expect(m.actions()).toEqual(['TerminateInstances', 'DescribeInstances', 'DescribeInstances'])
    expect(j.entries()).toEqual([])
    expectAllUsed()
  })

  it('is idempotent: things already gone are fine', async () => {
    await existing()
    const j = journalOfCreatedMachine()
    m.fail('TerminateInstances', 400, 'InvalidInstanceID.NotFound', `The instance ID '${IDS.instance}' does not exist`)
      .on('DeleteKeyPair', xml.deleteKeyPair())
      .fail('DeleteSecurityGroup', 400, 'InvalidGroup.NotFound', `The security group '${IDS.sg}' does not exist`)
    await t!.driver.remove(j)
    expect(j.entries()).toEqual([])
    expectAllUsed()
  })

  it('keeps a shared security group that other instances still use', async () => {
    await existing()
    const j = journalOfCreatedMachine()
    m.on('TerminateInstances', xml.stateChange('TerminateInstances', IDS.instance, 'terminated', 'terminated'))
      .on('DeleteKeyPair', xml.deleteKeyPair())
      .fail('DeleteSecurityGroup', 400, 'DependencyViolation', `resource ${IDS.sg} has a dependent object`)
      .on('DescribeInstances', xml.describeInstances([instance({ id: 'i-0feedfeedfeedfee1' })]), (p) => filtersOf(p)['instance.group-id']?.[0] === IDS.sg)
    await t!.driver.remove(j)
    expect(j.entries()).toEqual([])
    expect(t!.infos).toContain(`Security group docker-machine (${IDS.sg}) is still used by i-0feedfeedfeedfee1; left in place`)
    expectAllUsed()
  })

  it('an interrupted launch that cannot be looked up is reported, and its group kept for later', async () => {
    t = await makeTestDriver()
    const j = new MemoryJournal()
    await j.record({ kind: 'security-group', id: 'docker-machine', data: { vpcId: IDS.vpc, groupId: IDS.sg } })
    await j.record({ kind: 'instance-request', id: '0d5c7a52-0000-4000-8000-00000000000a' })
    m.fail('DescribeInstances', 403, 'UnauthorizedOperation', 'You are not authorized to perform this operation.')
    const e = await rejection(t.driver.remove(j))
    expect(e.line).toContain('could not delete instance launched with token 0d5c7a52-0000-4000-8000-00000000000a (not allowed to call ec2:DescribeInstances')
    expect(e.line).toContain('aws ec2 describe-instances --region eu-west-1 --filters Name=client-token,Values=0d5c7a52-0000-4000-8000-00000000000a')
    expect(j.entries().map((x) => x.kind)).toEqual(['security-group', 'instance-request'])
    expectAllUsed()
  })

  it('says what could not be deleted and how to delete it by hand', async () => {
    await existing()
    const j = journalOfCreatedMachine()
    m.fail('TerminateInstances', 403, 'UnauthorizedOperation', 'You are not authorized to perform this operation. Encoded authorization failure message: AbCdEf')
      .on('DeleteKeyPair', xml.deleteKeyPair())
    const e = await rejection(t!.driver.remove(j))
    expect(e.code).toBe('remove-incomplete')
    expect(e.line).not.toContain('\n')
    expect(e.line).not.toContain('AbCdEf')
    expect(e.line).toContain(`could not delete instance ${IDS.instance} (not allowed to call ec2:TerminateInstances`)
    expect(e.line).toContain(`aws ec2 terminate-instances --region eu-west-1 --instance-ids ${IDS.instance}`)
    expect(e.line).toContain(`aws ec2 delete-security-group --region eu-west-1 --group-id ${IDS.sg}`)
    // What could not be deleted stays in the journal for a later `rm`.
    expect(j.entries().map((x) => x.kind)).toEqual(['security-group', 'instance'])
    expectAllUsed()
  })
})

describe('amazonec2 failures', () => {
  it('auth failure: one clear line, before anything is made', async () => {
    t = await makeTestDriver()
    m.fail('DescribeInstanceTypes', 401, 'AuthFailure', 'AWS was not able to validate the provided access credentials')
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.code).toBe('aws-auth')
    expect(e.line).toBe(
      'AWS rejected the credentials (AuthFailure): AWS was not able to validate the provided access credentials: ' +
        'give credentials with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE or --amazonec2-profile), ' +
        'or --amazonec2-access-key and --amazonec2-secret-key',
    )
    expect(m.actions()).toEqual(['DescribeInstanceTypes'])
    expectAllUsed()
  })

  it('no credentials at all: says where credentials can come from', async () => {
    const keys = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE']
    const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]))
    try {
      for (const k of keys) delete process.env[k]
      process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials'
      process.env.AWS_CONFIG_FILE = '/nonexistent/config'
      t = await makeTestDriver({ 'amazonec2-access-key': undefined, 'amazonec2-secret-key': undefined })
      const e = await rejection(t.driver.preCreateCheck())
      expect(e.code).toBe('aws-credentials')
      expect(e.line).toMatch(/^no AWS credentials found: give credentials with AWS_ACCESS_KEY_ID/)
    } finally {
      for (const k of keys) {
        if (saved[k] === undefined) delete process.env[k]
        else process.env[k] = saved[k]
      }
    }
    expectAllUsed()
  })

  it('missing IAM permission: names the action, drops the encoded blob', async () => {
    t = await makeTestDriver()
    m.fail('DescribeInstanceTypes', 403, 'UnauthorizedOperation', 'You are not authorized to perform this operation. User: arn:aws:iam::111122223333:user/ci is not authorized to perform: ec2:DescribeInstanceTypes. Encoded authorization failure message: 9Zf3x-very-long')
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.code).toBe('aws-permission')
    expect(e.line).toMatch(/^not allowed to call ec2:DescribeInstanceTypes \(UnauthorizedOperation\): You are not authorized/)
    expect(e.line).not.toContain('9Zf3x')
    expectAllUsed()
  })

  it('not found: a wrong --amazonec2-ami is reported before anything is made', async () => {
    t = await makeTestDriver({ 'amazonec2-ami': 'ami-0123456789abcdef0' })
    m.on('DescribeInstanceTypes', xml.describeInstanceTypes('t3.micro', ['x86_64']))
      .fail('DescribeImages', 400, 'InvalidAMIID.NotFound', "The image id '[ami-0123456789abcdef0]' does not exist", (p) => p['ImageId.1'] === 'ami-0123456789abcdef0')
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.code).toBe('aws-not-found')
    expect(e.line).toBe(
      "EC2 DescribeImages failed (InvalidAMIID.NotFound): The image id '[ami-0123456789abcdef0]' does not exist: check the id and the region (--amazonec2-region)",
    )
    expectAllUsed()
  })

  it('not found: an instance type the region does not offer', async () => {
    t = await makeTestDriver({ 'amazonec2-instance-type': 't3.mikro' })
    m.fail('DescribeInstanceTypes', 400, 'InvalidInstanceType', 'The following supplied instance types do not exist: [t3.mikro]')
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.code).toBe('aws-not-found')
    expect(e.line).toContain('[t3.mikro]')
    expectAllUsed()
  })

  it('not found: a region without a default VPC asks for --amazonec2-vpc-id', async () => {
    t = await makeTestDriver()
    m.on('DescribeInstanceTypes', xml.describeInstanceTypes('t3.micro', ['x86_64']))
      .on('DescribeImages', xml.describeImages([{ id: IDS.ami, name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261101', created: '2026-11-01T08:00:00.000Z' }]))
      .on('DescribeVpcs', xml.describeVpcs([]))
    const e = await rejection(t.driver.preCreateCheck())
    expect(e.line).toBe('region eu-west-1 has no default VPC: pass --amazonec2-vpc-id and --amazonec2-subnet-id')
    expectAllUsed()
  })

  it('throttling then success: RequestLimitExceeded is retried with back-off', async () => {
    await existing()
    m.fail('DescribeInstances', 503, 'RequestLimitExceeded', 'Request limit exceeded.')
      .fail('DescribeInstances', 503, 'RequestLimitExceeded', 'Request limit exceeded.')
      .on('DescribeInstances', xml.describeInstances([instance()]))
    expect(await t!.driver.state()).toBe('Running')
    expect(m.actions()).toEqual(['DescribeInstances', 'DescribeInstances', 'DescribeInstances'])
    // The SDK marks each attempt; the third one is the answered one.
    expect(m.calls.map((c) => String(c.headers['amz-sdk-request']))).toEqual(['attempt=1; max=6', 'attempt=2; max=6', 'attempt=3; max=6'])
    expectAllUsed()
  })

  it('throttling that outlasts --amazonec2-retries ends with a clear error', async () => {
    await existing({ 'amazonec2-retries': 1 })
    m.fail('DescribeInstances', 503, 'RequestLimitExceeded', 'Request limit exceeded.')
      .fail('DescribeInstances', 503, 'RequestLimitExceeded', 'Request limit exceeded.')
    const e = await rejection(t!.driver.state())
    expect(e.code).toBe('aws-throttled')
    expect(e.line).toBe(
      'EC2 DescribeInstances was throttled and retries ran out (RequestLimitExceeded): Request limit exceeded.: wait a minute and try again, or raise --amazonec2-retries',
    )
    expectAllUsed()
  })

  it('insufficient capacity: not retried, clear hint, and rollback removes the group and key pair', async () => {
    t = await makeTestDriver()
    const journal = new MemoryJournal()
    arrangeLookups(m)
    arrangeGroupAndKey(m)
      .fail('RunInstances', 500, 'InsufficientInstanceCapacity', 'We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (eu-west-1a).')
    await t.driver.preCreateCheck()
    const e = await rejection(t.driver.create(journal))
    expect(e.code).toBe('aws-capacity')
    expect(e.line).toMatch(/^EC2 RunInstances failed \(InsufficientInstanceCapacity\): We currently do not have sufficient t3\.micro capacity .*: try another zone/)
    expect(journal.entries().map((x) => x.kind)).toEqual(['security-group', 'key-pair', 'instance-request'])
    expectAllUsed()

    // Rollback: the launch is looked up by its token (none), then the key pair and group go.
    const token = journal.entries()[2]!.id
    m.on('DescribeInstances', xml.describeInstances([]), (p) => filtersOf(p)['client-token']?.[0] === token)
      .on('DeleteKeyPair', xml.deleteKeyPair())
      .on('DeleteSecurityGroup', xml.deleteSecurityGroup(IDS.sg))
    await t.driver.remove(journal)
    expect(journal.entries()).toEqual([])
    expectAllUsed()
  })

  it('quota: vCPU limit reached is reported as an account limit', async () => {
    t = await makeTestDriver()
    arrangeLookups(m)
    m.on('DescribeSecurityGroups', xml.describeSecurityGroups([{ id: IDS.sg, name: 'docker-machine', rules: [['tcp', 22, 22], ['tcp', 2376, 2376]] }]))
      .on('ImportKeyPair', (p) => xml.importKeyPair(p.KeyName ?? ''))
      .fail('RunInstances', 400, 'VcpuLimitExceeded', 'You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to.')
    await t.driver.preCreateCheck()
    const e = await rejection(t.driver.create(new MemoryJournal()))
    expect(e.code).toBe('aws-quota')
    expect(e.line).toMatch(/account limit reached \(VcpuLimitExceeded\).*Service Quotas/)
    expectAllUsed()
  })

  it('failure after the instance exists: rollback terminates it and deletes the key pair and group', async () => {
    t = await makeTestDriver()
    const journal = new MemoryJournal()
    arrangeLookups(m)
    arrangeGroupAndKey(m)
      .on('RunInstances', xml.runInstances(instance({ state: 'pending', publicIp: undefined })))
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'pending', publicIp: undefined })]))
      .on(
        'DescribeInstances',
        xml.describeInstances([
          instance({ state: 'shutting-down', publicIp: undefined, stateReason: { code: 'Server.InternalError', message: 'Server.InternalError: Internal error on launch' } }),
        ]),
      )
    await t.driver.preCreateCheck()
    const e = await rejection(t.driver.create(journal))
    expect(e.line).toBe(`instance ${IDS.instance} was terminated instead of starting: Server.InternalError: Internal error on launch`)
    expect(journal.entries().map((x) => `${x.kind} ${x.id}`)).toEqual([
      'security-group docker-machine',
      `key-pair ${String(t.ctx.config.KeyName)}`,
      `instance ${IDS.instance}`,
    ])
    expectAllUsed()

    m.on('TerminateInstances', xml.stateChange('TerminateInstances', IDS.instance, 'shutting-down', 'shutting-down'), byInstance(IDS.instance))
      .on('DescribeInstances', xml.describeInstances([instance({ state: 'terminated', publicIp: undefined })]))
      .on('DeleteKeyPair', xml.deleteKeyPair(), (p) => p.KeyName === t!.ctx.config.KeyName)
      .on('DeleteSecurityGroup', xml.deleteSecurityGroup(IDS.sg), (p) => p.GroupId === IDS.sg)
    await t.driver.remove(journal)
    expect(m.actions().slice(-4)).toEqual(['TerminateInstances', 'DescribeInstances', 'DeleteKeyPair', 'DeleteSecurityGroup'])
    expect(journal.entries()).toEqual([])
    expectAllUsed()
  })

  it('Ctrl-C while waiting for the instance: create stops, and the rollback still runs', async () => {
    t = await makeTestDriver()
    const abort = new AbortController()
    t.ctx.signal = abort.signal
    const driver = (await definition.load()).createDriver(t.ctx)
    const journal = new MemoryJournal()
    arrangeLookups(m)
    arrangeMaking(m, { interrupt: () => abort.abort() })
    await driver.preCreateCheck()
    const e = await rejection(driver.create(journal))
    expect(e.code).toBe('aborted')
    expect(journal.entries().map((x) => x.kind)).toEqual(['security-group', 'key-pair', 'instance'])
    expect(m.actions().slice(-2)).toEqual(['RunInstances', 'DescribeInstances'])

    // The "running" answer was never asked for: the wait stopped at the interrupt.
    expect(m.pending()).toHaveLength(1)
    nock.cleanAll()

    // The caller rolls back with the same driver, whose signal is now aborted.
    arrangeRemoval(m)
    await driver.remove(journal)
    expect(m.actions().slice(-4)).toEqual(['TerminateInstances', 'DescribeInstances', 'DeleteKeyPair', 'DeleteSecurityGroup'])
    expect(journal.entries()).toEqual([])
    expectAllUsed()
  })
})
