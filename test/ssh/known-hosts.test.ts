import { createHmac, randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { hostMatches, knownHostsName, parsePublicKeyLine, pinHostKeys, pinsFor } from '../../src/ssh/known-hosts.js'
import { tempDir } from '../helpers/tmp.js'

const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGr+f7v+0LPJiTERS05ekBqELda5NwIGmuaLn6AdNycv test-host'
const ED2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHfS0y6MxTVmEsr2tjALFD7rXXm6IwKmBfZzDGckLtUU other'
const body = (line: string): string => line.split(' ').slice(0, 2).join(' ')

let tmp: string
beforeAll(async () => {
  tmp = await tempDir('machine-kh-')
})

describe('known_hosts names and patterns', () => {
  it('uses "host" for port 22 and "[host]:port" otherwise, lower-cased', () => {
    expect(knownHostsName('Example.COM', 22)).toBe('example.com')
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222')
    expect(knownHostsName('::1', 2222)).toBe('[::1]:2222')
  })

  it('matches comma lists, wildcards and negations like OpenSSH', () => {
    expect(hostMatches('a.example,127.0.0.5', '127.0.0.5')).toBe(true)
    expect(hostMatches('*.example', 'dev.example')).toBe(true)
    expect(hostMatches('*.example,!bad.example', 'bad.example')).toBe(false)
    expect(hostMatches('127.0.0.?', '127.0.0.12')).toBe(false)
    expect(hostMatches('[127.0.0.1]:2222', '127.0.0.1')).toBe(false)
    expect(hostMatches('127.0.0.1', '[127.0.0.1]:2222')).toBe(false)
  })

  it('matches hashed names (|1|salt|hmac)', () => {
    const salt = randomBytes(20)
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[127.0.0.1]:2222').digest('base64')}`
    expect(hostMatches(hashed, '[127.0.0.1]:2222')).toBe(true)
    expect(hostMatches(hashed, '[127.0.0.1]:2223')).toBe(false)
  })

  it('parses public key lines and rejects blobs of another type', () => {
    expect(parsePublicKeyLine(ED).type).toBe('ssh-ed25519')
    expect(() => parsePublicKeyLine(`ssh-rsa ${ED.split(' ')[1]}`)).toThrow(/not an OpenSSH public key/)
    expect(() => parsePublicKeyLine('garbage')).toThrow()
  })

  it('finds pins and @revoked keys for a host, ignoring other hosts, comments and @cert-authority', () => {
    const text = [
      '# comment',
      `[127.0.0.1]:2222 ${body(ED)}`,
      `[127.0.0.1]:2223 ${body(ED2)}`,
      `@revoked [127.0.0.1]:2222 ${body(ED2)}`,
      `@cert-authority *.example ${body(ED2)}`,
      'broken line',
    ].join('\n')
    const pins = pinsFor(text, '127.0.0.1', 2222)
    expect(pins.keys.map((k) => k.blob.toString('base64'))).toEqual([ED.split(' ')[1]])
    expect(pins.revoked.map((k) => k.blob.toString('base64'))).toEqual([ED2.split(' ')[1]])
    expect(pinsFor(text, '127.0.0.1', 22).keys).toEqual([])
  })
})

describe('pinHostKeys', () => {
  it('creates the file 0600 with one line per new key', async () => {
    const path = join(tmp, 'a', 'known_hosts')
    const added = await pinHostKeys(path, '127.0.0.5', 22, [parsePublicKeyLine(ED)])
    expect(added).toEqual([`127.0.0.5 ${body(ED)}`])
    expect(await readFile(path, 'utf8')).toBe(`127.0.0.5 ${body(ED)}\n`)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  it('keeps existing lines (even without a final newline) and does not duplicate pins', async () => {
    const path = join(tmp, 'known_hosts_b')
    await writeFile(path, `# mine\nother.example ${body(ED2)}`)
    await pinHostKeys(path, '127.0.0.1', 2222, [parsePublicKeyLine(ED), parsePublicKeyLine(ED)])
    expect(await pinHostKeys(path, '127.0.0.1', 2222, [parsePublicKeyLine(ED)])).toEqual([])
    expect(await readFile(path, 'utf8')).toBe(`# mine\nother.example ${body(ED2)}\n[127.0.0.1]:2222 ${body(ED)}\n`)
  })
})
