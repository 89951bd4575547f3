/**
 * What a create will launch, found before anything is made: instance type → architecture → image,
 * VPC → subnet → zone. Read-only EC2 calls only, so preCreateCheck can run it and a bad flag fails
 * with nothing to roll back.
 */
import type { DriverLogger } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import type { Ec2 } from './client.js'
import { codeOf } from './errors.js'
import { architectureOf, newestImage, ubuntuImageQuery, type Arch } from './image.js'
import type { Amazonec2Options } from './options.js'

export interface Plan {
  arch: Arch
  imageId: string
  rootDevice?: string
  vpcId: string
  subnetId: string
  /** Full zone name, e.g. eu-west-1a. */
  zone: string
}

type PlanOptions = Pick<Amazonec2Options, 'instanceType' | 'region' | 'ami' | 'vpcId' | 'subnetId' | 'zone'>

export async function resolvePlan(api: Ec2, o: PlanOptions, log: DriverLogger): Promise<Plan> {
  const { arch, supported } = await architectureFor(api, o, log)
  const image = await imageFor(api, o, arch, supported, log)
  const net = await networkFor(api, o)
  return { arch, ...image, ...net }
}

/** The instance type's architecture. Validates the credentials too: an AuthFailure surfaces here. */
async function architectureFor(api: Ec2, o: PlanOptions, log: DriverLogger): Promise<{ arch: Arch; supported?: string[] }> {
  let supported: string[] | undefined
  try {
    const info = await api.describeInstanceType(o.instanceType)
    if (!info) {
      throw new MachineError('aws-not-found', `instance type ${o.instanceType} is not offered in ${o.region}`, {
        hint: 'pick another --amazonec2-instance-type or --amazonec2-region',
      })
    }
    supported = info.ProcessorInfo?.SupportedArchitectures
  } catch (e) {
    // EC2-compatible endpoints may lack DescribeInstanceTypes: fall back to the type's name.
    if (!['InvalidAction', 'UnsupportedOperation', 'NotImplemented', 'UnknownOperationException'].includes(codeOf(e) ?? '')) throw e
    log.debug(`DescribeInstanceTypes is not available (${codeOf(e)}); guessing the architecture from the type name`)
  }
  return { arch: architectureOf(o.instanceType, supported), supported }
}

/** --amazonec2-ami, checked against the type's architecture; else the newest Ubuntu 24.04 image. */
async function imageFor(api: Ec2, o: PlanOptions, arch: Arch, supported: string[] | undefined, log: DriverLogger): Promise<{ imageId: string; rootDevice?: string }> {
  if (o.ami) {
    const img = (await api.describeImages({ ImageIds: [o.ami] }))[0]
    if (!img?.ImageId) {
      throw new MachineError('aws-not-found', `image ${o.ami} does not exist in ${o.region}`, { hint: 'check --amazonec2-ami and --amazonec2-region' })
    }
    const imgArch = img.Architecture
    if (imgArch && supported?.length && !supported.includes(imgArch)) {
      throw new MachineError('invalid-option', `image ${o.ami} is built for ${imgArch} but ${o.instanceType} runs ${supported.join('/')}`, {
        hint: 'pick an image and an instance type of the same architecture',
      })
    }
    return { imageId: img.ImageId, rootDevice: img.RootDeviceName }
  }
  const img = newestImage(await api.describeImages(ubuntuImageQuery(arch)))
  if (!img?.ImageId) {
    throw new MachineError('aws-not-found', `no Ubuntu 24.04 ${arch} image from Canonical found in ${o.region}`, {
      hint: 'pass an image id with --amazonec2-ami',
    })
  }
  log.debug(`Using ${img.ImageId} (${img.Name ?? 'unnamed'})`)
  return { imageId: img.ImageId, rootDevice: img.RootDeviceName }
}

/** --amazonec2-subnet-id (and its VPC and zone), else the VPC's (default VPC's) subnet in the zone. */
async function networkFor(api: Ec2, o: PlanOptions): Promise<{ vpcId: string; subnetId: string; zone: string }> {
  let vpcId = o.vpcId
  let zone = `${o.region}${o.zone}`
  if (o.subnetId) {
    const sub = (await api.describeSubnets({ SubnetIds: [o.subnetId] }))[0]
    if (!sub?.VpcId) throw new MachineError('aws-not-found', `subnet ${o.subnetId} does not exist in ${o.region}`)
    if (vpcId && sub.VpcId !== vpcId) {
      throw new MachineError('invalid-option', `subnet ${o.subnetId} is in ${sub.VpcId}, not in --amazonec2-vpc-id ${vpcId}`)
    }
    return { vpcId: sub.VpcId, subnetId: o.subnetId, zone: sub.AvailabilityZone ?? zone }
  }
  if (!vpcId) {
    vpcId = (await api.describeVpcs([{ Name: 'is-default', Values: ['true'] }]))[0]?.VpcId
    if (!vpcId) {
      throw new MachineError('aws-no-default-vpc', `region ${o.region} has no default VPC`, {
        hint: 'pass --amazonec2-vpc-id and --amazonec2-subnet-id',
      })
    }
  }
  const subnets = await api.describeSubnets({
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
  return { vpcId, subnetId: sub.SubnetId, zone }
}
