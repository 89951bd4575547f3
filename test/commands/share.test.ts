import { execFile, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServerCert } from '../../src/certs/certs.js'
import { checkCertsFor, ensureServerCert } from '../../src/services/certs.js'
import { Store } from '../../src/store/store.js'
import { expectCleanFailure, runCli, snapshot, tempStore } from '../helpers/cli.js'
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engine.js'
import { tempDir } from '../helpers/tmp.js'

// `machine export` on one computer (store A) and `machine import` on another (store B, fresh:
// no CA of its own), through the built binary; the engine is the TLS stand-in on 127.0.0.1 with
// a server certificate of A's CA, reached at the end by the real docker client.
const PASS = 'correct horse battery staple'
const withPass = { MACHINE_EXPORT_PASSPHRASE: PASS }

let a: string
let b: string
let files: string
let engine: FakeEngine

beforeAll(async () => {
  a = await tempStore()
  b = await tempStore()
  files = await tempDir('machine-export-')
  expect((await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', 'seed'], { store: a })).code).toBe(0)
  const ca = { cert: await readFile(join(a, 'certs', 'ca.pem'), 'utf8'), key: await readFile(join(a, 'certs', 'ca-key.pem'), 'utf8') }
  const server = await createServerCert(ca, 'web1', ['127.0.0.1'])
  engine = await startFakeEngine({ caCert: ca.cert, serverCert: server.cert, serverKey: server.key })
  expect((await runCli(['create', '-d', 'none', '--url', engine.url, 'web1'], { store: a })).code).toBe(0)
  // What an SSH machine's directory also holds: its key and pinned host key (ssh-keygen's formats).
  const dir = join(a, 'machines', 'web1')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'web1', '-f', join(dir, 'id_rsa')])
  await writeFile(join(dir, 'known_hosts'), '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n', { mode: 0o600 })
})
afterAll(() => engine?.stop())

describe('machine export', () => {
  it('writes a new 0600 file in which neither the keys nor the name can be read', async () => {
    const file = join(files, 'web1.machine')
    const r = await runCli(['export', 'web1', '-o', file], { store: a, env: withPass })
    expect(r.stderr).toMatch(/^Warning: "web1"'s engine is at tcp:\/\/127\.0\.0\.1:\d+: only a computer where that address leads to the engine can use it\n$/)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`Exported "web1" to ${file}. On the other computer: ${r.stdout.split('computer: ')[1]!.trim().split(' import')[0]} import ${file}\n`)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const text = await readFile(file, 'utf8')
    expect(JSON.parse(text)).toMatchObject({ format: 'machine-export', version: 1, kdf: { name: 'scrypt', N: 131072, r: 8, p: 1 }, cipher: 'aes-256-gcm' })
    expect(text).not.toMatch(/PRIVATE KEY|BEGIN|web1|none/)
  })

  it('refuses, changing nothing: an existing file, a short passphrase, no passphrase without a terminal, a local VM', async () => {
    const file = join(files, 'web1.machine')
    const before = await readFile(file, 'utf8')
    const exists = await expectCleanFailure(['export', 'web1', '-o', file], a, { env: withPass })
    expect(exists.line).toBe(`Error: ${file} already exists: choose another file name (an existing file is never overwritten)`)
    expect(await readFile(file, 'utf8')).toBe(before)
    const weak = await expectCleanFailure(['export', 'web1', '-o', join(files, 'weak')], a, { env: { MACHINE_EXPORT_PASSPHRASE: 'short' } })
    expect(weak.code).toBe('weak-passphrase')
    const none = await expectCleanFailure(['export', 'web1', '-o', join(files, 'none')], a, { env: { MACHINE_EXPORT_PASSPHRASE: '' } })
    expect(none.line).toMatch(/^Error: No passphrase given, and no terminal to ask for one: pass --passphrase-file FILE/)
    // A qemu machine's entry (as create leaves it): its VM lives on this computer only.
    const vm = join(a, 'machines', 'vm1')
    await mkdir(vm, { mode: 0o700 })
    await writeFile(join(vm, 'config.json'), JSON.stringify({ ConfigVersion: 3, DriverName: 'qemu', Name: 'vm1', Driver: { MachineName: 'vm1', IPAddress: '127.0.0.1' } }), { mode: 0o600 })
    const local = await expectCleanFailure(['export', 'vm1', '-o', join(files, 'vm1')], a, { env: withPass })
    expect(local.line).toMatch(/^Error: "vm1" is a qemu VM on this computer: another computer can neither start it nor reach its engine/)
    for (const f of ['weak', 'none', 'vm1']) expect(existsSync(join(files, f))).toBe(false)
  })
})

describe('machine import (on the other computer)', () => {
  it('adds the machine, pinned and usable: env points the real docker client at its engine', async () => {
    const passFile = join(files, 'pass')
    await writeFile(passFile, `${PASS}\n`, { mode: 0o600 })
    const r = await runCli(['import', join(files, 'web1.machine'), '--passphrase-file', passFile], { store: b })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Imported "web1" \(none\)\. To point your Docker client at it, run: eval "\$\(.* env web1\)"\n$/)
    const dir = join(b, 'machines', 'web1')
    // Keys and the pin 0600, every path in the config inside this store, no CA key anywhere.
    for (const f of ['key.pem', 'id_rsa', 'known_hosts', 'config.json']) expect((await stat(join(dir, f))).mode & 0o777, f).toBe(0o600)
    expect(await readFile(join(dir, 'known_hosts'), 'utf8')).toBe(await readFile(join(a, 'machines', 'web1', 'known_hosts'), 'utf8'))
    expect(await readFile(join(dir, 'id_rsa'), 'utf8')).toBe(await readFile(join(a, 'machines', 'web1', 'id_rsa'), 'utf8'))
    const cfg = await readFile(join(dir, 'config.json'), 'utf8')
    expect(cfg).not.toContain(a)
    expect(JSON.parse(cfg).HostOptions.AuthOptions).toMatchObject({ CaCertPath: join(dir, 'ca.pem'), CaPrivateKeyPath: '', ClientCertPath: join(dir, 'cert.pem'), ClientKeyPath: join(dir, 'key.pem') })
    expect(existsSync(join(b, 'certs'))).toBe(false)

    const ls = await runCli(['ls', '--format', '{{.Name}} {{.State}} {{.DockerVersion}}'], { store: b })
    expect(ls.stdout).toBe('web1 Running v28.2.2\n')
    const env = await runCli(['env', 'web1', '--shell', 'bash'], { store: b })
    const vars = Object.fromEntries([...env.stdout.matchAll(/^export (\w+)="(.*)"$/gm)].map((m) => [m[1]!, m[2]!]))
    expect(vars).toMatchObject({ DOCKER_HOST: engine.url, DOCKER_CERT_PATH: dir, DOCKER_TLS_VERIFY: '1' })
    // Asynchronously: the stand-in engine answers from this very process.
    const docker = await new Promise<string>((res, rej) =>
      execFile('docker', ['version', '--format', '{{.Server.Version}}'], { env: { ...process.env, ...vars, DOCKER_CONFIG: files }, timeout: 30_000 }, (e, out, err) => (e ? rej(new Error(`${e.message}: ${err}`)) : res(out))),
    )
    expect(docker.trim()).toBe('28.2.2')
  })

  it('never replaces a machine: the same name again is refused, --name imports it beside it', async () => {
    const file = join(files, 'web1.machine')
    const again = await expectCleanFailure(['import', file], b, { env: withPass })
    expect(again.line).toMatch(/^Error: Machine "web1" already exists/)
    const badName = await expectCleanFailure(['import', file, '--name', '../certs'], b, { env: withPass })
    expect(badName.code).toBe('invalid-name')
    const r = await runCli(['import', file, '--name', 'web1-copy'], { store: b, env: withPass })
    expect(r.code, r.stderr).toBe(0)
    expect((await runCli(['ls', '-q'], { store: b })).stdout).toBe('web1\nweb1-copy\n')
  })

  it('a wrong passphrase, a changed byte, a changed header or a file of something else: one line, nothing added', async () => {
    const text = await readFile(join(files, 'web1.machine'), 'utf8')
    const env = JSON.parse(text) as Record<string, unknown> & { data: string; kdf: { N: number } }
    const flip = (s: string) => (s[10] === 'A' ? `${s.slice(0, 10)}B${s.slice(11)}` : `${s.slice(0, 10)}A${s.slice(11)}`)
    const variants: Array<[string, string, NodeJS.ProcessEnv, RegExp]> = [
      ['wrong', text, { MACHINE_EXPORT_PASSPHRASE: 'not the passphrase at all' }, /^Error: Cannot open .*: wrong passphrase, or the file was changed/],
      ['byte', JSON.stringify({ ...env, data: flip(env.data) }), withPass, /wrong passphrase, or the file was changed/],
      ['header', JSON.stringify({ ...env, kdf: { ...env.kdf, N: 2 ** 16 } }), withPass, /wrong passphrase, or the file was changed/],
      ['huge-kdf', JSON.stringify({ ...env, kdf: { ...env.kdf, N: 2 ** 30 } }), withPass, /is not a file made by "machine export" \(key-derivation parameters out of range\)/],
      ['other', '{"hello": 1}', withPass, /is not a file made by "machine export"/],
    ]
    for (const [name, content, e, msg] of variants) {
      const f = join(files, `${name}.machine`)
      await writeFile(f, content)
      const before = await snapshot(b)
      const r = await expectCleanFailure(['import', f, '--name', `x-${name}`], b, { env: e })
      expect(r.line, name).toMatch(msg)
      expect(await snapshot(b), name).toEqual(before)
    }
  })

  it('new certificates for an imported machine are refused with the way to get them', async () => {
    // What regenerate-certs, provision and a start after an address change go through (the none
    // driver has no SSH, so its commands stop earlier): no CA key, one line, nothing written.
    const host = await new Store(b).load('web1')
    const before = await snapshot(b)
    await expect(ensureServerCert(host, ['127.0.0.1'], true)).rejects.toThrow(
      /^"web1" was imported without its CA key, so new certificates for it can only be made on the computer that created it$/,
    )
    await expect(checkCertsFor(host)).rejects.toMatchObject({ code: 'no-ca-key', hint: 'there, run "machine regenerate-certs web1" (or provision it), then "machine export web1" again' })
    expect(await snapshot(b)).toEqual(before)
  })
})

describe('machine import --from-store (a docker-machine 0.16 store at another path)', () => {
  let old: string
  beforeAll(async () => {
    // A docker-machine store: its CA and client pair (made here by `create` in it), and machines
    // whose config.json is docker-machine's, recorded under another home (/home/u/...).
    old = await tempStore()
    expect((await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', 'gen1'], { store: old })).code).toBe(0)
    const fixture = JSON.parse(await readFile(new URL('../fixtures/docker-machine-0.16-generic.json', import.meta.url), 'utf8'))
    await writeFile(join(old, 'machines', 'gen1', 'config.json'), JSON.stringify(fixture, null, 4), { mode: 0o600 })
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', '', '-f', join(old, 'machines', 'gen1', 'k')])
    // A cloud machine whose docker-machine config holds its cloud secrets (docker-machine saved them).
    await mkdir(join(old, 'machines', 'aws1'), { mode: 0o700 })
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) await writeFile(join(old, 'machines', 'aws1', f), await readFile(join(old, 'machines', 'gen1', f)))
    const aws = { ...fixture, DriverName: 'amazonec2', Name: 'aws1', Driver: { ...fixture.Driver, MachineName: 'aws1', SSHKeyPath: '/home/u/.docker/machine/machines/aws1/id_rsa', AccessKey: 'AKIAEXAMPLE', SecretKey: 'not-a-real-secret-key', InstanceId: 'i-0123', Region: 'eu-west-1' } }
    await writeFile(join(old, 'machines', 'aws1', 'config.json'), JSON.stringify(aws, null, 4), { mode: 0o600 })
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', '', '-f', join(old, 'machines', 'aws1', 'id_rsa')])
    // A VirtualBox VM of docker-machine's: not something to take over.
    await mkdir(join(old, 'machines', 'vb1'), { mode: 0o700 })
    await writeFile(join(old, 'machines', 'vb1', 'config.json'), JSON.stringify({ ...fixture, DriverName: 'virtualbox', Name: 'vb1', Driver: { MachineName: 'vb1' } }), { mode: 0o600 })
  })

  it('refuses the whole import, changing nothing, when one machine cannot be taken (a VirtualBox VM) or DIR is not a store', async () => {
    const c = await tempStore()
    const vm = await expectCleanFailure(['import', '--from-store', old], c)
    expect(vm.line).toMatch(/^Error: "vb1" is a virtualbox VM made by .*'s tool: its VM cannot be taken over: import the others by name/)
    expect((await runCli(['ls', '-q'], { store: c })).stdout).toBe('')
    const bad = await expectCleanFailure(['import', '--from-store', join(old, 'certs')], c)
    expect(bad.code).toBe('not-a-store')
  })

  it('copies the named machines, self-contained: paths into this store, keys 0600, the CA key beside them, secrets dropped', async () => {
    const c = await tempStore()
    const r = await runCli(['import', '--from-store', old, 'gen1', 'aws1'], { store: c })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`Imported "gen1" (generic) from ${old}\nImported "aws1" (amazonec2) from ${old}\n`)
    const dir = join(c, 'machines', 'gen1')
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))
    expect(cfg.Driver).toMatchObject({ MachineName: 'gen1', SSHKeyPath: join(dir, 'k'), SSHUser: 'ubuntu', SSHPort: 2222, StorePath: c })
    expect(cfg.Driver.SSHKey).toBeUndefined()
    expect(cfg.HostOptions.EngineOptions.Labels).toEqual(['env=prod'])
    expect(cfg.HostOptions.AuthOptions).toMatchObject({ CaCertPath: join(dir, 'ca.pem'), CaPrivateKeyPath: join(dir, 'ca-key.pem'), ClientKeyPath: join(dir, 'key.pem') })
    expect(JSON.stringify(cfg)).not.toContain('/home/u')
    for (const f of ['k', 'ca-key.pem', 'key.pem']) expect((await stat(join(dir, f))).mode & 0o777, f).toBe(0o600)
    expect(await readFile(join(dir, 'ca-key.pem'), 'utf8')).toBe(await readFile(join(old, 'certs', 'ca-key.pem'), 'utf8'))
    const aws = await readFile(join(c, 'machines', 'aws1', 'config.json'), 'utf8')
    expect(aws).not.toMatch(/AKIAEXAMPLE|not-a-real-secret-key/)
    expect(JSON.parse(aws).Driver).toMatchObject({ InstanceId: 'i-0123', Region: 'eu-west-1' })
    // New certificates can be made here (the CA key came along), unlike for an exported machine.
    await expect(checkCertsFor(await new Store(c).load('gen1'))).resolves.toBeUndefined()
    // Again: the names are taken now; nothing changes.
    const again = await expectCleanFailure(['import', '--from-store', old, 'gen1'], c)
    expect(again.line).toMatch(/^Error: Machine "gen1" already exists/)
    // The old store is untouched.
    expect(JSON.parse(await readFile(join(old, 'machines', 'aws1', 'config.json'), 'utf8')).Driver.SecretKey).toBe('not-a-real-secret-key')
  })
})
