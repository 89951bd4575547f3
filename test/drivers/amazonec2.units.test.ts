/** The amazonec2 driver's pure parts: image choice, firewall rules, retry back-off (user-data merging is the kit's: test/unit/cloud-init.test.ts). */
import { describe, expect, it } from 'vitest'
import { missingRules, neededRules } from '../../drivers/amazonec2/firewall.js'
import { architectureOf, newestImage } from '../../drivers/amazonec2/image.js'
import { backoffRetryStrategy } from '../../drivers/amazonec2/retry.js'
import { parseTags } from '../../drivers/amazonec2/options.js'
import { mapState } from '../../drivers/amazonec2/driver.js'

describe('image choice', () => {
  it('takes the architecture from DescribeInstanceTypes, else from the type name', () => {
    expect(architectureOf('t3.micro', ['x86_64'])).toBe('x86_64')
    expect(architectureOf('m7g.large', ['arm64'])).toBe('arm64')
    expect(architectureOf('t2.micro', ['i386', 'x86_64'])).toBe('x86_64')
    for (const arm of ['t4g.nano', 'c6gn.large', 'x2gd.xlarge', 'im4gn.large', 'a1.medium', 'r8g.large']) expect(architectureOf(arm), arm).toBe('arm64')
    for (const x86 of ['t3.micro', 'g5.xlarge', 'm7i-flex.large', 'c7a.large']) expect(architectureOf(x86), x86).toBe('x86_64')
  })

  it('picks the newest image', () => {
    const imgs = [
      { ImageId: 'ami-1', CreationDate: '2025-03-01T00:00:00.000Z' },
      { ImageId: 'ami-3', CreationDate: '2026-10-01T00:00:00.000Z' },
      { ImageId: 'ami-2', CreationDate: '2026-01-01T00:00:00.000Z' },
    ]
    expect(newestImage(imgs)?.ImageId).toBe('ami-3')
    expect(newestImage([])).toBeUndefined()
  })
})

describe('firewall rules', () => {
  it('needs SSH, the engine port and the open ports, without duplicates', () => {
    expect(neededRules(22, ['8080', '2376/tcp', '53/udp'])).toEqual([
      { protocol: 'tcp', port: 22 },
      { protocol: 'tcp', port: 2376 },
      { protocol: 'tcp', port: 8080 },
      { protocol: 'udp', port: 53 },
    ])
  })

  it('counts a port as open when any rule covers it (ranges and all-traffic too)', () => {
    const needed = neededRules(22, ['8080'])
    expect(missingRules(needed, [{ IpProtocol: 'tcp', FromPort: 0, ToPort: 2400 }])).toEqual([{ protocol: 'tcp', port: 8080 }])
    expect(missingRules(needed, [{ IpProtocol: '-1' }])).toEqual([])
    expect(missingRules(needed, [{ IpProtocol: 'udp', FromPort: 22, ToPort: 22 }])).toHaveLength(3)
  })
})

describe('tags and states', () => {
  it('parses docker-machine tag pairs', () => {
    expect(parseTags('team,web, env , dev')).toEqual({ team: 'web', env: 'dev' })
    expect(parseTags(undefined)).toEqual({})
  })

  it('maps every EC2 state', () => {
    expect(['pending', 'running', 'stopping', 'shutting-down', 'stopped', 'terminated', undefined].map(mapState)).toEqual([
      'Starting',
      'Running',
      'Stopping',
      'Stopping',
      'Stopped',
      'Error',
      'Error',
    ])
  })
})

describe('retry back-off', () => {
  const s = backoffRetryStrategy(3, 100, () => 1)

  it('retries throttling with growing delays, up to the limit', async () => {
    let tok = await s.acquireInitialRetryToken('')
    const delays: number[] = []
    for (let i = 0; i < 3; i++) {
      tok = await s.refreshRetryTokenForRetry(tok, { errorType: 'THROTTLING', error: { name: 'RequestLimitExceeded' } })
      delays.push(tok.getRetryDelay())
    }
    expect(delays).toEqual([400, 800, 1600])
    await expect(s.refreshRetryTokenForRetry(tok, { errorType: 'THROTTLING', error: { name: 'RequestLimitExceeded' } })).rejects.toThrow()
  })

  it('does not retry client errors or capacity shortages', async () => {
    const tok = await s.acquireInitialRetryToken('')
    await expect(s.refreshRetryTokenForRetry(tok, { errorType: 'CLIENT_ERROR', error: { name: 'InvalidParameterValue' } })).rejects.toThrow()
    await expect(s.refreshRetryTokenForRetry(tok, { errorType: 'TRANSIENT', error: { name: 'InsufficientInstanceCapacity' } })).rejects.toThrow()
    expect((await s.refreshRetryTokenForRetry(tok, { errorType: 'TRANSIENT', error: { name: 'InternalError' } })).getRetryDelay()).toBe(100)
  })
})
