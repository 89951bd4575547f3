import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServerCert } from '../../src/certs/certs.js'
import { BIN, expectCleanFailure, ROOT, runCli, snapshot, tempStore } from '../helpers/cli.js'
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engine.js'
import { tempDir } from '../helpers/tmp.js'

// Docker contexts beside env, through the BUILT binary and the REAL docker CLI (the client only:
// there is no daemon here) against the TLS stand-in engine on 127.0.0.1. Every command runs with
// a temp DOCKER_CONFIG of its own; the user's ~/.docker is never read or written.

const run = promisify(execFile)
const id = (name: string) => createHash('sha256').update(name).digest('hex')

/** The docker CLI with this DOCKER_CONFIG and no DOCKER_HOST/DOCKER_CONTEXT from the caller. */
async function docker(config: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { DOCKER_HOST: _h, DOCKER_CONTEXT: _c, DOCKER_TLS_VERIFY: _t, DOCKER_CERT_PATH: _p, ...inherited } = process.env
  try {
    const r = await run('docker', args, { env: { ...inherited, DOCKER_CONFIG: config, ...env }, timeout: 30_000 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' }
  }
}

const contextNames = async (config: string): Promise<string[]> => (await docker(config, ['context', 'ls', '--format', '{{.Name}}'])).stdout.trim().split('\n')

describe('docker contexts for machines', () => {
  let store: string
  let engine: FakeEngine
  let cfg: string
  // The machine CLI with this test's DOCKER_CONFIG and no DOCKER_HOST/DOCKER_CONTEXT unless given.
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}, config = cfg) => runCli(args, { store, env: { DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_CONFIG: config, ...env } })
  const version = ['version', '--format', '{{.Server.Version}}']

  beforeAll(async () => {
    store = await tempStore()
    cfg = await tempDir('docker-config-')
    // The first create makes the store's CA; the stand-in engine gets a server certificate from it.
    expect((await cli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', '--no-docker-context', 'seed'])).code).toBe(0)
    const ca = { cert: await readFile(join(store, 'certs', 'ca.pem'), 'utf8'), key: await readFile(join(store, 'certs', 'ca-key.pem'), 'utf8') }
    const server = await createServerCert(ca, 'engine', ['127.0.0.1'])
    engine = await startFakeEngine({ caCert: ca.cert, serverCert: server.cert, serverKey: server.key })
    // The docker CLI's own settings, which every change of currentContext must keep.
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { 'registry.example': { auth: 'dXNlcjpwYXNz' } }, detachKeys: 'ctrl-x,x', proxies: { default: { noProxy: '127.0.0.1' } } }, null, 2), { mode: 0o644 })
  })
  afterAll(() => engine?.stop())

  const dockerConfig = async () => JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')) as Record<string, unknown>
  const otherKeys = { auths: { 'registry.example': { auth: 'dXNlcjpwYXNz' } }, detachKeys: 'ctrl-x,x', proxies: { default: { noProxy: '127.0.0.1' } } }

  it('create writes a context the docker CLI lists and uses: docker --context NAME version reaches the engine', async () => {
    const r = await cli(['create', '-d', 'none', '--url', engine.url, 'e1'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Made the docker context "e1"')
    expect(await contextNames(cfg)).toEqual(['default', 'e1'])
    const v = await docker(cfg, ['--context', 'e1', ...version])
    expect(v.stderr).toBe('')
    expect(v.stdout).toBe('28.2.2\n')
    // The engine saw docker's request with the machine's client certificate.
    expect(engine.requests().some((q) => /^GET \/v[\d.]+\/version /.test(q))).toBe(true)
    // The shape docker writes, plus our mark; dirs 0700, files 0600.
    const metaDir = join(cfg, 'contexts', 'meta', id('e1'))
    const meta = JSON.parse(await readFile(join(metaDir, 'meta.json'), 'utf8'))
    expect(meta).toEqual({
      Name: 'e1',
      Metadata: { Description: 'Docker engine of machine "e1" (made by machine, removed with the machine)', ManagedBy: 'machine', MachineStorePath: store },
      Endpoints: { docker: { Host: engine.url, SkipTLSVerify: false } },
    })
    const tls = join(cfg, 'contexts', 'tls', id('e1'), 'docker')
    for (const d of [metaDir, join(cfg, 'contexts', 'tls', id('e1')), tls]) expect((await stat(d)).mode & 0o777).toBe(0o700)
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) {
      expect((await stat(join(tls, f))).mode & 0o777).toBe(0o600)
      expect(await readFile(join(tls, f), 'utf8')).toBe(await readFile(join(store, 'machines', 'e1', f), 'utf8'))
    }
    // create did not make it current: that is `use`'s job.
    expect(await dockerConfig()).toEqual(otherKeys)
  })

  it('use NAME makes plain docker reach the machine; ls marks it on both paths; config.json keeps its other keys', async () => {
    const r = await cli(['use', 'e1'])
    expect(r).toMatchObject({ code: 0, stdout: 'Current context is now "e1"\n', stderr: '' })
    expect(await dockerConfig()).toEqual({ ...otherKeys, currentContext: 'e1' })
    expect((await stat(join(cfg, 'config.json'))).mode & 0o777).toBe(0o644)
    expect((await docker(cfg, version)).stdout).toBe('28.2.2\n')
    for (const env of [{}, { MACHINE_NO_FAST_PATH: '1' }]) {
      const ls = await cli(['ls', '--format', '{{.Name}}={{.Active}}'], env)
      expect(ls.stdout).toBe('e1=*\nseed=-\n')
    }
    expect(await cli(['active'])).toMatchObject({ code: 0, stdout: 'e1\n' })
  })

  it('ls follows docker’s precedence: DOCKER_HOST over DOCKER_CONTEXT over currentContext', async () => {
    expect((await cli(['create', '-d', 'none', '--url', engine.url, 'e2'])).code).toBe(0)
    const active = async (env: NodeJS.ProcessEnv) => (await cli(['ls', '--format', '{{.Name}}={{.Active}}'], env)).stdout
    expect(await active({ DOCKER_CONTEXT: 'e2' })).toBe('e1=-\ne2=*\nseed=-\n')
    expect(await active({ DOCKER_CONTEXT: 'default' })).toBe('e1=-\ne2=-\nseed=-\n')
    expect((await cli(['active'], { DOCKER_CONTEXT: 'e2' })).stdout).toBe('e2\n')
    const none = await cli(['active'], { DOCKER_CONTEXT: 'default' })
    expect(none.stderr).toMatch(/^Error: No active host found: \$DOCKER_HOST is not set and docker's context is none of this store's machines: run eval .* or ".* use NAME" first\n$/)
    // DOCKER_HOST wins over every context, and selects by URL as before (both machines share it here).
    expect(await active({ DOCKER_CONTEXT: 'e2', DOCKER_HOST: 'tcp://127.0.0.1:9' })).toBe('e1=-\ne2=-\nseed=*\n')
    expect((await cli(['rm', '-y', 'e2'])).code).toBe(0)
  })

  it('use says when DOCKER_HOST or DOCKER_CONTEXT is in the way, with the line that unsets it for the shell', async () => {
    const bash = await cli(['use', 'e1'], { DOCKER_HOST: engine.url, SHELL: '/bin/bash' })
    expect(bash.code).toBe(0)
    expect(bash.stderr).toBe('DOCKER_HOST is set, and overrides every context; unset it in this shell:\nunset DOCKER_HOST\n')
    const fish = await cli(['use', 'e1'], { DOCKER_CONTEXT: 'other', SHELL: '/usr/bin/fish' })
    expect(fish.stderr).toBe('DOCKER_CONTEXT is set to "other", and overrides the current context; unset it in this shell:\nset -e DOCKER_CONTEXT;\n')
    const ps = await cli(['use', 'e1', '--shell', 'powershell', '--json'], { DOCKER_HOST: engine.url })
    expect(JSON.parse(ps.stdout).data).toEqual({ currentContext: 'e1', overriddenBy: ['DOCKER_HOST'] })
  })

  it('env --context prints DOCKER_CONTEXT (and unsets the TLS variables); eval’d, docker reaches the engine', async () => {
    const r = await cli(['env', '--context', 'e1'], { SHELL: '/bin/bash' })
    expect(r.stderr).toBe('')
    expect(r.stdout.split('\n').slice(0, 5)).toEqual(['unset DOCKER_TLS_VERIFY', 'unset DOCKER_HOST', 'unset DOCKER_CERT_PATH', 'export DOCKER_MACHINE_NAME="e1"', 'export DOCKER_CONTEXT="e1"'])
    const slow = await cli(['env', '--context', 'e1'], { SHELL: '/bin/bash', MACHINE_NO_FAST_PATH: '1' })
    expect(slow.stdout).toBe(r.stdout)
    const fish = await cli(['env', '--context', '--shell', 'fish', 'e1'])
    expect(fish.stdout.split('\n')[4]).toBe('set -gx DOCKER_CONTEXT "e1";')
    // In a shell whose DOCKER_HOST points elsewhere (an earlier env), with the CLI's current context reset.
    await cli(['use', '--unset'])
    const { stdout } = await run('bash', ['-c', `${r.stdout}\ndocker version --format '{{.Server.Version}}'`], {
      env: { ...process.env, DOCKER_CONFIG: cfg, DOCKER_HOST: 'tcp://127.0.0.1:9', DOCKER_TLS_VERIFY: '1' },
    })
    expect(stdout).toBe('28.2.2\n')
    const u = await cli(['env', '-u', '--context'], { SHELL: '/bin/bash' })
    expect(u.stdout.split('\n').slice(0, 5)).toEqual(['unset DOCKER_TLS_VERIFY', 'unset DOCKER_HOST', 'unset DOCKER_CERT_PATH', 'unset DOCKER_MACHINE_NAME', 'unset DOCKER_CONTEXT'])
  })

  it('env --context remakes a missing context of ours, loading neither oclif nor an SDK', async () => {
    const { spawnSync } = await import('node:child_process')
    await docker(cfg, ['context', 'rm', '-f', 'e1'])
    expect(await contextNames(cfg)).toEqual(['default'])
    const trace = join(await tempDir('trace-'), 'imports.txt')
    const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/helpers/trace-imports.mjs'), BIN, 'env', '--context', 'e1'], {
      env: { ...process.env, MACHINE_STORAGE_PATH: store, DOCKER_CONFIG: cfg, MACHINE_TRACE_IMPORTS: trace, SHELL: '/bin/bash' },
      encoding: 'utf8',
    })
    expect(r.status).toBe(0)
    const loaded = await readFile(trace, 'utf8')
    expect(loaded).toContain('src:src/services/docker-context.ts')
    for (const heavy of ['@aws-sdk', '@google-cloud', '@azure', '/ssh2/', 'node-forge', '@oclif/core']) expect(loaded).not.toContain(heavy)
    expect((await docker(cfg, ['--context', 'e1', ...version])).stdout).toBe('28.2.2\n')
  })

  it('use --unset goes back to default, keeping the other keys', async () => {
    await cli(['use', 'e1'])
    const r = await cli(['use', '--unset'])
    expect(r).toMatchObject({ code: 0, stdout: 'Current context is now "default"\n', stderr: '' })
    expect(await dockerConfig()).toEqual(otherKeys)
    expect((await docker(cfg, ['context', 'show'])).stdout).toBe('default\n')
  })

  it('rm removes the context and resets currentContext when it named it; docker is back on default', async () => {
    expect((await cli(['create', '-d', 'none', '--url', engine.url, 'e3'])).code).toBe(0)
    await cli(['use', 'e3'])
    expect((await docker(cfg, ['context', 'show'])).stdout).toBe('e3\n')
    const r = await cli(['rm', '-y', 'e3'])
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(await contextNames(cfg)).toEqual(['default', 'e1'])
    expect(await dockerConfig()).toEqual(otherKeys)
    expect((await docker(cfg, ['context', 'show'])).stdout).toBe('default\n')
    expect(existsSync(join(cfg, 'contexts', 'meta', id('e3')))).toBe(false)
    expect(existsSync(join(cfg, 'contexts', 'tls', id('e3')))).toBe(false)
  })

  it('a context of the same name that docker made is never overwritten, used or removed (one line each time)', async () => {
    const c = await docker(cfg, ['context', 'create', 'f1', '--description', 'mine', '--docker', 'host=tcp://127.0.0.1:1'])
    expect(c.code).toBe(0)
    const contexts = join(cfg, 'contexts')
    const before = await snapshot(contexts)
    const r = await cli(['create', '-d', 'none', '--url', engine.url, 'f1'])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('Left the docker context "f1" alone: machine did not make it\n')
    expect(await snapshot(contexts)).toEqual(before)
    const use = await expectCleanFailure(['use', 'f1'], store, { env: { DOCKER_CONFIG: cfg } })
    expect(use.line).toMatch(/^Error: Left the docker context "f1" alone: machine did not make it: use eval "\$\(.*env f1\)" instead$/)
    expect(await dockerConfig()).toEqual(otherKeys)
    expect((await cli(['env', '--context', 'f1'], { SHELL: '/bin/bash' })).code).not.toBe(0)
    const rm = await cli(['rm', '-y', 'f1'])
    expect(rm.code).toBe(0)
    expect(rm.stderr).toBe('Left the docker context "f1" alone: machine did not make it\n')
    expect(await snapshot(contexts)).toEqual(before)
    expect((await docker(cfg, ['context', 'inspect', 'f1', '--format', '{{.Endpoints.docker.Host}}'])).stdout).toBe('tcp://127.0.0.1:1\n')
  })

  it('a context another machine store made is not this store’s to change', async () => {
    const other = await tempStore()
    const r = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', 'e1'], { store: other, env: { DOCKER_CONFIG: cfg } })
    expect(r.code).toBe(0)
    expect(r.stderr).toBe(`Left the docker context "e1" alone: it belongs to the machine store ${JSON.stringify(store)}\n`)
    expect((await runCli(['rm', '-y', 'e1'], { store: other, env: { DOCKER_CONFIG: cfg } })).code).toBe(0)
    expect((await docker(cfg, ['--context', 'e1', ...version])).stdout).toBe('28.2.2\n')
  })

  it('--no-docker-context and the store’s settings.json opt out; a bad settings.json stops create before anything is made', async () => {
    expect((await cli(['create', '-d', 'none', '--url', engine.url, '--no-docker-context', 'o1'])).stdout).not.toContain('docker context')
    await writeFile(join(store, 'settings.json'), '{"DockerContexts": false}\n')
    try {
      expect((await cli(['create', '-d', 'none', '--url', engine.url, 'o2'])).code).toBe(0)
      expect(await contextNames(cfg)).toEqual(['default', 'e1', 'f1'])
      // Asked for explicitly, a context is still made.
      expect((await cli(['use', 'o2'])).code).toBe(0)
      expect((await docker(cfg, version)).stdout).toBe('28.2.2\n')
      await writeFile(join(store, 'settings.json'), '{"dockerContexts": false}\n')
      const bad = await expectCleanFailure(['create', '-d', 'none', '--url', engine.url, 'o3'], store, { env: { DOCKER_CONFIG: cfg } })
      expect(bad.line).toBe(`Error: Unknown setting "dockerContexts" in ${join(store, 'settings.json')}: the settings are DockerContexts`)
    } finally {
      await writeFile(join(store, 'settings.json'), '{}')
    }
    await cli(['rm', '-y', 'o1', 'o2'])
    expect((await docker(cfg, ['context', 'show'])).stdout).toBe('default\n')
  })

  it('a config.json that is not JSON is refused by use and kept by rm, never rewritten', async () => {
    const broken = await tempDir('docker-config-broken-')
    expect((await cli(['create', '-d', 'none', '--url', engine.url, 'b1'], {}, broken)).code).toBe(0)
    await writeFile(join(broken, 'config.json'), '{"auths": {}, "currentContext": "b1"')
    const use = await runCli(['use', 'b1'], { store, env: { DOCKER_CONFIG: broken } })
    expect(use.code).toBe(1)
    expect(use.stderr).toMatch(new RegExp(`^Error: The docker CLI's ${join(broken, 'config.json')} is not valid JSON \\(.*\\); it was left untouched: fix or remove that file, then run the command again\\n$`))
    const rm = await runCli(['rm', '-y', 'b1'], { store, env: { DOCKER_CONFIG: broken } })
    expect(rm.code).toBe(0)
    expect(rm.stderr).toMatch(/^Kept the docker context "b1": The docker CLI's .* is not valid JSON/)
    expect(await readFile(join(broken, 'config.json'), 'utf8')).toBe('{"auths": {}, "currentContext": "b1"')
    expect(existsSync(join(broken, 'contexts', 'meta', id('b1'), 'meta.json'))).toBe(true)
  })

  it('names docker cannot take get one line, and a planted symlink is never written through', async () => {
    const d = await cli(['create', '-d', 'none', '--url', engine.url, 'default'])
    expect(d.code).toBe(0)
    expect(d.stderr).toBe('No docker context for "default": the docker CLI reserves the name "default" for its own context\n')
    const x = await cli(['create', '-d', 'none', '--url', engine.url, 'x'])
    expect(x.stderr).toMatch(/^No docker context for "x": docker context names need at least 2 characters/)
    const one = await expectCleanFailure(['use', 'x'], store, { env: { DOCKER_CONFIG: cfg } })
    expect(one.line).toMatch(/^Error: Machine "x" cannot have a docker context: docker context names need at least 2 characters.*: use eval "\$\(.*env x\)" instead$/)
    const sym = await tempDir('docker-config-sym-')
    const elsewhere = await tempDir('elsewhere-')
    await mkdir(join(sym, 'contexts', 'meta'), { recursive: true })
    await symlink(elsewhere, join(sym, 'contexts', 'meta', id('s1')))
    const s = await cli(['create', '-d', 'none', '--url', engine.url, 's1'], {}, sym)
    expect(s.code).toBe(0)
    expect(s.stderr).toMatch(/^Could not write the docker context "s1": .* is a symlink; the docker context there is left alone/)
    expect(await snapshot(elsewhere)).toEqual({})
    await cli(['rm', '-y', 'default', 'x', 's1'], {}, sym)
  })
})
