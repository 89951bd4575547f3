import { describe, expect, it } from 'vitest'
import { defaultEngineOptions } from '../../src/core/host-config.js'
import { dockerdArgs, renderDropIn, renderTemplate, systemdQuote } from '../../src/provision/engine-config.js'

const base = { machineName: 'web1', driverName: 'generic', dockerd: '/usr/sbin/dockerd', port: 2376 }

describe('engine configuration (systemd drop-in)', () => {
  it('renders the TLS ExecStart with docker-machine flags in order', () => {
    const text = renderDropIn({ ...base, engine: defaultEngineOptions() })
    const lines = text.split('\n')
    expect(lines).toContain('[Service]')
    expect(lines).toContain('ExecStart=')
    expect(lines).toContain(
      'ExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label provider=generic',
    )
    expect(text).not.toContain('{{')
  })
  it('adds labels, registries, mirrors, storage driver and engine opts', () => {
    const e = {
      ...defaultEngineOptions(),
      Labels: ['env=prod'],
      InsecureRegistry: ['registry.local:5000'],
      RegistryMirror: ['https://mirror.local'],
      StorageDriver: 'overlay2',
      ArbitraryFlags: ['log-driver=journald', 'experimental'],
    }
    const args = dockerdArgs({ ...base, engine: e })
    expect(args.join(' ')).toContain('--storage-driver overlay2')
    expect(args.join(' ')).toContain('--label env=prod --label provider=generic --insecure-registry registry.local:5000 --registry-mirror https://mirror.local --log-driver journald --experimental')
  })
  it('quotes --engine-env values correctly (spaces and quotes survive)', () => {
    const text = renderDropIn({ ...base, engine: { ...defaultEngineOptions(), Env: ['HTTP_PROXY=http://p:3128', 'GREETING=hello "big" world'] } })
    expect(text).toContain('Environment=HTTP_PROXY=http://p:3128\n')
    expect(text).toContain('Environment="GREETING=hello \\"big\\" world"\n')
  })
  it('escapes systemd specifiers and backslashes', () => {
    expect(systemdQuote('100%')).toBe('100%%')
    expect(systemdQuote('a\\b c')).toBe('"a\\\\b c"')
  })
  it('fails loudly on an unknown placeholder', () => {
    expect(() => renderTemplate('{{nope}}', {})).toThrow(/nope/)
  })
})
