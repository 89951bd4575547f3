import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import qemu from '../../drivers/qemu/index.js'
import { freePorts, isPortFree, reusePorts } from '../../src/driver-kit/ports.js'
import { parseDiskSize, parsePortForward } from '../../drivers/qemu/settings.js'
import { resolveOptions } from '../../src/driver-kit/options.js'

const open: Server[] = []
const listen = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(port, '127.0.0.1', () => {
      open.push(s)
      resolve(s)
    })
  })
afterEach(() => {
  for (const s of open.splice(0)) s.close()
})

describe('port allocation on 127.0.0.1', () => {
  it('returns distinct ports that can then be bound', async () => {
    const ports = await freePorts(3)
    expect(new Set(ports).size).toBe(3)
    for (const p of ports) await listen(p)
  })

  it('skips ports it is told to avoid', async () => {
    const [a] = await freePorts(1)
    const more = await freePorts(5, [a!])
    expect(more).not.toContain(a)
  })

  it('knows a bound port is not free', async () => {
    const s = await listen(0)
    const p = (s.address() as { port: number }).port
    expect(await isPortFree(p)).toBe(false)
    s.close()
    open.pop()
    await new Promise((r) => setTimeout(r, 20))
    expect(await isPortFree(p)).toBe(true)
  })

  it('keeps the old ports when they are free, replaces only the taken one', async () => {
    const [a, b] = await freePorts(2)
    expect(await reusePorts([a!, b!])).toEqual({ ports: [a, b], changed: false })
    await listen(a!)
    const r = await reusePorts([a!, b!])
    expect(r.changed).toBe(true)
    expect(r.ports[0]).not.toBe(a)
    expect(r.ports[1]).toBe(b)
    await listen(r.ports[0]!)
  })
})

describe('qemu option values', () => {
  it('parses disk sizes (suffix or MB)', () => {
    expect(parseDiskSize('20G')).toBe(20 * 2 ** 30)
    expect(parseDiskSize('1.5T')).toBe(1.5 * 2 ** 40)
    expect(parseDiskSize('20480')).toBe(20 * 2 ** 30)
    expect(parseDiskSize('4096M')).toBe(4 * 2 ** 30)
    expect(() => parseDiskSize('big')).toThrow(/not a size/)
    expect(() => parseDiskSize('100M')).toThrow(/too small/)
  })

  it('parses port forwards', () => {
    expect(parsePortForward('8080:80')).toEqual({ proto: 'tcp', host: 8080, guest: 80 })
    expect(parsePortForward('5353:53/udp')).toEqual({ proto: 'udp', host: 5353, guest: 53 })
    expect(() => parsePortForward('80')).toThrow(/not a port forward/)
    expect(() => parsePortForward('70000:80')).toThrow(/host port must be 1-65535/)
  })

  it('declares defaults, env vars and validation once (flags → saved config)', () => {
    const r = resolveOptions('qemu', qemu.options, { 'qemu-cpus': 4, 'qemu-port': ['8080:80'] }, { QEMU_MEMORY: '4096' })
    expect(r.config).toMatchObject({ CPU: 4, Memory: 4096, DiskSize: '20G', Accel: 'auto', SSHUser: 'docker', Ports: ['8080:80'] })
    expect(String(r.config.Image)).toMatch(/^https:\/\/cloud\.debian\.org\/images\/cloud\/bookworm\/latest\/debian-12-genericcloud-(amd64|arm64)\.qcow2$/)
    expect(() => resolveOptions('qemu', qemu.options, { 'qemu-accel': 'xen' }, {})).toThrow(/--qemu-accel must be one of auto, kvm, hvf, whpx, tcg/)
    expect(() => resolveOptions('qemu', qemu.options, { 'qemu-port': ['80'] }, {})).toThrow(/--qemu-port: "80" is not a port forward/)
    expect(() => resolveOptions('qemu', qemu.options, { 'qemu-disk-size': 'lots' }, {})).toThrow(/--qemu-disk-size: "lots" is not a size/)
    expect(() => resolveOptions('qemu', qemu.options, { 'qemu-ssh-user': 'Bad User' }, {})).toThrow(/valid Linux user name/)
  })
})
