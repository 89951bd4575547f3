import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { join } from 'node:path'
import forge from 'node-forge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCA, createClientCert, createServerCert, type PemPair } from '../../src/certs/certs.js'
import { authOptionsFor, CONFIG_VERSION, defaultEngineOptions, defaultSwarmOptions, type HostConfig } from '../../src/core/host-config.js'
import { fingerprintOf } from '../../src/driver-kit/keys.js'
import { syncMachineContext } from '../../src/services/docker-context.js'
import { parsePublicKeyLine } from '../../src/ssh/index.js'
import { certsPaths, machineTlsPaths } from '../../src/store/paths.js'
import { Store } from '../../src/store/store.js'
import { BIN, ensureBuilt, runCli, snapshot, tempStore, type CliResult } from '../helpers/cli.js'
import { startFakeEngine, type FakeEngine, type FakeEngineOptions } from '../helpers/fake-engine.js'
import { startChrootHost, type ChrootHost } from '../helpers/chroot-host.js'
import { createWithEngine } from '../helpers/generic-create.js'
import { freePort, makeKey, startSshd, type Sshd } from '../helpers/sshd.js'
import { tempDir } from '../helpers/tmp.js'

// `machine doctor` through the BUILT binary, against a real OpenSSH sshd on 127.0.0.1 (the
// machine's "host", as the generic driver reaches it) and the TLS engine stand-in, breaking one
// layer per machine. Every run must leave the store byte for byte as it was.

const ALL = ['store entry', 'driver state', 'address and route', 'SSH port and host key', 'engine port', 'TLS CA', 'TLS client certificate', 'TLS server certificate', 'engine answer', 'clock', 'docker environment']

interface Machine {
  name: string
  dir: string
  url: string
  enginePort: number
  engine?: FakeEngine
  /** The environment `eval "$(machine env NAME)"` gives. */
  env: NodeJS.ProcessEnv
}

/** A certificate re-signed by `ca` with other dates (src/certs makes them valid from now). */
function withValidity(pair: PemPair, ca: PemPair, notBefore: Date, notAfter: Date): PemPair {
  const cert = forge.pki.certificateFromPem(pair.cert)
  cert.validity.notBefore = notBefore
  cert.validity.notAfter = notAfter
  cert.sign(forge.pki.privateKeyFromPem(ca.key), forge.md.sha256.create())
  return { cert: forge.pki.certificateToPem(cert), key: pair.key }
}

describe('machine doctor NAME', () => {
  let storePath: string
  let store: Store
  let sshd: Sshd
  let ca: PemPair
  let client: PemPair
  const engines: FakeEngine[] = []

  beforeAll(async () => {
    ensureBuilt()
    storePath = await tempStore()
    store = new Store(storePath)
    sshd = await startSshd()
    ca = await createCA()
    client = await createClientCert(ca)
    const p = certsPaths(storePath)
    await mkdir(p.dir, { recursive: true, mode: 0o700 })
    await writeFile(p.caCert, ca.cert, { mode: 0o644 })
    await writeFile(p.caKey, ca.key, { mode: 0o600 })
    await writeFile(p.clientCert, client.cert, { mode: 0o644 })
    await writeFile(p.clientKey, client.key, { mode: 0o600 })
  }, 120_000)

  afterAll(async () => {
    for (const e of engines) await e.stop()
    await sshd?.stop()
  })

  /**
   * A generic machine on the sshd, its host key pinned, files as create leaves them, and (unless
   * `engine: false`) an engine serving its server certificate. Options break one layer each.
   */
  async function machine(
    name: string,
    o: { engine?: false | Partial<FakeEngineOptions>; sans?: string[]; server?: (p: PemPair) => PemPair; client?: PemPair; sshPort?: number; knownHostsLine?: string; noPin?: boolean; userKey?: string; none?: boolean; savedUrl?: string } = {},
  ): Promise<Machine> {
    const dir = await store.reserve(name)
    const enginePort = await freePort()
    const server = await createServerCert(ca, name, o.sans ?? ['127.0.0.1', 'localhost', name])
    const served = o.server ? o.server(server) : server
    const tls = machineTlsPaths(dir)
    const own = o.client ?? client
    await writeFile(tls.ca, ca.cert, { mode: 0o644 })
    await writeFile(tls.cert, own.cert, { mode: 0o644 })
    await writeFile(tls.key, own.key, { mode: 0o600 })
    await writeFile(tls.server, served.cert, { mode: 0o644 })
    await writeFile(tls.serverKey, served.key, { mode: 0o600 })
    const key = join(dir, 'id_user')
    await copyFile(o.userKey ?? sshd.userKeyPath, key)
    const sshPort = o.sshPort ?? sshd.port
    if (!o.noPin) await writeFile(join(dir, 'known_hosts'), `${o.knownHostsLine ?? `[127.0.0.1]:${sshPort} ${sshd.hostKeyPub.split(' ').slice(0, 2).join(' ')}`}\n`, { mode: 0o600 })
    const host: HostConfig = {
      ConfigVersion: CONFIG_VERSION,
      Driver: o.none
        ? { IPAddress: '127.0.0.1', MachineName: name, URL: `tcp://127.0.0.1:${enginePort}`, StorePath: storePath }
        : { IPAddress: '127.0.0.1', MachineName: name, SSHUser: sshd.user, SSHPort: sshPort, SSHKey: sshd.userKeyPath, SSHKeyPath: key, StorePath: storePath, EnginePort: enginePort, ...(o.savedUrl ? { EngineURL: o.savedUrl } : {}) },
      DriverName: o.none ? 'none' : 'generic',
      HostOptions: { Driver: '', Memory: 0, Disk: 0, EngineOptions: defaultEngineOptions(), SwarmOptions: defaultSwarmOptions(), AuthOptions: authOptionsFor(storePath, dir) },
      Name: name,
    }
    await store.save(host)
    let engine: FakeEngine | undefined
    if (o.engine !== false) {
      engine = await startFakeEngine({ caCert: ca.cert, serverCert: served.cert, serverKey: served.key, port: enginePort, ...o.engine })
      engines.push(engine)
    }
    const url = `tcp://127.0.0.1:${enginePort}`
    return { name, dir, url, enginePort, engine, env: { DOCKER_HOST: url, DOCKER_CERT_PATH: dir, DOCKER_TLS_VERIFY: '1', DOCKER_MACHINE_NAME: name } }
  }

  /** `machine doctor` as a user runs it (asynchronous: the engine answers from this process); the store must not change. */
  async function doctor(m: Pick<Machine, 'name' | 'env'>, extra: string[] = [], env: NodeJS.ProcessEnv = m.env): Promise<CliResult & { lines: string[] }> {
    const before = await snapshot(storePath)
    const r = await runCli(['doctor', m.name, ...extra], { store: storePath, env: { DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_CERT_PATH: '', DOCKER_TLS_VERIFY: '', MACHINE_PROGRAM_NAME: 'machine', ...env } })
    expect(await snapshot(storePath)).toEqual(before)
    return { ...r, lines: r.stdout.trimEnd().split('\n') }
  }

  /** The line of one check. */
  const line = (r: { lines: string[] }, title: string): string => r.lines.find((l) => l.slice(2).startsWith(`${title}:`)) ?? `(no line for ${title})`
  /** The fix line printed under a failed check. */
  const fixOf = (r: { lines: string[] }, title: string): string => r.lines[r.lines.indexOf(line(r, title)) + 1] ?? ''
  const expectSkipped = (r: { lines: string[] }, titles: string[], cause: string): void => {
    for (const t of titles) expect(line(r, t)).toBe(`– ${t}: skipped (${cause} failed)`)
  }
  const expectPassed = (r: { lines: string[] }, titles: string[]): void => {
    for (const t of titles) expect(line(r, t)).toMatch(/^✔ /)
  }

  it('all green: every check passes, exit 0, and --json lists the same checks', async () => {
    const m = await machine('green')
    const r = await doctor(m)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.lines).toHaveLength(ALL.length)
    expect(r.lines.map((l) => l.slice(2, l.indexOf(':')))).toEqual(ALL)
    expectPassed(r, ALL)
    expect(line(r, 'store entry')).toBe('✔ store entry: config.json readable, create finished (driver generic)')
    expect(line(r, 'driver state')).toBe('✔ driver state: the generic driver reports Running')
    expect(line(r, 'address and route')).toBe(`✔ address and route: engine at ${m.url}; routed from 127.0.0.1`)
    const until = new Date(new X509Certificate(ca.cert).validTo).toISOString().slice(0, 10)
    expect(line(r, 'TLS CA')).toBe(`✔ TLS CA: ${join(m.dir, 'ca.pem')}, valid until ${until}`)
    expect(line(r, 'TLS server certificate')).toMatch(/^✔ TLS server certificate: the engine's certificate is signed by the CA, covers 127\.0\.0\.1, valid until \d{4}-\d\d-\d\d$/)
    expect(line(r, 'clock')).toBe("✔ clock: the engine's clock agrees with this computer's")
    expect(line(r, 'SSH port and host key')).toBe(`✔ SSH port and host key: logged in as ${sshd.user}@127.0.0.1:${sshd.port}; host key matches the pin in known_hosts`)
    expect(line(r, 'engine port')).toBe(`✔ engine port: 127.0.0.1:${m.enginePort} accepts connections`)
    expect(line(r, 'engine answer')).toBe('✔ engine answer: GET /_ping OK; Docker 28.2.2 (API 1.50)')
    expect(line(r, 'docker environment')).toBe(`✔ docker environment: DOCKER_HOST is ${m.url}, with this machine's certificates`)
    // The engine was asked with our client certificate, as docker asks it.
    expect(m.engine!.requests().filter((q) => q.startsWith('GET /_ping'))).not.toHaveLength(0)

    const j = await doctor(m, ['--json'])
    expect(j.code).toBe(0)
    const env = JSON.parse(j.stdout) as { ok: boolean; data: { machine: string; ok: boolean; checks: Array<{ id: string; title: string; status: string; saw: string }> } }
    expect(env.ok).toBe(true)
    expect(env.data.ok).toBe(true)
    expect(env.data.checks.map((c) => c.id)).toEqual(['store', 'driver', 'address', 'ssh', 'engine-port', 'tls-ca', 'tls-client', 'tls-server', 'engine', 'clock', 'environment'])
    expect(env.data.checks.every((c) => c.status === 'ok')).toBe(true)
  })

  it('a corrupt store entry: ✖ on the entry, everything else skipped', async () => {
    const m = await machine('corrupt', { engine: false })
    await writeFile(join(m.dir, 'config.json'), '{"ConfigVersion": 3, "Driver": ')
    const r = await doctor(m)
    expect(r.code).toBe(1)
    expect(line(r, 'store entry')).toMatch(/^✖ store entry: Corrupt machine config \/\S+\/machines\/corrupt\/config\.json: Unexpected end of JSON input$/)
    expect(fixOf(r, 'store entry')).toBe('  fix: fix or remove the file (it was left untouched), or remove the machine with "machine rm -f corrupt"')
    expectSkipped(r, ALL.slice(1), 'store entry')
    const jr = await doctor(m, ['--json'])
    expect(jr.code).toBe(1)
    const j = JSON.parse(jr.stdout) as { data: { ok: boolean; checks: Array<{ status: string; fix?: string }> } }
    expect(j.data.ok).toBe(false)
    expect(j.data.checks.map((c) => c.status)).toEqual(['failed', ...ALL.slice(1).map(() => 'skipped')])
  })

  it('the engine port closed: ✖ with "machine provision", the TLS server check and the engine skipped', async () => {
    const m = await machine('noengine', { engine: false })
    const r = await doctor(m)
    expect(r.code).toBe(1)
    expect(line(r, 'engine port')).toBe(`✖ engine port: 127.0.0.1:${m.enginePort} refused the connection (ECONNREFUSED)`)
    expect(fixOf(r, 'engine port')).toBe('  fix: the Docker engine is not listening: provisioning restarts it with its TLS settings: machine provision noengine')
    expectPassed(r, ['store entry', 'driver state', 'address and route', 'SSH port and host key', 'TLS CA', 'TLS client certificate', 'docker environment'])
    expectSkipped(r, ['TLS server certificate', 'engine answer', 'clock'], 'engine port')
  })

  it('the SSH port closed: the generic driver sees the host down; the network checks are skipped', async () => {
    const m = await machine('nossh', { sshPort: await freePort() })
    const r = await doctor(m)
    expect(r.code).toBe(1)
    expect(line(r, 'driver state')).toBe('✖ driver state: the generic driver reports Stopped')
    expect(fixOf(r, 'driver state')).toBe('  fix: the generic driver cannot start it: power the host on, and check that this computer can reach it')
    expectSkipped(r, ['address and route', 'SSH port and host key', 'engine port', 'TLS server certificate', 'engine answer', 'clock'], 'driver state')
    // What needs no network still runs.
    expectPassed(r, ['store entry', 'TLS CA', 'TLS client certificate', 'docker environment'])
  })

  it('an SSH port that accepts and never speaks: ✖ within --timeout, the engine still checked', async () => {
    const held: Socket[] = []
    const silent = createServer((c) => void held.push(c))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const m = await machine('mute', { sshPort: (silent.address() as AddressInfo).port })
      const r = await doctor(m, ['--timeout', '2'])
      expect(r.code).toBe(1)
      expect(line(r, 'driver state')).toBe('✔ driver state: the generic driver reports Running')
      expect(line(r, 'SSH port and host key')).toMatch(new RegExp(`^✖ SSH port and host key: SSH on 127\\.0\\.0\\.1:${(silent.address() as AddressInfo).port} is not reachable after 1 attempt in \\d+\\.\\ds: Timed out while waiting for handshake$`))
      expect(fixOf(r, 'SSH port and host key')).toBe('  fix: check that the host is running and that a firewall or security group allows the SSH port')
      expectPassed(r, ['engine port', 'TLS server certificate', 'engine answer'])
      expect(r.ms).toBeLessThan(15_000)
    } finally {
      for (const c of held) c.destroy()
      silent.close()
    }
  })

  it('a changed host key: ✖ naming both keys, never accepted, known_hosts untouched', async () => {
    const other = await makeKey(join(await tempDir('machine-doctor-key-'), 'other'))
    const otherPub = (await readFile(`${other}.pub`, 'utf8')).trim()
    const m = await machine('rekeyed', { knownHostsLine: `[127.0.0.1]:${sshd.port} ${otherPub}` })
    const before = await readFile(join(m.dir, 'known_hosts'), 'utf8')
    const r = await doctor(m)
    expect(r.code).toBe(1)
    const expected = fingerprintOf(parsePublicKeyLine(otherPub).blob)
    const presented = fingerprintOf(parsePublicKeyLine(sshd.hostKeyPub).blob)
    expect(line(r, 'SSH port and host key')).toBe(`✖ SSH port and host key: host key for 127.0.0.1:${sshd.port} has changed: expected ${expected}, presented ${presented} (ssh-ed25519)`)
    expect(fixOf(r, 'SSH port and host key')).toBe(`  fix: someone may be intercepting the connection; if the host was really rebuilt, check its new key out of band, remove its line from ${join(m.dir, 'known_hosts')} and run \`machine provision\``)
    expect(await readFile(join(m.dir, 'known_hosts'), 'utf8')).toBe(before)
    // The engine does not depend on SSH.
    expectPassed(r, ['engine port', 'TLS server certificate', 'engine answer'])
  })

  it('a server certificate without the address: ✖ listing what it covers, "machine regenerate-certs", the engine skipped', async () => {
    const m = await machine('nosan', { sans: ['10.9.8.7', 'localhost'] })
    const r = await doctor(m)
    expect(r.code).toBe(1)
    expect(line(r, 'TLS server certificate')).toBe("✖ TLS server certificate: the engine's certificate does not cover 127.0.0.1 (it covers 10.9.8.7, localhost)")
    expect(fixOf(r, 'TLS server certificate')).toBe('  fix: make a new server certificate for the current address: machine regenerate-certs nosan')
    expectSkipped(r, ['engine answer', 'clock'], 'TLS server certificate')
  })

  it('an expired server certificate and a client certificate not valid yet', async () => {
    const expired = await machine('expired', { server: (p) => withValidity(p, ca, new Date('2019-01-01T00:00:00Z'), new Date('2020-01-02T00:00:00Z')) })
    const r = await doctor(expired)
    expect(r.code).toBe(1)
    expect(line(r, 'TLS server certificate')).toBe("✖ TLS server certificate: the engine's certificate expired on 2020-01-02")
    expect(fixOf(r, 'TLS server certificate')).toBe('  fix: make a new server certificate for the current address: machine regenerate-certs expired')
    expectSkipped(r, ['engine answer', 'clock'], 'TLS server certificate')

    const future = withValidity(await createClientCert(ca), ca, new Date('2031-05-02T00:00:00Z'), new Date('2032-05-02T00:00:00Z'))
    const early = await machine('early', { client: future })
    const e = await doctor(early)
    expect(e.code).toBe(1)
    const today = new Date().toISOString().slice(0, 10)
    expect(line(e, 'TLS client certificate')).toBe(`✖ TLS client certificate: the client certificate ${join(early.dir, 'cert.pem')} is not valid before 2031-05-02 (this computer's clock says ${today})`)
    expect(fixOf(e, 'TLS client certificate')).toBe("  fix: set this computer's clock right")
    expectSkipped(e, ['engine answer', 'clock'], 'TLS client certificate')
  })

  it('a client certificate from another CA: ✖ with "regenerate-certs --client-certs"; the engine skipped', async () => {
    const otherCa = await createCA()
    const m = await machine('otherca', { client: await createClientCert(otherCa) })
    const r = await doctor(m)
    expect(r.code).toBe(1)
    expect(line(r, 'TLS client certificate')).toBe(`✖ TLS client certificate: the client certificate ${join(m.dir, 'cert.pem')} is not signed by the CA ${join(m.dir, 'ca.pem')}, so the engine refuses it`)
    expect(fixOf(r, 'TLS client certificate')).toBe('  fix: make a new client certificate from the CA: machine regenerate-certs --client-certs otherca')
    expectPassed(r, ['TLS server certificate'])
    expectSkipped(r, ['engine answer', 'clock'], 'TLS client certificate')
  })

  it('an engine that answers 500, and one that hangs (bounded by --timeout)', async () => {
    const m = await machine('err500', { engine: { fault: { status: 500 } } })
    const r = await doctor(m)
    expect(r.code).toBe(1)
    expect(line(r, 'engine answer')).toBe('✖ engine answer: GET /_ping answered HTTP 500')
    expect(fixOf(r, 'engine answer')).toBe('  fix: the engine answered but is unwell: read its log ("machine ssh err500 -- sudo journalctl -u docker -n 50")')
    expectSkipped(r, ['clock'], 'engine answer')

    const h = await machine('hung', { engine: { fault: 'hang' } })
    const hr = await doctor(h, ['--timeout', '2'])
    expect(hr.code).toBe(1)
    expect(line(hr, 'engine answer')).toBe(`✖ engine answer: Docker engine of machine "hung" at 127.0.0.1:${h.enginePort} completed the TLS handshake but sent no HTTP response within 1.8 s`)
    expect(fixOf(hr, 'engine answer')).toBe('  fix: the engine may be overloaded or hung: check "machine ssh hung -- sudo journalctl -u docker"')
    expectSkipped(hr, ['clock'], 'engine answer')
    expect(hr.ms).toBeLessThan(15_000)
  })

  it('clock skew over 60 s: ✖ with the two times', async () => {
    const m = await machine('skewed', { engine: { clockOffsetMs: 3_600_000 } })
    const r = await doctor(m)
    expect(r.code).toBe(1)
    expect(line(r, 'clock')).toMatch(/^✖ clock: the engine's clock is 3600 s ahead of this computer's \(engine: \S+Z, here: \S+Z\)$/)
    expect(fixOf(r, 'clock')).toBe(`  fix: certificates are judged by the clock: turn on time sync on the machine ("machine ssh skewed -- sudo timedatectl set-ntp true") or set this computer's clock`)
    expectPassed(r, ALL.filter((t) => t !== 'clock'))
  })

  it('DOCKER_HOST pointing elsewhere, or no variables and the default context: ✖ with eval "$(machine env NAME)"', async () => {
    const m = await machine('elsewhere')
    const r = await doctor(m, [], { ...m.env, DOCKER_HOST: 'tcp://127.0.0.1:1' })
    expect(r.code).toBe(1)
    expect(line(r, 'docker environment')).toBe(`✖ docker environment: DOCKER_HOST is tcp://127.0.0.1:1, not this machine's ${m.url}`)
    expect(fixOf(r, 'docker environment')).toBe('  fix: point docker at this machine: eval "$(machine env elsewhere)"')
    expectPassed(r, ALL.filter((t) => t !== 'docker environment'))

    const c = await doctor(m, [], { DOCKER_CONTEXT: 'default' })
    expect(line(c, 'docker environment')).toBe('✖ docker environment: docker uses the context "default" (from DOCKER_CONTEXT), not this machine\'s, and DOCKER_HOST is not set')
    const p = await doctor(m, [], { ...m.env, DOCKER_CERT_PATH: '/tmp/elsewhere' })
    expect(line(p, 'docker environment')).toBe(`✖ docker environment: DOCKER_CERT_PATH is /tmp/elsewhere, not this machine's ${m.dir}`)
    const u = await doctor(m, [], { DOCKER_HOST: m.url, DOCKER_TLS_VERIFY: '1' })
    expect(line(u, 'docker environment')).toBe("✖ docker environment: DOCKER_CERT_PATH is not set, so docker would use the certificates in ~/.docker, not this machine's")
    const t = await doctor(m, [], { ...m.env, DOCKER_CERT_PATH: `${m.dir}/` })
    expect(line(t, 'docker environment')).toMatch(/^✔ /)
  })

  it('an unfinished create, and a machine that does not exist: ✖ on the store entry', async () => {
    const m = await machine('halfmade', { engine: false })
    await writeFile(join(m.dir, '.creating'), '999999\n')
    const r = await doctor(m)
    expect(r.code).toBe(1)
    expect(line(r, 'store entry')).toBe('✖ store entry: The create of machine "halfmade" was interrupted')
    expect(fixOf(r, 'store entry')).toBe('  fix: remove it with "machine rm -f halfmade"')
    expectSkipped(r, ALL.slice(1), 'store entry')

    const g = await doctor({ name: 'ghost', env: {} })
    expect(g.code).toBe(1)
    expect(line(g, 'store entry')).toBe('✖ store entry: Machine "ghost" does not exist')
    expect(fixOf(g, 'store entry')).toBe('  fix: run "machine ls" to list machines, or "machine create" to add one')
  })

  it('a login the host refuses: ✖ naming the user and key', async () => {
    const stranger = await makeKey(join(await tempDir('machine-doctor-key-'), 'stranger'))
    const m = await machine('refused', { userKey: stranger })
    const r = await doctor(m)
    expect(r.code).toBe(1)
    expect(line(r, 'SSH port and host key')).toBe(`✖ SSH port and host key: SSH authentication as ${sshd.user}@127.0.0.1:${sshd.port} with key ${join(m.dir, 'id_user')} was refused`)
    expect(fixOf(r, 'SSH port and host key')).toBe(`  fix: check that the public half of ${join(m.dir, 'id_user')} is in ~${sshd.user}/.ssh/authorized_keys on the host`)
    expectPassed(r, ['engine port', 'engine answer'])
  })

  it('no host key pinned yet: accepted for this run only, nothing pinned (doctor writes nothing)', async () => {
    const m = await machine('unpinned', { noPin: true })
    const r = await doctor(m)
    expect(r.code).toBe(0)
    expect(line(r, 'SSH port and host key')).toBe(`✔ SSH port and host key: logged in as ${sshd.user}@127.0.0.1:${sshd.port}; no host key pinned yet (the next provision pins it)`)
    expect(existsSync(join(m.dir, 'known_hosts'))).toBe(false)
  })

  it('docker context: the machine\'s own passes; one left behind by new certificates is a finding with "machine use"', async () => {
    const m = await machine('ctx')
    await syncMachineContext(store, await store.load('ctx'), { env: process.env, create: true })
    const r = await doctor(m, [], { DOCKER_CONTEXT: 'ctx' })
    expect(r.code).toBe(0)
    expect(line(r, 'docker environment')).toBe('✔ docker environment: docker uses the context "ctx" of this machine')
    // A new client certificate (from the same CA) the context was not given.
    const fresh = await createClientCert(ca)
    await writeFile(join(m.dir, 'cert.pem'), fresh.cert)
    await writeFile(join(m.dir, 'key.pem'), fresh.key)
    const s = await doctor(m, [], { DOCKER_CONTEXT: 'ctx' })
    expect(s.code).toBe(1)
    expect(line(s, 'docker environment')).toBe('✖ docker environment: docker uses the context "ctx", but its address or certificates are not the machine\'s current ones')
    expect(fixOf(s, 'docker environment')).toBe('  fix: write the context again: machine use ctx')
  })

  it('a machine without SSH (none): the SSH check does not apply, the rest passes', async () => {
    const m = await machine('plain', { none: true })
    const r = await doctor(m)
    expect(r.code).toBe(0)
    expect(line(r, 'SSH port and host key')).toBe('– SSH port and host key: the none driver has no SSH')
    expectPassed(r, ALL.filter((t) => t !== 'SSH port and host key'))
  })

  it('an address that moved since it was saved: ✖ naming both URLs, "machine provision", the network checks skipped', async () => {
    const m = await machine('moved', { savedUrl: 'tcp://127.0.0.1:1' })
    const r = await doctor(m, [], { ...m.env, DOCKER_HOST: 'tcp://127.0.0.1:1' })
    expect(r.code).toBe(1)
    expect(line(r, 'address and route')).toBe(`✖ address and route: the engine's address changed: the config (and "machine env") say tcp://127.0.0.1:1, the driver says ${m.url}`)
    expect(fixOf(r, 'address and route')).toBe('  fix: provision the machine (certificates for the new address, the new URL saved), then point docker at it again (eval "$(machine env moved)"): machine provision moved')
    expectSkipped(r, ['SSH port and host key', 'engine port', 'TLS server certificate', 'engine answer', 'clock'], 'address and route')
  })

  it('no route to the address (a network namespace with lo down): ✖ on the route; SSH and the engine skipped', async () => {
    // A none machine (no SSH, always "Running"): the route is the first thing that can fail.
    const name = 'noroute'
    const dir = await store.reserve(name)
    const url = `tcp://127.0.0.1:${await freePort()}`
    await store.save({
      ConfigVersion: CONFIG_VERSION,
      Driver: { IPAddress: '127.0.0.1', MachineName: name, URL: url, StorePath: storePath },
      DriverName: 'none',
      HostOptions: { Driver: '', Memory: 0, Disk: 0, EngineOptions: defaultEngineOptions(), SwarmOptions: defaultSwarmOptions(), AuthOptions: authOptionsFor(storePath, dir) },
      Name: name,
    })
    const before = await snapshot(storePath)
    // `unshare -rn`: a new network namespace (its loopback down, so no route to 127.0.0.1) as this user.
    const { stdout, code } = await new Promise<{ stdout: string; code: number }>((resolve) => {
      execFile('unshare', ['-rn', process.execPath, BIN, 'doctor', name], { env: { ...process.env, MACHINE_STORAGE_PATH: storePath, MACHINE_PROGRAM_NAME: 'machine', DOCKER_HOST: url, DOCKER_CERT_PATH: dir, DOCKER_TLS_VERIFY: '1' }, timeout: 60_000 }, (e, out) =>
        resolve({ stdout: out, code: e ? Number((e as { code?: number }).code ?? 1) : 0 }),
      )
    })
    expect(await snapshot(storePath)).toEqual(before)
    const r = { lines: stdout.trimEnd().split('\n') }
    expect(code).toBe(1)
    expect(line(r, 'driver state')).toBe('✔ driver state: the none driver reports Running')
    expect(line(r, 'address and route')).toBe('✖ address and route: no local route to 127.0.0.1')
    expect(fixOf(r, 'address and route')).toBe('  fix: check the network between this computer and the machine: VPN, interface, routes ("ip route get 127.0.0.1")')
    expectSkipped(r, ['SSH port and host key', 'engine port', 'TLS server certificate', 'engine answer', 'clock'], 'address and route')
    expectPassed(r, ['store entry', 'TLS CA', 'TLS client certificate', 'docker environment'])
  })

  it('--help says what is checked, how long each may take, and that nothing changes', async () => {
    const h = await runCli(['doctor', '--help'])
    expect(h.code).toBe(0)
    expect(h.stdout).toContain('-t, --timeout=<value>')
    expect(h.stdout).toMatch(/Nothing is\s+written/)
    expect(h.stdout).toContain('docs/doctor.md')
  })

  it('bad input is one line: an invalid --timeout, an invalid name', async () => {
    const t = await runCli(['doctor', 'x', '--timeout', '0'], { store: storePath })
    expect(t.code).not.toBe(0)
    expect(t.stderr).toMatch(/^Error: --timeout 0 is out of range: give whole seconds from 1 to 3600\n$/)
    const n = await runCli(['doctor', '../etc'], { store: storePath })
    expect(n.code).not.toBe(0)
    expect(n.stderr.trim().split('\n')).toHaveLength(1)
  })
})

describe('machine doctor on a machine made by "create -d generic"', () => {
  let storePath: string
  let host: ChrootHost
  let engine: FakeEngine | undefined

  beforeAll(async () => {
    ensureBuilt()
    storePath = await tempStore()
    host = await startChrootHost()
  }, 300_000)

  afterAll(async () => {
    await engine?.stop()
    await host?.stop()
  })

  it('all green with the environment "machine env" prints, then the engine stopped is a ✖ with its fix', async () => {
    const enginePort = await freePort()
    const args = ['create', '-d', 'generic', '--generic-ip-address', '127.0.0.1', '--generic-ssh-port', String(host.port), '--generic-ssh-user', 'root', '--generic-ssh-key', host.userKeyPath, '--generic-engine-port', String(enginePort), 'made']
    const created = await createWithEngine(args, storePath, host, enginePort)
    engine = created.engine
    expect(created.r.code, created.r.stderr).toBe(0)
    const envOut = await runCli(['env', '--shell', 'bash', 'made'], { store: storePath })
    const env = Object.fromEntries([...envOut.stdout.matchAll(/^export (\w+)="([^"]*)"$/gm)].map((m) => [m[1]!, m[2]!]))
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY']))

    const before = await snapshot(storePath)
    const clean = { DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_CERT_PATH: '', DOCKER_TLS_VERIFY: '', MACHINE_PROGRAM_NAME: 'machine' }
    const r = await runCli(['doctor', 'made'], { store: storePath, env: { ...clean, ...env } })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(11)
    expect(lines.every((l) => l.startsWith('✔ '))).toBe(true)
    // create made the docker context: docker --context made reaches it too.
    const c = await runCli(['doctor', 'made'], { store: storePath, env: { ...clean, DOCKER_CONTEXT: 'made' } })
    expect(c.stdout).toContain('✔ docker environment: docker uses the context "made" of this machine')
    expect(c.code).toBe(0)

    await engine!.stop()
    engine = undefined
    const down = await runCli(['doctor', 'made'], { store: storePath, env: { ...clean, ...env } })
    expect(down.code).toBe(1)
    const d = down.stdout.trimEnd().split('\n')
    expect(d).toContain(`✖ engine port: 127.0.0.1:${enginePort} refused the connection (ECONNREFUSED)`)
    expect(d).toContain('  fix: the Docker engine is not listening: provisioning restarts it with its TLS settings: machine provision made')
    expect(await snapshot(storePath)).toEqual(before)
  })
})
