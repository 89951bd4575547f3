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
  it('renders a typical configuration byte for byte (pinned)', () => {
    const e = {
      ...defaultEngineOptions(),
      Labels: ['env=prod', 'com.example.tier=web'],
      Env: ['HTTP_PROXY=http://proxy.local:3128', 'NO_PROXY=localhost,127.0.0.1', 'GREETING=hello "big" world'],
      InsecureRegistry: ['registry.local:5000', '10.0.0.0/8'],
      RegistryMirror: ['https://mirror.local'],
      StorageDriver: 'overlay2',
      ArbitraryFlags: ['log-driver=journald', 'experimental', 'dns=8.8.8.8'],
      Dns: ['1.1.1.1'],
      GraphDir: '/var/lib/docker',
      LogLevel: 'info',
      Ipv6: true,
    }
    expect(renderDropIn({ ...base, dockerd: '/usr/bin/dockerd', engine: e })).toBe(
      [
        '# Written by machine (web1). Edit with "machine provision" flags, not by hand:',
        '# the next "machine provision" or "regenerate-certs" rewrites this file.',
        '[Service]',
        'ExecStart=',
        'ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --storage-driver overlay2 --data-root /var/lib/docker --log-level info --ipv6 --dns 1.1.1.1 --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label env=prod --label com.example.tier=web --label provider=generic --insecure-registry registry.local:5000 --insecure-registry 10.0.0.0/8 --registry-mirror https://mirror.local --log-driver journald --experimental --dns 8.8.8.8',
        'Environment=HTTP_PROXY=http://proxy.local:3128',
        'Environment=NO_PROXY=localhost,127.0.0.1',
        'Environment="GREETING=hello \\"big\\" world"',
        '',
      ].join('\n'),
    )
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
