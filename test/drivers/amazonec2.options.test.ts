/**
 * amazonec2 options as a user gives them (flags and env vars, docker-machine's names) and what
 * each one changes in the EC2 requests. nock answers; every interceptor must be used.
 */
import { storeMarker } from '../../src/driver-kit/store-marker.js'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nock from 'nock'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { MachineError } from '../../src/core/errors.js'
import { flagName, resolveOptions } from '../../src/driver-kit/options.js'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { loadSsh2 } from '../../src/driver-kit/ssh2-module.js'
import { Ec2Mock, filtersOf, listOf, tagSpecOf } from './fixtures/amazonec2/ec2-mock.js'
import { xml } from './fixtures/amazonec2/ec2-xml.js'
import { arrangeLookups, byInstance, definition, IDS, instance, makeTestDriver, PRIVATE_IP, PUBLIC_IP, type TestCtx } from './fixtures/amazonec2/scenarios.js'
import { expectMockDone } from '../helpers/cloud-mock.js'
import { tempDir } from '../helpers/tmp.js'

let m: Ec2Mock
let t: TestCtx | undefined
let dir = ''

beforeAll(() => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
})
beforeEach(async () => {
  m = new Ec2Mock()
  dir = await tempDir('amazonec2-opts-')
})
afterEach(async () => {
  m.dispose()
  await t?.cleanup()
  t = undefined
})

const expectAllUsed = () => expectMockDone(m)

/** The rest of a create after the look-ups, for a machine whose groups already exist and allow 22 + 2376. */
function arrangeLaunch(mock: Ec2Mock, o: { importKey?: boolean; running?: Parameters<typeof instance>[0] } = {}) {
  mock.on('DescribeSecurityGroups', xml.describeSecurityGroups([{ id: IDS.sg, name: 'docker-machine', rules: [['tcp', 22, 22], ['tcp', 2376, 2376]] }]))
  if (o.importKey !== false) mock.on('ImportKeyPair', (p) => xml.importKeyPair(p.KeyName ?? ''))
  mock
    .on('RunInstances', xml.runInstances(instance({ state: 'pending', publicIp: undefined })))
    .on('DescribeInstances', xml.describeInstances([instance({ state: 'running', ...o.running })]), byInstance(IDS.instance))
}

async function create(flags: Record<string, unknown>, arrange: (mock: Ec2Mock) => void) {
  t = await makeTestDriver(flags)
  arrange(m)
  const journal = new MemoryJournal()
  await t.driver.preCreateCheck()
  await t.driver.create(journal)
  expectAllUsed()
  return journal
}

const ingressPorts = (p: Record<string, string>) =>
  Object.keys(p)
    .filter((k) => /^IpPermissions\.\d+\.IpProtocol$/.test(k))
    .map((k) => {
      const n = k.split('.')[1]
      return `${p[`IpPermissions.${n}.FromPort`]}/${p[k]}`
    })

describe('amazonec2 option declarations', () => {
  it('uses docker-machine\'s flag names and env vars', () => {
    const byFlag = Object.fromEntries(definition.options.map((o) => [flagName('amazonec2', o), o.env ?? []]))
    expect(byFlag).toMatchObject({
      'amazonec2-access-key': ['AWS_ACCESS_KEY_ID'],
      'amazonec2-secret-key': ['AWS_SECRET_ACCESS_KEY'],
      'amazonec2-session-token': ['AWS_SESSION_TOKEN'],
      'amazonec2-region': ['AWS_DEFAULT_REGION', 'AWS_REGION'],
      'amazonec2-zone': ['AWS_ZONE'],
      'amazonec2-ami': ['AWS_AMI'],
      'amazonec2-instance-type': ['AWS_INSTANCE_TYPE'],
      'amazonec2-root-size': ['AWS_ROOT_SIZE'],
      'amazonec2-volume-type': ['AWS_VOLUME_TYPE'],
      'amazonec2-vpc-id': ['AWS_VPC_ID'],
      'amazonec2-subnet-id': ['AWS_SUBNET_ID'],
      'amazonec2-security-group': ['AWS_SECURITY_GROUP'],
      'amazonec2-keypair-name': ['AWS_KEYPAIR_NAME'],
      'amazonec2-ssh-keypath': ['AWS_SSH_KEYPATH'],
      'amazonec2-ssh-user': ['AWS_SSH_USER'],
      'amazonec2-tags': ['AWS_TAGS'],
      'amazonec2-userdata': ['AWS_USERDATA'],
      'amazonec2-iam-instance-profile': ['AWS_INSTANCE_PROFILE'],
      'amazonec2-endpoint': ['AWS_ENDPOINT'],
    })
    for (const f of ['request-spot-instance', 'spot-price', 'private-address-only', 'use-private-address', 'monitoring', 'use-ebs-optimized-instance', 'open-port', 'retries']) {
      expect(Object.keys(byFlag)).toContain(`amazonec2-${f}`)
    }
  })

  it('marks the keys secret, so they are never part of the saved config', () => {
    const r = resolveOptions('amazonec2', definition.options, {}, {
      AWS_ACCESS_KEY_ID: 'AKIDFROMENV',
      AWS_SECRET_ACCESS_KEY: 'secret-from-env',
      AWS_SESSION_TOKEN: 'token-from-env',
      AWS_DEFAULT_REGION: 'ap-southeast-2',
    })
    expect(r.values).toMatchObject({ accessKey: 'AKIDFROMENV', region: 'ap-southeast-2' })
    expect(JSON.stringify(r.config)).not.toMatch(/AKIDFROMENV|secret-from-env|token-from-env/)
    expect(r.config).toMatchObject({ Region: 'ap-southeast-2', InstanceType: 't3.micro', RootSize: 16, VolumeType: 'gp3', SecurityGroupNames: ['docker-machine'], HttpTokens: 'required' })
  })

  it('rejects bad values with the flag name', () => {
    const bad = (flags: Record<string, unknown>) => {
      try {
        resolveOptions('amazonec2', definition.options, flags, {})
      } catch (e) {
        return (e as MachineError).line
      }
      return 'accepted'
    }
    expect(bad({ 'amazonec2-tags': 'team,web,odd' })).toBe('--amazonec2-tags: must be key,value pairs such as "team,web,env,dev"')
    expect(bad({ 'amazonec2-open-port': ['80/icmp'] })).toBe('--amazonec2-open-port: "80/icmp" is not a port such as 8080 or 8080/tcp or 53/udp')
    expect(bad({ 'amazonec2-zone': 'eu-west-1a' })).toBe('--amazonec2-zone: must be a single letter such as a, b or c')
    expect(bad({ 'amazonec2-http-tokens': 'maybe' })).toBe('--amazonec2-http-tokens must be one of required, optional, got "maybe"')
    expect(bad({ 'amazonec2-root-size': 0 })).toBe('--amazonec2-root-size: the size must be greater than 0')
  })
})

describe('amazonec2 options in requests', () => {
  it('AWS_DEFAULT_REGION picks the region (and its endpoint)', async () => {
    const sydney = new Ec2Mock('https://ec2.ap-southeast-2.amazonaws.com')
    try {
      t = await makeTestDriver({ 'amazonec2-region': undefined }, { MACHINE_POLL_INTERVAL_MS: '2', AWS_DEFAULT_REGION: 'ap-southeast-2' })
      t.ctx.config.InstanceId = IDS.instance
      sydney.on('DescribeInstances', xml.describeInstances([instance()]))
      expect(await t.driver.state()).toBe('Running')
      expect(sydney.calls[0]?.headers.authorization).toMatch(/\/ap-southeast-2\/ec2\/aws4_request/)
      expect(t.ctx.config.Region).toBe('ap-southeast-2')
      expectAllUsed()
    } finally {
      sydney.dispose()
    }
  })

  it('a Graviton type gets the arm64 Ubuntu image', async () => {
    await create({ 'amazonec2-instance-type': 't4g.small' }, (mock) => {
      arrangeLookups(mock, { type: 't4g.small', arch: 'arm64' })
      arrangeLaunch(mock)
    })
    expect(filtersOf(m.params('DescribeImages'))).toMatchObject({
      name: ['ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-arm64-server-*'],
      architecture: ['arm64'],
    })
    expect(m.params('RunInstances')).toMatchObject({ ImageId: IDS.armAmi, InstanceType: 't4g.small' })
  })

  it('an existing group gets only the missing rule, and is not journaled', async () => {
    const journal = await create({}, (mock) => {
      arrangeLookups(mock)
      mock
        .on('DescribeSecurityGroups', xml.describeSecurityGroups([{ id: IDS.sg, name: 'docker-machine', rules: [['tcp', 22, 22]] }]))
        .on('AuthorizeSecurityGroupIngress', xml.authorizeSecurityGroupIngress(IDS.sg, 1), (p) => p.GroupId === IDS.sg)
        .on('ImportKeyPair', (p) => xml.importKeyPair(p.KeyName ?? ''))
        .on('RunInstances', xml.runInstances(instance({ state: 'pending' })))
        .on('DescribeInstances', xml.describeInstances([instance()]))
    })
    expect(ingressPorts(m.params('AuthorizeSecurityGroupIngress'))).toEqual(['2376/tcp'])
    expect(journal.entries().map((e) => e.kind)).toEqual(['key-pair', 'instance'])
    expect(t!.ctx.config.SecurityGroupIds).toEqual([IDS.sg])
  })

  it('--amazonec2-security-group-readonly never changes an existing group', async () => {
    await create({ 'amazonec2-security-group-readonly': true }, (mock) => {
      arrangeLookups(mock)
      mock
        .on('DescribeSecurityGroups', xml.describeSecurityGroups([{ id: IDS.sg, name: 'docker-machine', rules: [] }]))
        .on('ImportKeyPair', (p) => xml.importKeyPair(p.KeyName ?? ''))
        .on('RunInstances', xml.runInstances(instance({ state: 'pending' })))
        .on('DescribeInstances', xml.describeInstances([instance()]))
    })
    expect(m.actions()).not.toContain('AuthorizeSecurityGroupIngress')
  })

  it('--amazonec2-open-port adds exactly those ports to a new group', async () => {
    await create({ 'amazonec2-open-port': ['8080', '53/udp', '2376'], 'amazonec2-security-group': ['web'] }, (mock) => {
      arrangeLookups(mock)
      mock
        .on('DescribeSecurityGroups', xml.describeSecurityGroups([]), (p) => filtersOf(p)['group-name']?.join() === 'web')
        .on('CreateSecurityGroup', xml.createSecurityGroup(IDS.sg), (p) => p.GroupName === 'web')
        .on('AuthorizeSecurityGroupIngress', xml.authorizeSecurityGroupIngress(IDS.sg, 4))
        .on('ImportKeyPair', (p) => xml.importKeyPair(p.KeyName ?? ''))
        .on('RunInstances', xml.runInstances(instance({ state: 'pending' })))
        .on('DescribeInstances', xml.describeInstances([instance()]))
    })
    expect(ingressPorts(m.params('AuthorizeSecurityGroupIngress'))).toEqual(['22/tcp', '2376/tcp', '8080/tcp', '53/udp'])
  })

  it('--amazonec2-private-address-only: no public IP asked for, the private one is used', async () => {
    await create({ 'amazonec2-private-address-only': true }, (mock) => {
      arrangeLookups(mock)
      arrangeLaunch(mock, { running: { publicIp: undefined } })
    })
    expect(m.params('RunInstances')['NetworkInterface.1.AssociatePublicIpAddress']).toBe('false')
    expect(t!.ctx.config.IPAddress).toBe(PRIVATE_IP)
  })

  it('--amazonec2-request-spot-instance with --amazonec2-spot-price launches a one-time spot instance', async () => {
    await create({ 'amazonec2-request-spot-instance': true, 'amazonec2-spot-price': '0.02' }, (mock) => {
      arrangeLookups(mock)
      arrangeLaunch(mock)
    })
    const run = m.params('RunInstances')
    expect(run).toMatchObject({
      'InstanceMarketOptions.MarketType': 'spot',
      'InstanceMarketOptions.SpotOptions.MaxPrice': '0.02',
      'InstanceMarketOptions.SpotOptions.SpotInstanceType': 'one-time',
      'InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior': 'terminate',
    })
    expect(tagSpecOf(run, 4).type).toBe('spot-instances-request')
  })

  it('root disk, monitoring, EBS optimisation, IAM profile, IMDS and tags reach RunInstances', async () => {
    await create(
      {
        'amazonec2-root-size': 40,
        'amazonec2-volume-type': 'io2',
        'amazonec2-device-name': '/dev/xvda',
        'amazonec2-monitoring': true,
        'amazonec2-use-ebs-optimized-instance': true,
        'amazonec2-iam-instance-profile': 'arn:aws:iam::111122223333:instance-profile/docker-host',
        'amazonec2-http-tokens': 'optional',
        'amazonec2-tags': 'team,web,Name,ignored',
      },
      (mock) => {
        arrangeLookups(mock)
        arrangeLaunch(mock)
      },
    )
    const run = m.params('RunInstances')
    expect(run).toMatchObject({
      'BlockDeviceMapping.1.DeviceName': '/dev/xvda',
      'BlockDeviceMapping.1.Ebs.VolumeSize': '40',
      'BlockDeviceMapping.1.Ebs.VolumeType': 'io2',
      'Monitoring.Enabled': 'true',
      EbsOptimized: 'true',
      'IamInstanceProfile.Arn': 'arn:aws:iam::111122223333:instance-profile/docker-host',
      'MetadataOptions.HttpTokens': 'optional',
    })
    // The user's tags are added; Name and machine-id stay ours.
    expect(tagSpecOf(run, 1).tags).toEqual({ team: 'web', Name: 'web1', 'machine-id': t!.ctx.config.MachineId, 'machine-store': storeMarker(t!.ctx.storePath) })
  })

  it('an IAM profile given by name goes in IamInstanceProfile.Name', async () => {
    await create({ 'amazonec2-iam-instance-profile': 'docker-host' }, (mock) => {
      arrangeLookups(mock)
      arrangeLaunch(mock)
    })
    expect(m.params('RunInstances')['IamInstanceProfile.Name']).toBe('docker-host')
  })

  it('--amazonec2-keypair-name with --amazonec2-ssh-keypath: no key import, that key is used', async () => {
    const key = (await loadSsh2()).utils.generateKeyPairSync('ed25519', { comment: 'team' })
    const keyPath = join(dir, 'team_ed25519')
    await writeFile(keyPath, key.private, { mode: 0o600 })
    const journal = await create({ 'amazonec2-keypair-name': 'team-key', 'amazonec2-ssh-keypath': keyPath }, (mock) => {
      arrangeLookups(mock)
      arrangeLaunch(mock, { importKey: false })
    })
    expect(m.params('RunInstances').KeyName).toBe('team-key')
    expect(t!.ctx.config).toMatchObject({ KeyName: 'team-key', SSHKeyPath: keyPath })
    expect(journal.entries().map((e) => e.kind)).toEqual(['instance'])
    // The login user gets that key's public half (derived: there is no .pub file).
    const userData = Buffer.from(m.params('RunInstances').UserData ?? '', 'base64').toString()
    const derived = key.public.split(' ').slice(0, 2).join(' ')
    expect(userData).toContain(derived)
  })

  it('--amazonec2-ssh-keypath alone imports that key\'s .pub as the key pair', async () => {
    const key = (await loadSsh2()).utils.generateKeyPairSync('rsa', { bits: 2048, comment: 'mine' })
    const keyPath = join(dir, 'id_mine')
    await writeFile(keyPath, key.private, { mode: 0o600 })
    await writeFile(`${keyPath}.pub`, `${key.public}\n`)
    await create({ 'amazonec2-ssh-keypath': keyPath }, (mock) => {
      arrangeLookups(mock)
      arrangeLaunch(mock)
    })
    expect(Buffer.from(m.params('ImportKeyPair').PublicKeyMaterial ?? '', 'base64').toString()).toBe(key.public.trim())
    expect(t!.ctx.config.SSHKeyPath).toBe(keyPath)
  })

  it('--amazonec2-keypair-name without --amazonec2-ssh-keypath fails before any call', async () => {
    t = await makeTestDriver({ 'amazonec2-keypair-name': 'team-key' })
    await expect(t.driver.preCreateCheck()).rejects.toThrow('--amazonec2-keypair-name needs --amazonec2-ssh-keypath')
    expectAllUsed()
    expect(m.calls).toEqual([])
  })

  it('--amazonec2-subnet-id: its VPC and zone are used, no default-VPC look-up', async () => {
    await create({ 'amazonec2-subnet-id': IDS.otherSubnet }, (mock) => {
      mock
        .on('DescribeInstanceTypes', xml.describeInstanceTypes('t3.micro', ['x86_64']))
        .on('DescribeImages', xml.describeImages([{ id: IDS.ami, name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261101', created: '2026-11-01T08:00:00.000Z' }]))
        .on('DescribeSubnets', xml.describeSubnets([{ id: IDS.otherSubnet, vpcId: 'vpc-0ccccccccccccccc3', zone: 'eu-west-1c' }]), (p) => p['SubnetId.1'] === IDS.otherSubnet)
      arrangeLaunch(mock)
    })
    expect(m.actions()).not.toContain('DescribeVpcs')
    expect(filtersOf(m.params('DescribeSecurityGroups'))['vpc-id']).toEqual(['vpc-0ccccccccccccccc3'])
    expect(m.params('RunInstances')).toMatchObject({ 'Placement.AvailabilityZone': 'eu-west-1c', 'NetworkInterface.1.SubnetId': IDS.otherSubnet })
    expect(t!.ctx.config).toMatchObject({ VpcId: 'vpc-0ccccccccccccccc3', SubnetId: IDS.otherSubnet, Zone: 'c' })
  })

  it('--amazonec2-ami is checked and used as given; a wrong architecture is caught early', async () => {
    await create({ 'amazonec2-ami': 'ami-0dddddddddddddd04', 'amazonec2-zone': 'b' }, (mock) => {
      mock
        .on('DescribeInstanceTypes', xml.describeInstanceTypes('t3.micro', ['x86_64']))
        .on('DescribeImages', xml.describeImages([{ id: 'ami-0dddddddddddddd04', name: 'my-docker-image', created: '2024-01-01T00:00:00.000Z', rootDevice: '/dev/xvda' }]), (p) => p['ImageId.1'] === 'ami-0dddddddddddddd04')
        .on('DescribeVpcs', xml.describeVpcs([{ id: IDS.vpc, isDefault: true }]))
        .on('DescribeSubnets', xml.describeSubnets([{ id: IDS.subnet, vpcId: IDS.vpc, zone: 'eu-west-1b', defaultForAz: true }]), (p) => filtersOf(p)['availability-zone']?.[0] === 'eu-west-1b')
      arrangeLaunch(mock)
    })
    expect(listOf(m.params('DescribeImages'), 'Owner')).toEqual([])
    expect(m.params('RunInstances')).toMatchObject({ ImageId: 'ami-0dddddddddddddd04', 'BlockDeviceMapping.1.DeviceName': '/dev/xvda' })

    m.dispose()
    m = new Ec2Mock()
    await t!.cleanup()
    t = await makeTestDriver({ 'amazonec2-ami': 'ami-0eeeeeeeeeeeeee05' })
    m.on('DescribeInstanceTypes', xml.describeInstanceTypes('t3.micro', ['x86_64']))
      .on('DescribeImages', xml.describeImages([{ id: 'ami-0eeeeeeeeeeeeee05', name: 'arm-image', created: '2024-01-01T00:00:00.000Z', arch: 'arm64' }]))
    await expect(t.driver.preCreateCheck()).rejects.toThrow('image ami-0eeeeeeeeeeeeee05 is built for arm64 but t3.micro runs x86_64')
    expectAllUsed()
  })

  it('--amazonec2-userdata (YAML cloud-config) is merged as a MIME part next to ours', async () => {
    const file = join(dir, 'user-data.yaml')
    await writeFile(file, '#cloud-config\npackages:\n  - htop\n')
    await create({ 'amazonec2-userdata': file }, (mock) => {
      arrangeLookups(mock)
      arrangeLaunch(mock)
    })
    const userData = Buffer.from(m.params('RunInstances').UserData ?? '', 'base64').toString()
    expect(userData).toMatch(/^Content-Type: multipart\/mixed; boundary="/)
    expect(userData).toContain('packages:\n  - htop')
    expect(userData).toContain('Merge-Type: list(append)+dict(recurse_array)+str()')
    expect(userData).toContain('"ed25519_private"')
  })

  it('EC2 not yet seeing a just-made group is retried (eventual consistency)', async () => {
    await create({}, (mock) => {
      arrangeLookups(mock)
      mock
        .on('DescribeSecurityGroups', xml.describeSecurityGroups([]))
        .on('CreateSecurityGroup', xml.createSecurityGroup(IDS.sg))
        .fail('AuthorizeSecurityGroupIngress', 400, 'InvalidGroup.NotFound', `The security group '${IDS.sg}' does not exist`)
        .on('AuthorizeSecurityGroupIngress', xml.authorizeSecurityGroupIngress(IDS.sg, 2))
        .on('ImportKeyPair', (p) => xml.importKeyPair(p.KeyName ?? ''))
        .on('RunInstances', xml.runInstances(instance({ state: 'pending' })))
        .on('DescribeInstances', xml.describeInstances([instance()]))
    })
    expect(m.actions().filter((a) => a === 'AuthorizeSecurityGroupIngress')).toHaveLength(2)
    expect(t!.ctx.config.IPAddress).toBe(PUBLIC_IP)
  })

  it('a group made by someone else meanwhile is used, not journaled (never deleted by our rm)', async () => {
    const journal = await create({}, (mock) => {
      arrangeLookups(mock)
      mock
        .on('DescribeSecurityGroups', xml.describeSecurityGroups([]))
        .fail('CreateSecurityGroup', 400, 'InvalidGroup.Duplicate', "The security group 'docker-machine' already exists for VPC 'vpc-0a1b2c3d4e5f60718'")
        .on('DescribeSecurityGroups', xml.describeSecurityGroups([{ id: 'sg-0999999999999999a', name: 'docker-machine', rules: [['tcp', 22, 22], ['tcp', 2376, 2376]] }]))
        .on('ImportKeyPair', (p) => xml.importKeyPair(p.KeyName ?? ''))
        .on('RunInstances', xml.runInstances(instance({ state: 'pending' })))
        .on('DescribeInstances', xml.describeInstances([instance()]))
    })
    expect(journal.entries().map((e) => e.kind)).toEqual(['key-pair', 'instance'])
    expect(m.params('RunInstances')['NetworkInterface.1.SecurityGroupId.1']).toBe('sg-0999999999999999a')
  })
})
