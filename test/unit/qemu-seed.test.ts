import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildIso, buildNoCloudSeed, primaryName } from '../../src/driver-kit/seed-image.js'
import { cloudInitConfig, renderCloudConfig } from '../../src/driver-kit/cloud-init.js'
import { readIso } from '../e2e/image/iso-reader.js'
import { tempDir } from '../helpers/tmp.js'

const hasBlkid = (() => {
  try {
    execFileSync('blkid', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

describe('NoCloud seed image (ISO 9660 + Joliet)', () => {
  const userData = renderCloudConfig(
    cloudInitConfig({
      user: 'docker',
      authorizedKey: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 test@host',
      hostname: 'dev',
      groups: ['docker'],
      hostKey: { privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n', publicKey: 'ssh-ed25519 AAAAC3Nza host' },
    }),
  )
  const iso = buildNoCloudSeed({ userData, instanceId: 'machine-1234', hostname: 'dev' }, { date: new Date('2026-01-02T03:04:05Z') })

  it('is labelled cidata and carries user-data and meta-data under their exact names (Joliet)', () => {
    const vols = readIso(iso)
    expect(vols.map((v) => [v.kind, v.volumeId])).toEqual([
      ['primary', 'cidata'],
      ['joliet', 'cidata'],
    ])
    const joliet = vols[1]!
    expect([...joliet.files.keys()]).toEqual(['meta-data', 'user-data'])
    expect(joliet.files.get('user-data')!.toString('utf8')).toBe(userData)
    const meta = JSON.parse(joliet.files.get('meta-data')!.toString('utf8'))
    expect(meta).toEqual({ 'instance-id': 'machine-1234', 'local-hostname': 'dev' })
  })

  it('has level-1 names in the primary directory pointing at the same data', () => {
    const primary = readIso(iso)[0]!
    expect([...primary.files.keys()]).toEqual(['META_DAT.;1', 'USER_DAT.;1'])
    expect(primary.files.get('USER_DAT.;1')!.toString('utf8')).toBe(userData)
  })

  it('user-data is cloud-config with the user, key and pinned host key', () => {
    const text = readIso(iso)[1]!.files.get('user-data')!.toString('utf8')
    expect(text.startsWith('#cloud-config\n')).toBe(true)
    const cfg = JSON.parse(text.slice('#cloud-config\n'.length))
    expect(cfg.users[0]).toMatchObject({ name: 'docker', groups: 'docker', ssh_authorized_keys: ['ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 test@host'] })
    expect(cfg.ssh_keys.ed25519_public).toBe('ssh-ed25519 AAAAC3Nza host')
    expect(cfg.hostname).toBe('dev')
  })

  it('handles many and large files (directory and data spanning sectors) and empty files', () => {
    const big = Buffer.alloc(5000, 7)
    const files = [
      { name: 'big', data: big },
      { name: 'empty', data: '' },
      ...Array.from({ length: 60 }, (_, i) => ({ name: `file-number-${String(i).padStart(3, '0')}.txt`, data: `content ${i}` })),
    ]
    // Level-1 names of these would collide (FILE_NUM.TXT): the writer refuses rather than lose a file.
    expect(() => buildIso(files)).toThrow(/collide/)
    const ok = [
      { name: 'big', data: big },
      { name: 'empty', data: '' },
      ...Array.from({ length: 60 }, (_, i) => ({ name: `f${String(i).padStart(3, '0')}-long-name`, data: `content ${i}` })),
    ]
    const vols = readIso(buildIso(ok, { volumeId: 'TEST' }))
    const j = vols.find((v) => v.kind === 'joliet')!
    expect(j.volumeId).toBe('TEST')
    expect(j.files.size).toBe(62)
    expect(j.files.get('big')!.equals(big)).toBe(true)
    expect(j.files.get('empty')!.length).toBe(0)
    expect(j.files.get('f059-long-name')!.toString()).toBe('content 59')
  })

  it('maps names to ISO level 1', () => {
    expect(primaryName('user-data')).toBe('USER_DAT.;1')
    expect(primaryName('network-config')).toBe('NETWORK_.;1')
    expect(primaryName('a.json')).toBe('A.JSO;1')
  })

  it.runIf(hasBlkid)('is recognised by blkid as iso9660 labelled cidata (what cloud-init searches for)', async () => {
    const p = join(await tempDir('seed-'), 'seed.iso')
    await writeFile(p, iso)
    const out = execFileSync('blkid', ['-o', 'export', p], { encoding: 'utf8' })
    expect(out).toMatch(/^TYPE=iso9660$/m)
    expect(out).toMatch(/^LABEL=cidata$/m)
  })
})
