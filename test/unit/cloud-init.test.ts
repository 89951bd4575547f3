/** The kit's user-data merger: our cloud-config together with a user's own file, as the clouds send it. */
import { describe, expect, it } from 'vitest'
import { CLOUD_CONFIG_MERGE_TYPE, composeUserData } from '../../src/driver-kit/cloud-init.js'

const ours = {
  user: 'ubuntu',
  authorizedKey: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 machine',
  hostname: 'web1',
  hostKey: { privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH web1-host' },
}
/** EC2's limit, as the amazonec2 driver passes it. */
const EC2 = { flag: '--amazonec2-userdata', maxBytes: 16 * 1024, provider: 'EC2' }
const AZURE = { flag: '--azure-custom-data', maxBytes: 65535, provider: 'Azure' }

/** The parts of a multipart user data, each as its header text and body. */
function partsOf(d: string): { head: string; body: string }[] {
  const boundary = /boundary="([^"]+)"/.exec(d)?.[1]
  expect(boundary).toBeTruthy()
  expect(d.trimEnd().endsWith(`--${boundary}--`)).toBe(true)
  return d
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((p) => {
      const [head = '', ...rest] = p.replace(/^\n/, '').split('\n\n')
      // The line break before the next boundary belongs to that boundary.
      return { head, body: rest.join('\n\n').replace(/\n$/, '') }
    })
}

describe('composeUserData', () => {
  it('without user data: our cloud-config alone', () => {
    const d = composeUserData(ours, undefined, EC2)
    expect(d.startsWith('#cloud-config\n')).toBe(true)
    const cfg = JSON.parse(d.slice(14)) as Record<string, unknown>
    expect(cfg).toMatchObject({ hostname: 'web1', ssh_pwauth: false, ssh_keys: { ed25519_public: ours.hostKey.publicKey } })
    expect(composeUserData(ours, '  \n', EC2)).toBe(d)
  })

  it('JSON cloud-config is merged into one document; our login user and host key stay', () => {
    const d = composeUserData(ours, '#cloud-config\n{"packages": ["htop"], "users": [{"name": "intruder"}], "runcmd": [["touch", "/x"]]}', EC2)
    const cfg = JSON.parse(d.slice(14)) as { packages: string[]; users: { name: string }[]; runcmd: string[][] }
    expect(cfg.packages).toEqual(['htop'])
    expect(cfg.runcmd).toEqual([['touch', '/x']])
    expect(cfg.users.map((u) => u.name)).toEqual(['ubuntu'])
  })

  it('JSON without the #cloud-config line is merged key by key too', () => {
    const d = composeUserData(ours, JSON.stringify({ packages: ['htop'], users: [{ name: 'intruder' }] }), AZURE)
    const cfg = JSON.parse(d.slice(14)) as { packages: string[]; users: { name: string }[] }
    expect(cfg.packages).toEqual(['htop'])
    expect(cfg.users.map((u) => u.name)).toEqual(['ubuntu'])
  })

  it('YAML cloud-config goes first and ours follows with a Merge-Type, so our keys win and lists are appended', () => {
    const d = composeUserData(ours, '#cloud-config\npackages:\n  - htop\n', AZURE)
    expect(d).toMatch(/^Content-Type: multipart\/mixed; boundary="/)
    const parts = partsOf(d)
    expect(parts).toHaveLength(2)
    expect(parts[0]!.head).toContain('Content-Type: text/cloud-config')
    expect(parts[0]!.body).toBe('#cloud-config\npackages:\n  - htop')
    expect(parts[0]!.head).not.toContain('Merge-Type')
    expect(parts[1]!.head).toContain(`Merge-Type: ${CLOUD_CONFIG_MERGE_TYPE}`)
    expect(CLOUD_CONFIG_MERGE_TYPE).toBe('list(append)+dict(recurse_array)+str()')
    // Ours is a cloud-config part whose body is our JSON document.
    const user = d.indexOf('packages:\n  - htop')
    const mine = d.indexOf('Content-Type: text/cloud-config; charset="utf-8"\nMIME-Version: 1.0\n\n#cloud-config\n{')
    expect(user).toBeGreaterThan(0)
    expect(mine).toBeGreaterThan(user)
    expect(JSON.parse(parts[1]!.body.slice(14))).toMatchObject({ hostname: 'web1' })
  })

  it('a shell script becomes a second MIME part after ours', () => {
    const d = composeUserData(ours, '#!/bin/sh\necho hello > /tmp/hello\n', EC2)
    const boundary = /boundary="([^"]+)"/.exec(d)?.[1]
    expect(boundary).toBeTruthy()
    const parts = d.split(`--${boundary}`).slice(1, -1)
    expect(parts).toHaveLength(2)
    expect(parts[0]).toContain('Content-Type: text/cloud-config')
    expect(parts[0]).toContain('#cloud-config')
    expect(parts[1]).toContain('Content-Type: text/x-shellscript')
    expect(parts[1]).toContain('echo hello > /tmp/hello')
    expect(d.trimEnd().endsWith(`--${boundary}--`)).toBe(true)
  })

  it('#include and #cloud-boothook files become parts of their own type (Windows line ends and a BOM are fine)', () => {
    const inc = partsOf(composeUserData(ours, '\uFEFF#include\r\nhttps://example.invalid/setup.sh\r\n', AZURE))
    expect(inc.map((p) => /Content-Type: (\S+);/.exec(p.head)?.[1])).toEqual(['text/cloud-config', 'text/x-include-url'])
    expect(inc[1]!.body).toBe('#include\nhttps://example.invalid/setup.sh')
    const hook = partsOf(composeUserData(ours, '#cloud-boothook\necho early\n', EC2))
    expect(hook[1]!.head).toContain('Content-Type: text/cloud-boothook')
  })

  it('rejects text cloud-init cannot use, and data over the cloud\'s limit, naming the flag', () => {
    expect(() => composeUserData(ours, 'just some text', EC2)).toThrow('neither #cloud-config nor a #! script')
    expect(() => composeUserData(ours, 'just some text', AZURE)).toThrow('the --azure-custom-data file is neither')
    expect(() => composeUserData(ours, `#!/bin/sh\n# ${'x'.repeat(EC2.maxBytes)}\n`, EC2)).toThrow(/over EC2's limit of 16384/)
    expect(() => composeUserData(ours, `#!/bin/sh\n# ${'x'.repeat(EC2.maxBytes)}\n`, AZURE)).not.toThrow()
    expect(() => composeUserData(ours, `#!/bin/sh\n# ${'x'.repeat(AZURE.maxBytes)}\n`, AZURE)).toThrow(/over Azure's limit of 65535/)
  })
})
