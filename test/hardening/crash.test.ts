import { spawn } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startChrootHost, type ChrootHost } from '../helpers/chroot-host.js'
import { BIN, ROOT, runCli, tempStore } from '../helpers/cli.js'
import { freePort } from '../helpers/sshd.js'

/**
 * SIGKILL at random points of `create` (seeded: CRASH_SEED=N reproduces a run), then what a
 * user finds must be consistent: every machine absent, complete, or shown as interrupted (by
 * `ls` and by `env`), `rm -f` removes an interrupted one, the CA and client pair in certs/ are
 * whole and match whenever present, and no temp file outlives the next create.
 */

const SEED = Number(process.env.CRASH_SEED ?? 11)

/** mulberry32: a small seeded PRNG, so a failing kill point can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Run {
  ms: number
  killed: boolean
  stdout: string
}

/**
 * Run the built CLI and SIGKILL it `killAfterMs` after spawning (or when `until` appears on
 * its stdout); a run that ends first is simply complete.
 */
function runAndKill(args: string[], store: string, o: { killAfterMs?: number; until?: string; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, MACHINE_STORAGE_PATH: store }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let killed = false
    const kill = () => {
      if (p.exitCode === null && !killed) {
        killed = true
        p.kill('SIGKILL')
      }
    }
    p.stdout.on('data', (d) => {
      stdout += d
      if (o.until && stdout.includes(o.until)) kill()
    })
    p.stderr.resume()
    const t = o.killAfterMs === undefined ? undefined : setTimeout(kill, o.killAfterMs)
    const guard = setTimeout(kill, o.timeoutMs ?? 60_000)
    p.on('error', reject)
    p.on('close', () => {
      clearTimeout(t)
      clearTimeout(guard)
      resolve({ ms: performance.now() - started, killed, stdout })
    })
  })
}

interface LsRow {
  Name: string
  DriverName: string
  State: string
  Error: string
}

async function lsRows(store: string): Promise<LsRow[]> {
  const r = await runCli(['ls', '--json', '--timeout', '2'], { store })
  expect(r.code, r.stderr).toBe(0)
  return (JSON.parse(r.stdout) as { data: LsRow[] }).data
}

/** Every file under `dir` (relative paths). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else out.push(relative(dir, p))
    }
  }
  await walk(dir)
  return out
}

const tempFiles = async (store: string) => (await filesUnder(store)).filter((f) => /\.tmp$|\.stale\./.test(f))

/** Both halves of a pair or neither; when both, the key is the certificate's (and the client's is signed by the CA). */
async function expectPairsIntact(store: string, where: string): Promise<void> {
  const certs = join(store, 'certs')
  const read = (f: string) => readFile(join(certs, f), 'utf8').catch(() => undefined)
  const [ca, caKey, cert, key] = await Promise.all([read('ca.pem'), read('ca-key.pem'), read('cert.pem'), read('key.pem')])
  expect(ca === undefined, `${where}: ca.pem and ca-key.pem both or neither`).toBe(caKey === undefined)
  expect(cert === undefined, `${where}: cert.pem and key.pem both or neither`).toBe(key === undefined)
  if (ca && caKey) expect(new X509Certificate(ca).checkPrivateKey(createPrivateKey(caKey)), `${where}: CA key matches`).toBe(true)
  if (cert && key) {
    expect(new X509Certificate(cert).checkPrivateKey(createPrivateKey(key)), `${where}: client key matches`).toBe(true)
    expect(ca && new X509Certificate(cert).verify(new X509Certificate(ca).publicKey), `${where}: client cert signed by the CA`).toBe(true)
  }
}

/**
 * After a kill of the create of `name`: the store as a user sees it is consistent, and an
 * interrupted machine is said to be so (ls, env) and removed by `rm -f`. Returns its fate.
 */
async function expectConsistent(store: string, name: string, where: string): Promise<'absent' | 'complete' | 'interrupted'> {
  await expectPairsIntact(store, where)
  const rows = await lsRows(store)
  for (const r of rows) {
    // No row may be a corrupt entry: each is complete (its driver known, no load error) or interrupted.
    const interrupted = r.State === 'Error' && r.Error === `create was interrupted: remove it with "machine rm -f ${r.Name}"`
    expect(interrupted || (r.DriverName !== 'not found' && r.State !== 'Error' && r.State !== 'Starting'), `${where}: row ${JSON.stringify(r)}`).toBe(true)
  }
  const row = rows.find((r) => r.Name === name)
  const dir = join(store, 'machines', name)
  if (!existsSync(dir)) {
    expect(row, `${where}: no row without a directory`).toBeUndefined()
    return 'absent'
  }
  expect(row, `${where}: a directory is listed`).toBeDefined()
  const env = await runCli(['env', name, '--shell', 'bash', '--json'], { store })
  if (row!.State === 'Error') {
    expect(JSON.parse(env.stdout).error?.code, `${where}: env on an interrupted machine`).toBe('create-interrupted')
    const rm = await runCli(['rm', '-f', name], { store })
    expect(rm.code, `${where}: rm -f: ${rm.stderr}`).toBe(0)
    expect(existsSync(dir), `${where}: rm -f removed the directory`).toBe(false)
    expect((await lsRows(store)).some((r) => r.Name === name)).toBe(false)
    return 'interrupted'
  }
  expect(env.code, `${where}: env on a complete machine: ${env.stdout}`).toBe(0)
  expect(existsSync(join(dir, '.creating')), `${where}: a complete machine has no marker`).toBe(false)
  return 'complete'
}

/** The next create (run to its end) leaves no temp file anywhere, and the store stays whole. */
async function expectCleanAfterNextCreate(store: string, url: string): Promise<void> {
  const r = await runCli(['create', '-d', 'none', '--url', url, 'final'], { store })
  expect(r.code, r.stderr).toBe(0)
  expect(await tempFiles(store)).toEqual([])
  await expectPairsIntact(store, 'after the final create')
}

describe(`SIGKILL during create (CRASH_SEED=${SEED})`, () => {
  it('create -d none: 15 kill points over the whole run', async () => {
    const store = await tempStore()
    const url = `tcp://127.0.0.1:${await freePort()}`
    const args = (name: string) => ['create', '-d', 'none', '--url', url, name]
    // Baseline on a fresh store (it makes the CA), so kill points cover the CA's making too.
    const base = await runAndKill(args('baseline'), await tempStore(), {})
    expect(base.killed).toBe(false)
    const rand = prng(SEED)
    const fates: Record<string, number> = {}
    const log: string[] = []
    for (let i = 0; i < 15; i++) {
      // Every third kill on a store of its own, so some land while the CA is being made.
      const s = i % 3 === 0 ? await tempStore() : store
      const at = Math.round(rand() * base.ms * 1.1)
      const where = `none kill #${i} at ${at} ms of ${Math.round(base.ms)}`
      const run = await runAndKill(args(`n${i}`), s, { killAfterMs: at })
      const fate = await expectConsistent(s, `n${i}`, where)
      if (!run.killed) expect(fate, `${where}: a create that ran to its end`).toBe('complete')
      fates[fate] = (fates[fate] ?? 0) + 1
      log.push(`${at}ms:${fate}`)
      if (s !== store) await expectCleanAfterNextCreate(s, url)
    }
    await expectCleanAfterNextCreate(store, url)
    console.log(`none (baseline ${Math.round(base.ms)} ms): ${log.join(' ')}`)
    // The points must have hit more than one phase, or the test proves little.
    expect(Object.keys(fates).length, JSON.stringify(fates)).toBeGreaterThan(1)
  }, 60_000)

  describe('create -d generic against a real sshd', () => {
    let host: ChrootHost
    beforeAll(async () => {
      host = await startChrootHost()
    }, 120_000)
    afterAll(async () => {
      await host?.stop()
    })

    it('5 kill points between start and the wait for the engine', async () => {
      const store = await tempStore()
      const enginePort = await freePort()
      const args = (name: string) => [
        'create', '-d', 'generic',
        '--generic-ip-address', '127.0.0.1',
        '--generic-ssh-port', String(host.port),
        '--generic-ssh-user', 'root',
        '--generic-ssh-key', host.userKeyPath,
        '--generic-engine-port', String(enginePort),
        name,
      ]
      // No engine answers on enginePort: the run is measured up to the wait for it, where
      // everything that writes (certificates, config, the host's files) is done.
      const until = 'Checking connection to Docker'
      const base = await runAndKill(args('g-base'), store, { until })
      expect(base.stdout).toContain(until)
      expect(await expectConsistent(store, 'g-base', 'generic baseline killed in the engine wait')).toBe('interrupted')
      const rand = prng(SEED + 1)
      const fates: string[] = []
      for (let i = 0; i < 5; i++) {
        const at = Math.round(rand() * base.ms)
        await runAndKill(args(`g${i}`), store, { killAfterMs: at, until })
        // None of these creates got to its end (no engine answers): none may look complete.
        const fate = await expectConsistent(store, `g${i}`, `generic kill #${i} at ${at} ms of ${Math.round(base.ms)}`)
        expect(fate).not.toBe('complete')
        fates.push(`${at}ms:${fate}`)
      }
      await expectCleanAfterNextCreate(store, `tcp://127.0.0.1:${enginePort}`)
      // Each kill point's fate, to read with the seed when a run fails.
      console.log(`generic (baseline ${Math.round(base.ms)} ms): ${fates.join(' ')}`)
    }, 60_000)
  })
})
