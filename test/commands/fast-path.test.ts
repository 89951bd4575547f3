// The machine queries scripts run — inspect, status, url, ip, config, active — are answered on the
// fast path (src/fast/run.ts) without loading oclif: each must print exactly what the oclif
// command prints (MACHINE_NO_FAST_PATH=1 forces that path), on success, with --json and
// --format, and for a missing machine, a bad name or a bad flag value; and what only oclif can
// do (help, an unknown flag, a NAME on stdin, a machine on a plugin's driver) must still reach it.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadsOclif, runCli, tempStore, type CliResult } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const URL1 = 'tcp://127.0.0.1:23781'
const URL2 = 'tcp://127.0.0.1:23782'

let store: string
/** No DOCKER_HOST and a docker config of the test's own: `active` sees only what a test sets. */
let base: NodeJS.ProcessEnv

const answer = (r: CliResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr })

/** Run `args` on both paths; they must agree. Returns the fast path's answer. */
async function same(args: string[], env: NodeJS.ProcessEnv = {}, input = ''): Promise<CliResult> {
  const fast = await runCli(args, { store, env: { ...base, ...env }, input })
  const slow = await runCli(args, { store, env: { ...base, ...env, MACHINE_NO_FAST_PATH: '1' }, input })
  expect(answer(fast), args.join(' ')).toEqual(answer(slow))
  return fast
}

/** A machine saved by hand: a copy of n1's config under another name, changed by `edit`. */
async function copyOfN1(name: string, edit: (cfg: Record<string, any>) => void): Promise<void> {
  const cfg = JSON.parse(await readFile(join(store, 'machines', 'n1', 'config.json'), 'utf8'))
  cfg.Name = name
  cfg.Driver.MachineName = name
  edit(cfg)
  await mkdir(join(store, 'machines', name))
  await writeFile(join(store, 'machines', name, 'config.json'), JSON.stringify(cfg))
}

beforeAll(async () => {
  store = await tempStore()
  base = { DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_CONFIG: await tempDir('fast-docker-'), MACHINE_DEBUG: '', MACHINE_PROGRAM_NAME: 'machine' }
  for (const [name, url] of [['n1', URL1], ['n2', URL2]] as const) {
    const r = await runCli(['create', '-d', 'none', '--url', url, name], { store })
    expect(r.code, r.stderr).toBe(0)
  }
  // An imported docker-machine config may hold credentials: both paths redact them.
  await copyOfN1('imp', (cfg) => Object.assign(cfg.Driver, { URL: 'tcp://127.0.0.1:23783', SecretKey: 'do-not-print-me', AccessKey: 'nor-me' }))
}, 60_000)

describe('the machine queries answer on the fast path exactly as through oclif', () => {
  it('inspect: whole, --json, --format, credentials redacted, a bad template', async () => {
    expect(JSON.parse((await same(['inspect', 'n1'])).stdout)).toMatchObject({ DriverName: 'none', Driver: { URL: URL1 } })
    expect(JSON.parse((await same(['inspect', '--json', 'n1'])).stdout)).toMatchObject({ ok: true, command: 'inspect', data: { Name: 'n1' } })
    expect((await same(['inspect', '-f', '{{.DriverName}} {{.Driver.URL}}', 'n1'])).stdout).toBe(`none ${URL1}\n`)
    expect((await same(['inspect', '--format={{json .Driver.URL}}', 'n1'])).stdout).toBe(`"${URL1}"\n`)
    const imp = await same(['inspect', 'imp'])
    expect(JSON.parse(imp.stdout).Driver).toMatchObject({ SecretKey: '<redacted>', AccessKey: '<redacted>' })
    expect((await same(['inspect', '--json', 'imp'])).stdout).not.toContain('do-not-print-me')
    const bad = await same(['inspect', '-f', '{{.DriverName', 'n1'])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/^Error: [^\n]+\n$/)
  })

  it('status, url, ip and config: the answer and its --json envelope', async () => {
    expect((await same(['status', 'n1'])).stdout).toBe('Running\n')
    expect(JSON.parse((await same(['status', '--json', 'n1'])).stdout)).toEqual({ ok: true, command: 'status', data: { name: 'n1', state: 'Running' } })
    expect((await same(['url', 'n1'])).stdout).toBe(`${URL1}\n`)
    expect(JSON.parse((await same(['--json', 'url', 'n2'])).stdout).data).toEqual({ name: 'n2', url: URL2 })
    expect((await same(['ip', 'n1', 'n2'])).stdout).toBe('127.0.0.1:23781\n127.0.0.1:23782\n')
    expect(JSON.parse((await same(['ip', '--json', 'n2', 'n1'])).stdout).data).toEqual([
      { name: 'n2', ip: '127.0.0.1:23782' },
      { name: 'n1', ip: '127.0.0.1:23781' },
    ])
    const config = await same(['config', 'n1'])
    expect(config.stdout).toBe(`--tlsverify\n--tlscacert="${join(store, 'machines', 'n1', 'ca.pem')}"\n--tlscert="${join(store, 'machines', 'n1', 'cert.pem')}"\n--tlskey="${join(store, 'machines', 'n1', 'key.pem')}"\n-H=${URL1}\n`)
    expect(JSON.parse((await same(['config', '--json', 'n1'])).stdout).data).toMatchObject({ tlsverify: true, host: URL1 })
    // The global flags before the command, as docker-machine takes them.
    expect((await same(['-s', store, 'status', 'n2'], { MACHINE_STORAGE_PATH: '/nonexistent' })).stdout).toBe('Running\n')
  })

  it('active: the machine DOCKER_HOST names; none; a bad --timeout', async () => {
    expect((await same(['active'], { DOCKER_HOST: URL2 })).stdout).toBe('n2\n')
    expect(JSON.parse((await same(['active', '--json', '-t', '5'], { DOCKER_HOST: URL1 })).stdout).data).toEqual({ name: 'n1', url: URL1 })
    const none = await same(['active'])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/^Error: No active host found: \$DOCKER_HOST is not set/)
    const elsewhere = await same(['active'], { DOCKER_HOST: 'tcp://127.0.0.1:1' })
    expect(elsewhere.stderr).toBe('Error: No active host found: no running machine has the URL tcp://127.0.0.1:1\n')
    const timeout = await same(['active', '--timeout', '0'], { DOCKER_HOST: URL1 })
    expect(timeout.stderr).toMatch(/^Error: --timeout 0 is out of range/)
    expect(JSON.parse((await same(['active', '--json', '--timeout', 'x'], { DOCKER_HOST: URL1 })).stdout).error.code).toBe('invalid-timeout')
  })

  it('errors: a missing machine, a bad name, no NAME and no "default", one of several missing', async () => {
    for (const cmd of ['inspect', 'status', 'url', 'ip', 'config']) {
      const missing = await same([cmd, 'nosuch'])
      expect(missing.code, cmd).toBe(1)
      expect(missing.stdout, cmd).toBe('')
      expect(missing.stderr, cmd).toMatch(/^Error: Machine "nosuch" does not exist: run "machine ls"/)
      expect(JSON.parse((await same([cmd, '--json', 'nosuch'])).stdout).error.code, cmd).toBe('machine-not-found')
      const bad = await same([cmd, '../n1'])
      expect(bad.stderr, cmd).toMatch(/^Error: Invalid machine name "\.\.\/n1"/)
      const none = await same([cmd])
      expect(none.stderr, cmd).toMatch(/^Error: No machine name given and no "default" machine exists/)
    }
    const some = await same(['ip', 'n1', 'nosuch'])
    expect(some.code).toBe(1)
    expect(some.stderr).toMatch(/^Error: Machine "nosuch" does not exist/)
    expect((await same(['config', '--swarm', 'n1'])).stderr).toMatch(/^Error: "n1" is not a swarm master/)
  })

  it('without loading oclif (nor a cloud SDK or SSH for a none machine)', async () => {
    const env = { ...base, MACHINE_STORAGE_PATH: store }
    for (const args of [['inspect', 'n1'], ['status', '--json', 'n1'], ['url', 'n1'], ['ip', 'n1', 'n2'], ['config', 'n1'], ['status', 'nosuch']]) {
      expect(await loadsOclif(args, env), args.join(' ')).toBe(false)
    }
    expect(await loadsOclif(['active'], { ...env, DOCKER_HOST: URL1 })).toBe(false)
  })
})

describe('what the fast path leaves to oclif', () => {
  it('help, an unknown flag, too many names: oclif answers, the same as without the fast path', async () => {
    const env = { ...base, MACHINE_STORAGE_PATH: store }
    for (const args of [['status', '--help'], ['inspect', '--bogus', 'n1'], ['url', 'n1', 'n2'], ['config', '-x', 'n1']]) {
      await same(args)
      expect(await loadsOclif(args, env), args.join(' ')).toBe(true)
    }
    expect((await same(['url', 'n1', 'n2'])).stderr).toMatch(/Unexpected argument: n2/)
  })

  it('no NAME with one on stdin: oclif reads it, as without the fast path', async () => {
    for (const cmd of ['status', 'inspect', 'ip']) {
      const r = await same([cmd], {}, 'n2\n')
      expect(r.code, cmd).toBe(0)
    }
    expect((await same(['url'], {}, 'n2\n')).stdout).toBe(`${URL2}\n`)
    expect(await loadsOclif(['status'], { ...base, MACHINE_STORAGE_PATH: store }, 'n2\n')).toBe(true)
  })

  it('a machine on a plugin driver: status, url, ip and active go to oclif, which finds plugins (here: none installed)', async () => {
    const env = { ...base, MACHINE_STORAGE_PATH: store }
    // Its driver only a plugin provides. (Last: active and ls go to oclif from now on.)
    await copyOfN1('plug', (cfg) => (cfg.DriverName = 'example'))
    // inspect reads the saved config alone, whatever the driver: still the fast path.
    expect((await same(['inspect', '-f', '{{.DriverName}}', 'plug'])).stdout).toBe('example\n')
    expect(await loadsOclif(['inspect', 'plug'], env)).toBe(false)
    for (const args of [['status', 'plug'], ['url', 'plug'], ['ip', 'n1', 'plug']]) {
      const r = await same(args)
      expect(r.stderr, args.join(' ')).toMatch(/^Error: (plug: )?Machine "plug" uses driver "example", which is not installed: install the plugin/)
      expect(await loadsOclif(args, env), args.join(' ')).toBe(true)
    }
    await same(['active'], { DOCKER_HOST: URL1 })
    expect(await loadsOclif(['active'], { ...env, DOCKER_HOST: URL1 })).toBe(true)
    // A driver name that is a key of every JS object is no built-in driver, on either path.
    await copyOfN1('proto', (cfg) => (cfg.DriverName = 'toString'))
    expect((await same(['status', 'proto'])).stderr).toMatch(/^Error: Machine "proto" uses driver "toString", which is not installed/)
  })
})
