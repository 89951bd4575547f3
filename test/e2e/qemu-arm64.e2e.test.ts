/**
 * The arm64 path of the qemu driver, end to end through the built `machine` binary: an aarch64
 * guest (the arm64 test image, built through qemu-user-static) is created with
 * `--qemu-arch aarch64` — emulated under TCG on an x86_64 host, which the create says —, its TLS
 * engine answers the host's docker client as an arm64 engine, an arm64 container runs, the VM
 * stops and starts again, and rm leaves no process, port or file. One small VM (1 GB, 2 vCPUs);
 * every step has its own bound so the file cannot hold CI for long.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, tempStore } from '../helpers/cli.js'
import { liveProcessesNaming } from '../helpers/processes.js'
import { busyboxRootfsTar, dockerWith, parseEnv } from './docker-client.js'
import { qemuFlags, testImage, type TestImage } from './image.js'

const MIN = 60_000
const NAME = 'arm1'
const IMAGE = 'machine-e2e/busybox-arm64:1'
let store: string
let work: string
let img: TestImage
let dockerEnv: NodeJS.ProcessEnv = {}
const docker = (args: string[], input?: Buffer) => dockerWith(dockerEnv, args, input)
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

const portOpen = (port: number) =>
  new Promise<boolean>((res) => {
    const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), res(true)))
    s.on('error', () => res(false))
  })

async function machineEnv(): Promise<NodeJS.ProcessEnv> {
  const r = await runCli(['env', NAME], { store, env: { SHELL: '/bin/bash' } })
  expect(r.code, r.stderr).toBe(0)
  return parseEnv(r.stdout)
}

describe('end to end: an aarch64 qemu VM (TCG on an x86_64 host) + TLS engine + the host docker client', () => {
  const fileStarted = Date.now()

  beforeAll(async () => {
    store = await tempStore()
    work = await mkdtemp(join(tmpdir(), 'machine-e2e-arm64-'))
    // Built once per script version (.ci/run builds it before the tests; 10–20 min the first time).
    img = testImage('arm64')
  }, 60 * MIN)

  afterAll(async () => {
    // Never leave a VM behind, whatever failed.
    await runCli(['rm', '-f', '-y', NAME], { store }).catch(() => undefined)
    await rm(work, { recursive: true, force: true })
    console.log(`qemu-arm64 e2e: the file took ${secs(Date.now() - fileStarted)}`)
  }, 5 * MIN)

  it('creates the aarch64 machine, says it is emulated, and the engine reports arm64', async () => {
    const t0 = Date.now()
    const r = await runCli(['create', ...qemuFlags(img), '--qemu-arch', 'aarch64', '--qemu-memory', '1024', '--qemu-cpus', '2', NAME], { store, timeoutMs: 20 * MIN })
    if (r.code !== 0) console.error(r.stdout, r.stderr, await readFile(join(store, `machines/${NAME}/console.log`), 'utf8').catch(() => ''))
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Docker is up and running!')
    const said = `${r.stdout}\n${r.stderr}`
    if (process.arch === 'x64') {
      expect(said).toContain('QEMU acceleration: tcg (software emulation, slow) because an aarch64 guest on an x86_64 host can only be emulated')
    }
    dockerEnv = await machineEnv()
    expect(dockerEnv.DOCKER_HOST).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    const v = docker(['version', '--format', '{{.Server.Os}}/{{.Server.Arch}}'])
    expect(v.err).toBe('')
    expect(v.out.trim()).toBe('linux/arm64')
    console.log(`qemu-arm64 e2e: create → docker answering took ${secs(Date.now() - t0)} (create itself ${secs(r.ms)})`)
    expect(docker(['info', '--format', '{{.Architecture}}']).out.trim()).toBe('aarch64')
  }, 25 * MIN)

  it('inspect and ls show the architecture', async () => {
    const i = await runCli(['inspect', '--format', '{{.Driver.Arch}} {{.Driver.AccelUsed}}', NAME], { store })
    if (process.arch === 'x64') expect(i.stdout.trim()).toBe('aarch64 tcg')
    else expect(i.stdout.trim()).toMatch(/^aarch64 (kvm|hvf|tcg)$/)
    const ls = await runCli(['ls', '--format', '{{.Name}} {{.DriverName}} {{.Arch}} {{.State}}'], { store })
    expect(ls.stdout).toBe(`${NAME} qemu aarch64 Running\n`)
  }, 2 * MIN)

  it('runs an arm64 container: uname -m prints aarch64', async () => {
    const imp = docker(['import', '-', IMAGE], await busyboxRootfsTar(img.busybox, work))
    expect(imp.code, imp.err).toBe(0)
    const run = docker(['run', '--rm', IMAGE, '/bin/busybox', 'uname', '-m'])
    expect(run.err).toBe('')
    expect(run.out).toBe('aarch64\n')
  }, 10 * MIN)

  it('stop → Stopped, start → Running, and the container runs again', async () => {
    const t0 = Date.now()
    const stop = await runCli(['stop', NAME], { store, timeoutMs: 5 * MIN })
    expect(stop.code, stop.stderr).toBe(0)
    expect((await runCli(['status', NAME], { store })).stdout).toBe('Stopped\n')
    expect(liveProcessesNaming(`machines/${NAME}/`)).toEqual([])
    const start = await runCli(['start', NAME], { store, timeoutMs: 15 * MIN })
    expect(start.code, start.stderr).toBe(0)
    expect((await runCli(['status', NAME], { store })).stdout).toBe('Running\n')
    dockerEnv = await machineEnv()
    expect(docker(['run', '--rm', IMAGE, '/bin/busybox', 'uname', '-m']).out).toBe('aarch64\n')
    console.log(`qemu-arm64 e2e: stop + start + docker run took ${secs(Date.now() - t0)}`)
  }, 22 * MIN)

  it('rm -y leaves no process, port or file behind', async () => {
    const cfg = JSON.parse(await readFile(join(store, `machines/${NAME}/config.json`), 'utf8'))
    const r = await runCli(['rm', '-y', NAME], { store, timeoutMs: 5 * MIN })
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(join(store, `machines/${NAME}`))).toBe(false)
    expect(liveProcessesNaming(`machines/${NAME}/`)).toEqual([])
    expect(await portOpen(Number(cfg.Driver.SSHPort))).toBe(false)
    expect(await portOpen(Number(cfg.Driver.EnginePort))).toBe(false)
    expect((await runCli(['ls', '-q'], { store })).stdout).toBe('')
  }, 6 * MIN)
})
