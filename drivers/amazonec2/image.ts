/** Picking the default image: Canonical's newest Ubuntu 24.04 LTS server AMI for an architecture. */

export const CANONICAL_OWNER = '099720109477'
export type Arch = 'x86_64' | 'arm64'

/** Canonical's AMI names, e.g. ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250305. */
export const ubuntuNamePattern = (arch: Arch): string =>
  `ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-${arch === 'arm64' ? 'arm64' : 'amd64'}-server-*`

export function ubuntuImageQuery(arch: Arch) {
  return {
    Owners: [CANONICAL_OWNER],
    Filters: [
      { Name: 'name', Values: [ubuntuNamePattern(arch)] },
      { Name: 'architecture', Values: [arch] },
      { Name: 'state', Values: ['available'] },
      { Name: 'root-device-type', Values: ['ebs'] },
      { Name: 'virtualization-type', Values: ['hvm'] },
    ],
  }
}

/** The newest image by CreationDate (ISO 8601 strings sort as dates). */
export function newestImage<T extends { CreationDate?: string; ImageId?: string }>(images: readonly T[]): T | undefined {
  return [...images].filter((i) => i.ImageId).sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0]
}

/**
 * Architecture of an instance type: from DescribeInstanceTypes when we have it, else from AWS's
 * naming convention (a "g" right after the generation digit means Graviton: t4g, m7g, c6gn; a1).
 */
export function architectureOf(type: string, supported?: readonly string[]): Arch {
  if (supported?.length) {
    if (supported.includes('x86_64')) return 'x86_64'
    if (supported.includes('arm64')) return 'arm64'
  }
  const family = type.split('.')[0] ?? ''
  return /^[a-z]+\d+g/.test(family) || family === 'a1' ? 'arm64' : 'x86_64'
}
