/**
 * A cluster on real QEMU VMs, through the built `machine` binary and the host's docker client:
 * a swarm master and a worker on the qemu driver's host-local network, a local image put on
 * both with `machine swarm load` (no registry), a Compose stack with one replica per node whose
 * published port answers on each VM's forward, stop/start of the worker (its node Down, then Ready
 * at the same address, the service back to a task per node), and rm of the worker leaving one node. Small VMs
 * (512 MB, 1 vCPU) so that two fit on a 2-core TCG host.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, tempStore } from '../helpers/cli.js'
import { liveProcessesNaming } from '../helpers/processes.js'
import { freePort } from '../helpers/sshd.js'
import { qemuFlags, testImage, type TestImage } from './image.js'

const MIN = 60_000
const IMAGE = 'machine-e2e/busybox:1'
const WEB_PORT = 8080
let store: string
let work: string
let img: TestImage
let dockerEnv: NodeJS.ProcessEnv = {}
const hostPort: Record<string, number> = {}

const parseEnv = (text: string): NodeJS.ProcessEnv => Object.fromEntries([...text.matchAll(/^export ([A-Z_]+)="(.*)"$/gm)].map((m) => [m[1]!, m[2]!]))

function docker(args: string[], input?: string | Buffer): { code: number; out: string; err: string } {
  const r = spawnSync('docker', args, { env: { ...process.env, ...dockerEnv }, input, encoding: 'utf8', timeout: 5 * MIN })
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Poll `fn` until it returns something, or fail with the last value it saw. */
async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`)
    await sleep(1000)
  }
}

const nodes = (): string[] =>
  docker(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])
    .out.split('\n')
    .filter(Boolean)
    .sort()

const secs = (t0: number): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`

/** The VM's serial console (kernel and boot messages), for a failure's report. */
const guestConsole = async (name: string): Promise<string> => {
  const f = join(store, `machines/${name}/console.log`)
  return existsSync(f) ? (await readFile(f, 'utf8')).split('\n').slice(-80).join('\n') : ''
}

async function createNode(name: string, swarmFlag: string): Promise<void> {
  hostPort[name] = await freePort()
  const t0 = Date.now()
  const r = await runCli(['create', ...qemuFlags(img), '--qemu-memory', '512', '--qemu-cpus', '1', '--qemu-port', `${hostPort[name]}:${WEB_PORT}`, swarmFlag, name], { store, timeoutMs: 20 * MIN })
  if (r.code !== 0) console.error(r.stdout, r.stderr, await guestConsole(name))
  expect(r.code).toBe(0)
  const created = secs(t0)
  if (!dockerEnv.DOCKER_HOST) dockerEnv = parseEnv((await runCli(['env', '--swarm', name], { store, env: { SHELL: '/bin/bash' } })).stdout)
  await until(`${name} Ready in docker node ls`, 3 * MIN, () => (nodes().includes(`${name} Ready`) ? true : undefined))
  console.log(`[swarm e2e] create ${swarmFlag} ${name}: machine created in ${created}, node Ready ${secs(t0)} after the create began`)
}

/** The page the stack's service serves on 127.0.0.1:port (a VM's forward of the published port). */
async function page(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })
    return res.ok ? (await res.text()).trim() : undefined
  } catch {
    return undefined
  }
}

const listening = (port: number) =>
  new Promise<boolean>((res) => {
    const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), res(true)))
    s.on('error', () => res(false))
  })

describe('end to end: a swarm of two qemu VMs, an image loaded on both, a stack across them', () => {
  beforeAll(async () => {
    img = testImage()
    store = await tempStore()
    work = await mkdtemp(join(tmpdir(), 'machine-e2e-swarm-'))
  }, 30 * MIN)

  afterAll(async () => {
    // Never leave a VM or a switch behind, whatever failed.
    await runCli(['rm', '-f', '-y', 's2', 's1'], { store, timeoutMs: 5 * MIN }).catch(() => undefined)
    await rm(work, { recursive: true, force: true })
  }, 6 * MIN)

  it('create --swarm-master then --swarm: through env --swarm, docker node ls shows 2 Ready nodes', async () => {
    await createNode('s1', '--swarm-master')
    await createNode('s2', '--swarm')
    expect(dockerEnv.DOCKER_HOST).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    expect(nodes()).toEqual(['s1 Ready', 's2 Ready'])
    // Both on the qemu network: its switch runs (and must be gone at the end).
    expect(liveProcessesNaming(join(store, 'networks', 'default'))).toHaveLength(1)
    const ls = await runCli(['ls', '--format', '{{.Name}} {{.Swarm}}'], { store })
    expect(ls.stdout).toBe('s1 s1 (master)\ns2 s1\n')
  }, 45 * MIN)

  it('machine swarm load puts an image imported on the master onto the worker, then skips it', async () => {
    const rootfs = join(work, 'rootfs')
    await mkdir(join(rootfs, 'bin'), { recursive: true })
    await copyFile('/bin/busybox', join(rootfs, 'bin/busybox'))
    await symlink('busybox', join(rootfs, 'bin/sh'))
    const tar = execFileSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 64 << 20 })
    expect(docker(['import', '-', IMAGE], tar).code).toBe(0)
    const id = docker(['image', 'inspect', '--format', '{{.Id}}', IMAGE]).out.trim()

    const t0 = Date.now()
    const r = await runCli(['swarm', 'load', IMAGE, '--cluster', 's1'], { store, timeoutMs: 10 * MIN })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Loading ${IMAGE} from "s1" onto the swarm of "s1"`)
    expect(r.stdout).toContain(`${IMAGE} on every node of the swarm of "s1" (1 loaded, 0 had it)`)
    console.log(`[swarm e2e] swarm load of ${IMAGE}: ${secs(t0)}`)
    const s2env = parseEnv((await runCli(['env', 's2'], { store, env: { SHELL: '/bin/bash' } })).stdout)
    const onS2 = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', IMAGE], { env: { ...process.env, ...s2env }, encoding: 'utf8', timeout: MIN })
    expect(onS2.stdout.trim()).toBe(id)

    const again = await runCli(['swarm', 'load', IMAGE], { store, timeoutMs: 5 * MIN })
    expect(again.code).toBe(0)
    expect(again.stdout).toContain(`"s2" has ${IMAGE} already (same image ID)`)
  }, 15 * MIN)

  it('docker stack deploy: one replica per node, the published port answers on each VM’s forward', async () => {
    const compose = join(work, 'compose.yml')
    await writeFile(
      compose,
      [
        'services:',
        '  web:',
        `    image: ${IMAGE}`,
        // The node's name, so a page says which VM served it.
        '    hostname: "{{.Node.Hostname}}"',
        `    command: ["/bin/sh", "-c", "/bin/busybox mkdir -p /www && /bin/busybox hostname > /www/index.html && exec /bin/busybox httpd -f -p ${WEB_PORT} -h /www"]`,
        `    ports: ["${WEB_PORT}:${WEB_PORT}"]`,
        '    deploy:',
        '      replicas: 2',
        '      placement:',
        '        max_replicas_per_node: 1',
        '',
      ].join('\n'),
    )
    const t0 = Date.now()
    // The image is on every node already: no registry is asked.
    const d = docker(['stack', 'deploy', '--resolve-image', 'never', '-c', compose, 'app'])
    expect(d.code, d.err).toBe(0)
    // "2/2 (max 1 per node)"
    await until('2/2 replicas of app_web', 5 * MIN, () => (/^2\/2\b/.test(docker(['service', 'ls', '--filter', 'name=app_web', '--format', '{{.Replicas}}']).out) ? true : undefined))
    console.log(`[swarm e2e] stack deploy to 2 tasks running: ${secs(t0)}`)
    const ps = docker(['service', 'ps', 'app_web', '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}'])
    expect(ps.out.split('\n').filter(Boolean).map((l) => l.replace(/ Running .*/, ' Running')).sort()).toEqual(['s1 Running', 's2 Running'])

    // Ingress mode: the port listens on every node and the mesh balances over both tasks, so
    // each VM's forward answers, and between them both nodes' pages are seen.
    const seen = new Set<string>()
    for (const name of ['s1', 's2']) {
      const first = await until(`a page on ${name}'s forward 127.0.0.1:${hostPort[name]}`, 2 * MIN, () => page(hostPort[name]!))
      seen.add(first)
      for (let i = 0; i < 4; i++) seen.add((await page(hostPort[name]!)) ?? '')
    }
    expect([...seen].filter(Boolean).sort()).toEqual(['s1', 's2'])
  }, 15 * MIN)

  it('stop of the worker: its node goes Down; start: Ready again at the same cluster address, and the service has a task on each node again', async () => {
    const addrOf = (n: string) => docker(['node', 'inspect', n, '--format', '{{.Status.Addr}}']).out.trim()
    const before = addrOf('s2')
    expect(before).toMatch(/^192\.168\.\d+\.\d+$/)

    let t0 = Date.now()
    const stop = await runCli(['stop', 's2'], { store, timeoutMs: 5 * MIN })
    expect(stop.code, stop.stderr).toBe(0)
    const stopped = secs(t0)
    await until('s2 Down in docker node ls', 2 * MIN, () => (nodes().includes('s2 Down') ? true : undefined))
    console.log(`[swarm e2e] stop s2: machine stopped in ${stopped}, node Down ${secs(t0)} after the stop began`)
    expect(nodes()).toEqual(['s1 Ready', 's2 Down'])

    t0 = Date.now()
    const start = await runCli(['start', 's2'], { store, timeoutMs: 10 * MIN })
    if (start.code !== 0) console.error(start.stdout, start.stderr, await guestConsole('s2'))
    expect(start.code, start.stderr).toBe(0)
    const started = secs(t0)
    await until('s2 Ready again in docker node ls', 3 * MIN, () => (nodes().includes('s2 Ready') ? true : undefined))
    console.log(`[swarm e2e] start s2: machine started in ${started}, node Ready ${secs(t0)} after the start began`)
    expect(nodes()).toEqual(['s1 Ready', 's2 Ready'])
    expect(addrOf('s2')).toBe(before)
    expect((await runCli(['ls', '--format', '{{.Name}} {{.Swarm}}'], { store })).stdout).toBe('s1 s1 (master)\ns2 s1\n')

    // The replica that had nowhere to go while s2 was Down (one per node) is placed on it again.
    const running = () =>
      docker(['service', 'ps', 'app_web', '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}'])
        .out.split('\n')
        .filter((l) => / Running /.test(l))
        .map((l) => l.split(' ')[0])
        .sort()
        .join(' ')
    await until('a running task of app_web on each node again', 5 * MIN, () => (running() === 's1 s2' ? true : undefined))
    console.log(`[swarm e2e] start s2: a task on each node again ${secs(t0)} after the start began`)
    expect(await until(`a page on s2's forward after its restart`, 2 * MIN, () => page(hostPort.s2!))).toMatch(/^s[12]$/)
  }, 15 * MIN)

  it('rm -y of the worker leaves one node; rm of the master leaves no process, port, socket or file', async () => {
    const r = await runCli(['rm', '-y', 's2'], { store, timeoutMs: 5 * MIN })
    expect(r.code, r.stderr).toBe(0)
    expect(nodes()).toEqual(['s1 Ready'])
    expect(liveProcessesNaming('machines/s2/')).toEqual([])

    expect((await runCli(['rm', '-y', 's1'], { store, timeoutMs: 5 * MIN })).code).toBe(0)
    expect((await runCli(['ls', '-q'], { store })).stdout).toBe('')
    // The VMs, the network's switch: nothing runs that names this store.
    expect(liveProcessesNaming(store)).toEqual([])
    for (const p of Object.values(hostPort)) expect(await listening(p)).toBe(false)
    expect(readdirSync(join(store, 'machines'))).toEqual([])
    expect(existsSync(join(store, 'networks', 'default'))).toBe(false)
  }, 15 * MIN)
})
