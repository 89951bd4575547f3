import { describe, expect, it } from 'vitest'
import { defaultSwarmOptions, type HostConfig } from '../../src/core/host-config.js'
import type { Driver } from '../../src/driver-kit/contract.js'
import type { OpenMachine } from '../../src/services/machine.js'
import { certNames } from '../../src/services/provision.js'
import { chooseAdvertiseAddress, stripPort } from '../../src/services/swarm-address.js'

const machine = (driver: Partial<Driver>, swarmAddr = ''): OpenMachine =>
  ({
    host: { Name: 'n1', HostOptions: { SwarmOptions: { ...defaultSwarmOptions(), Address: swarmAddr }, AuthOptions: { ServerCertSANs: ['san.example'] } } } as unknown as HostConfig,
    driver: driver as Driver,
  }) as OpenMachine

describe('advertise address choice', () => {
  it('takes --swarm-addr first, then the driver’s cluster address, then its IP (port dropped)', async () => {
    const d = { ip: async () => '203.0.113.5', clusterAddress: async () => '10.128.0.7' }
    expect(await chooseAdvertiseAddress(machine(d, '192.0.2.9:2377'), true)).toEqual({ address: '192.0.2.9', source: 'swarm-addr' })
    expect(await chooseAdvertiseAddress(machine(d), true)).toEqual({ address: '10.128.0.7', source: 'cluster-address' })
    expect(await chooseAdvertiseAddress(machine({ ip: async () => '203.0.113.5', clusterAddress: async () => undefined }), true)).toEqual({ address: '203.0.113.5', source: 'ip' })
    // The none driver's ip() is host:port.
    expect(await chooseAdvertiseAddress(machine({ ip: async () => '127.0.0.1:23760' }), false)).toEqual({ address: '127.0.0.1', source: 'ip' })
    expect(stripPort('[fd00::5]:2376')).toBe('fd00::5')
    expect(stripPort('fd00::5')).toBe('fd00::5')
  })

  it('never advertises QEMU’s NAT address, nor a port forward of a host reached over SSH', async () => {
    await expect(chooseAdvertiseAddress(machine({ ip: async () => '127.0.0.1', clusterAddress: async () => '10.0.2.15' }), true)).rejects.toThrow(
      'Machine "n1" has only 10.0.2.15, the NAT address every QEMU VM has alike, to advertise to a swarm',
    )
    const fwd = await chooseAdvertiseAddress(machine({ ip: async () => '127.0.0.1' }), true).catch((e: unknown) => e)
    expect((fwd as Error).message).toBe('Machine "n1" is reached at 127.0.0.1 through a port forward, which is no address other machines can reach')
    // Given explicitly, it is the user's choice.
    expect((await chooseAdvertiseAddress(machine({ ip: async () => '127.0.0.1' }, '127.0.0.1'), true)).address).toBe('127.0.0.1')
  })

  it('the server certificate covers the cluster address and --swarm-addr', async () => {
    expect(await certNames(machine({ ip: async () => '127.0.0.1', clusterAddress: async () => '10.210.0.2' }, '192.0.2.9'))).toEqual(['127.0.0.1', 'localhost', 'n1', 'san.example', '10.210.0.2', '192.0.2.9'])
    expect(await certNames(machine({ ip: async () => '203.0.113.5' }))).toEqual(['203.0.113.5', 'localhost', 'n1', 'san.example'])
  })
})
