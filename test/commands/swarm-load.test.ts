import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServerCert } from '../../src/certs/certs.js'
import { expectCleanFailure, runCli, tempStore } from '../helpers/cli.js'
import { startFakeEngine, type FakeEngine, type FakeImages } from '../helpers/fake-engine.js'
import { fakeSwarmWorld } from '../helpers/fake-swarm.js'

// `machine swarm load` through the BUILT binary: three `none` machines in one swarm, recording
// fake TLS engines on 127.0.0.1 that save and load images (test/helpers/fake-engine.ts).

const sha = (): string => `sha256:${randomBytes(32).toString('hex')}`

describe('swarm load: a local image onto every node of a swarm', () => {
  let store: string
  const engines = new Map<string, FakeEngine>()
  const images = new Map<string, FakeImages>()
  const loads = (n: string) => engines.get(n)!.requests().filter((r) => r.startsWith('POST /images/load')).length
  const saves = (n: string) => engines.get(n)!.requests().filter((r) => r.startsWith('GET /images/get')).length
  // 3 MB: more than one progress step, and more than a socket buffer (it streams).
  const app = { id: sha(), content: randomBytes(3_000_000) }

  beforeAll(async () => {
    store = await tempStore()
    expect((await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', 'seed'], { store })).code).toBe(0)
    const ca = { cert: await readFile(join(store, 'certs', 'ca.pem'), 'utf8'), key: await readFile(join(store, 'certs', 'ca-key.pem'), 'utf8') }
    const server = await createServerCert(ca, 'engines', ['127.0.0.1'])
    const world = fakeSwarmWorld()
    for (const [i, n] of ['s1', 's2', 's3'].entries()) {
      images.set(n, new Map())
      engines.set(n, await startFakeEngine({ caCert: ca.cert, serverCert: server.cert, serverKey: server.key, swarm: world, hostname: n, images: images.get(n) }))
      const r = await runCli(['create', '-d', 'none', '--url', engines.get(n)!.url, n === 's1' ? '--swarm-master' : '--swarm', '--swarm-addr', `192.0.2.${30 + i}`, n], { store })
      expect(r.code, r.stderr).toBe(0)
    }
    images.get('s1')!.set('app:1', app)
  })
  afterAll(() => Promise.all([...engines.values()].map((e) => e.stop())))

  it('streams the image from the master into every other node, with progress, and they have the same ID', async () => {
    const r = await runCli(['swarm', 'load', 'app:1'], { store })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Loading app:1 from "s1" onto the swarm of "s1"')
    expect(r.stdout).toContain('Loading app:1 onto "s2"')
    expect(r.stdout).toContain('Loading app:1 onto "s3"')
    // The progress of each node: the bytes carried (3 MB and the fake's header line).
    expect(r.stdout.match(/^ {2}3\.0 MB loaded \(\d+s\)$/gm)).toHaveLength(2)
    expect(r.stdout).toContain('app:1 on every node of the swarm of "s1" (2 loaded, 0 had it)')
    for (const n of ['s2', 's3']) {
      expect(images.get(n)!.get('app:1')!.id).toBe(app.id)
      expect(images.get(n)!.get('app:1')!.content.equals(app.content)).toBe(true)
    }
    expect([saves('s1'), loads('s1'), loads('s2'), loads('s3')]).toEqual([2, 0, 1, 1])
  })

  it('skips the nodes that have the same image ID, and loads where the ID differs', async () => {
    images.get('s3')!.set('app:1', { id: sha(), content: Buffer.from('older build') })
    const r = await runCli(['swarm', 'load', 'app:1', '--cluster', 's2', '--json'], { store })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).data).toMatchObject({
      cluster: 's1',
      source: 's1',
      nodes: [
        { machine: 's2', result: 'present' },
        { machine: 's3', result: 'loaded', bytes: expect.any(Number) },
      ],
    })
    expect(images.get('s3')!.get('app:1')!.id).toBe(app.id)
    expect([loads('s2'), loads('s3')]).toEqual([1, 2])
  })

  it('--from takes the images from another machine (here a worker)', async () => {
    images.get('s2')!.set('tool:2', { id: sha(), content: Buffer.from('tool') })
    const r = await runCli(['swarm', 'load', 'tool:2', '--from', 's2'], { store })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('Loading tool:2 from "s2" onto the swarm of "s1"')
    expect(images.get('s1')!.get('tool:2')?.id).toBe(images.get('s2')!.get('tool:2')!.id)
    expect(images.get('s3')!.get('tool:2')?.id).toBe(images.get('s2')!.get('tool:2')!.id)
  })

  it('refuses in one line, loading nothing: an image no manager has, a machine not in a swarm, no such machine', async () => {
    const before = ['s1', 's2', 's3'].map(loads)
    const none = await expectCleanFailure(['swarm', 'load', 'nope:1'], store)
    expect(none.code).toBe('no-such-image')
    expect(none.line).toMatch(/^Error: No manager of the swarm of "s1" has nope:1 \("s1" has no nope:1\): load or pull it on "s1" first .*or name the machine that has it with --from$/)
    expect((await expectCleanFailure(['swarm', 'load', 'app:1', '--from', 's3', 'nope:1'], store)).line).toMatch(/^Error: Image nope:1 is not on "s3": /)
    expect((await expectCleanFailure(['swarm', 'load', 'app:1', '--cluster', 'seed'], store)).code).toBe('not-in-swarm')
    expect((await expectCleanFailure(['swarm', 'load', 'app:1', '--cluster', 'nosuch'], store)).code).toBe('no-such-cluster')
    expect((await expectCleanFailure(['swarm', 'load', 'app:1', '--bogus'], store)).line).toMatch(/^Error: Nonexistent flag: --bogus /)
    expect(['s1', 's2', 's3'].map(loads)).toEqual(before)
  })

  it('an image the node cannot load is named with the engine’s reason, and nothing is recorded as loaded', async () => {
    images.get('s1')!.set('cut:1', { id: sha(), content: randomBytes(50_000), cut: true })
    const r = await runCli(['swarm', 'load', 'cut:1'], { store })
    expect(r.code).not.toBe(0)
    const err = r.stderr.trimEnd().split('\n')
    expect(err.slice(0, 2)).toEqual(['"s2": The engine of "s2" could not load the images: unexpected EOF', '"s3": The engine of "s3" could not load the images: unexpected EOF'])
    expect(err.at(-1)).toMatch(/^Error: cut:1 could not be loaded onto "s2", "s3": fix what/)
    expect(images.get('s2')!.has('cut:1')).toBe(false)
  })

  it('a node that is down is named, the others still get the image, and the exit is non-zero', async () => {
    images.get('s1')!.set('app:2', { id: sha(), content: randomBytes(100_000) })
    await engines.get('s2')!.stop()
    const r = await runCli(['swarm', 'load', 'app:2'], { store })
    expect(r.code).not.toBe(0)
    expect(images.get('s3')!.get('app:2')?.id).toBe(images.get('s1')!.get('app:2')!.id)
    const err = r.stderr.trimEnd().split('\n')
    expect(err[0]).toMatch(/^"s2": Docker engine of machine "s2" at 127\.0\.0\.1:\d+ refused the connection \(ECONNREFUSED\): check that "s2" is running/)
    expect(err.at(-1)).toMatch(/^Error: app:2 could not be loaded onto "s2" \(the other nodes have it\): fix what each line above says \(".*(machine|run\.js) start s2" if it is stopped\) and run this again/)
  })
})
