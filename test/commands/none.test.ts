import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runCli, snapshot, tempStore } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

// The none driver records an existing engine: these tests exercise the store, env, ls, inspect
// and rm through the built binary without any VM. Addresses are loopback only.
describe('machine create/ls/env/inspect/rm with the none driver', () => {
  let store: string
  beforeAll(async () => {
    store = await tempStore()
    const r = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23760', 'n1'], { store })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Creating machine')
    expect(r.stdout).toMatch(/env n1\)"\n$/)
  })

  it('creates a docker-machine-compatible store entry, secrets-free, files 0600', async () => {
    const cfgPath = join(store, 'machines', 'n1', 'config.json')
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'))
    expect(cfg).toMatchObject({ ConfigVersion: 3, DriverName: 'none', Name: 'n1', Driver: { URL: 'tcp://127.0.0.1:23760', MachineName: 'n1' } })
    expect(Object.keys(cfg)).toEqual(['ConfigVersion', 'Driver', 'DriverName', 'HostOptions', 'Name'])
    expect((await stat(cfgPath)).mode & 0o777).toBe(0o600)
    expect((await stat(join(store, 'certs', 'ca-key.pem'))).mode & 0o777).toBe(0o600)
    expect((await stat(join(store, 'machines', 'n1', 'key.pem'))).mode & 0o777).toBe(0o600)
  })

  it('env prints docker-machine’s bash format with our program in the hint', async () => {
    const r = await runCli(['env', 'n1'], { store, env: { SHELL: '/bin/bash' } })
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines.slice(0, 4)).toEqual([
      'export DOCKER_TLS_VERIFY="1"',
      'export DOCKER_HOST="tcp://127.0.0.1:23760"',
      `export DOCKER_CERT_PATH="${join(store, 'machines', 'n1')}"`,
      'export DOCKER_MACHINE_NAME="n1"',
    ])
    expect(lines[4]).toBe('# Run this command to configure your shell: ')
    expect(lines[5]).toMatch(/^# eval "\$\(.*(machine|run\.js) env n1\)"$/)
  })

  it('env works the same through oclif (no fast path) and with flags before the command', async () => {
    const fast = await runCli(['env', '--shell', 'fish', 'n1'], { store })
    const slow = await runCli(['env', '--shell', 'fish', 'n1'], { store, env: { MACHINE_NO_FAST_PATH: '1' } })
    expect(fast.stdout).toBe(slow.stdout)
    const global = await runCli(['-s', store, 'env', '--shell', 'fish', 'n1'], { env: { MACHINE_STORAGE_PATH: '/nonexistent' } })
    expect(global.stdout.split('\n')[0]).toBe('set -gx DOCKER_TLS_VERIFY "1";')
  })

  it('env prints the same hint line on the fast path and through oclif: the command line as typed', async () => {
    // Global flags before the command are moved after it for oclif (bin/run.js); the hint keeps the user's order.
    const args = ['-s', store, 'env', '--no-proxy', 'n1']
    const fast = await runCli(args, { env: { SHELL: '/bin/bash' } })
    const slow = await runCli(args, { env: { SHELL: '/bin/bash', MACHINE_NO_FAST_PATH: '1' } })
    expect(fast.stderr).toBe('')
    expect(slow.stderr).toBe('')
    const hint = (out: string) => out.split('\n').find((l) => l.startsWith('# eval'))
    expect(hint(fast.stdout)?.endsWith(` -s ${store} env --no-proxy n1)"`)).toBe(true)
    expect(hint(slow.stdout)).toBe(hint(fast.stdout))
    expect(slow.stdout).toBe(fast.stdout)
  })

  it('env --no-proxy appends the host, keeping existing entries; --unset clears', async () => {
    const r = await runCli(['env', '--no-proxy', 'n1'], { store, env: { SHELL: '/bin/bash', NO_PROXY: 'registry.internal', no_proxy: '' } })
    expect(r.stdout).toContain('export NO_PROXY="registry.internal,127.0.0.1"\n')
    const u = await runCli(['env', '-u'], { store, env: { SHELL: '/usr/bin/zsh' } })
    expect(u.stdout.split('\n').slice(0, 4)).toEqual(['unset DOCKER_TLS_VERIFY', 'unset DOCKER_HOST', 'unset DOCKER_CERT_PATH', 'unset DOCKER_MACHINE_NAME'])
  })

  it('env output sets a real shell up: eval it and read the variables back', async () => {
    const { execFileSync } = await import('node:child_process')
    const r = await runCli(['env', 'n1'], { store, env: { SHELL: '/bin/bash' } })
    const out = execFileSync('bash', ['-c', `${r.stdout}\necho "$DOCKER_HOST|$DOCKER_MACHINE_NAME|$DOCKER_TLS_VERIFY"`], { encoding: 'utf8' })
    expect(out.trim()).toBe('tcp://127.0.0.1:23760|n1|1')
  })

  it('env and ls load no cloud SDK, no SSH library, not the dashboard and not even oclif', async () => {
    const { spawnSync } = await import('node:child_process')
    const { readFile } = await import('node:fs/promises')
    const { BIN, ROOT } = await import('../helpers/cli.js')
    for (const cmd of [['env', 'n1'], ['ls']]) {
      const trace = join(await tempDir('trace-'), 'imports.txt')
      const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/helpers/trace-imports.mjs'), BIN, ...cmd], {
        env: { ...process.env, MACHINE_STORAGE_PATH: store, MACHINE_TRACE_IMPORTS: trace, SHELL: '/bin/bash' },
        encoding: 'utf8',
      })
      expect(r.status).toBe(0)
      const loaded = await readFile(trace, 'utf8')
      expect(loaded).toContain('src:src/fast/run.ts') // the trace works
      for (const heavy of ['@aws-sdk', '@google-cloud', '@azure', 'google-gax', '/ssh2/', 'node-forge', '@oclif/core', 'src:src/dashboard/', 'playwright']) {
        expect(loaded, `${cmd[0]} loaded ${heavy}`).not.toContain(heavy)
      }
    }
  })

  it('ls lists the machine; an unreachable engine shows in ERRORS, not as a failure', async () => {
    const r = await runCli(['ls'], { store })
    expect(r.code).toBe(0)
    const [header, row] = r.stdout.split('\n')
    expect(header).toMatch(/^NAME\s+ACTIVE\s+DRIVER\s+STATE\s+URL\s+SWARM\s+DOCKER\s+ERRORS$/)
    expect(row).toMatch(/^n1\s+-\s+none\s+Running\s+tcp:\/\/127\.0\.0\.1:23760\s+Unknown\s+.*ECONNREFUSED/)
  })

  it('ls shows the Docker version of a reachable TLS engine, and the active machine', async () => {
    const { createServer } = await import('node:https')
    const { createServerCert } = await import('../../src/certs/certs.js')
    // A TLS stand-in for dockerd on 127.0.0.1, trusting only client certs of this store's CA.
    const ca = { cert: await readFile(join(store, 'certs', 'ca.pem'), 'utf8'), key: await readFile(join(store, 'certs', 'ca-key.pem'), 'utf8') }
    const sc = await createServerCert(ca, 'eng', ['127.0.0.1'])
    const srv = createServer({ ca: ca.cert, cert: sc.cert, key: sc.key, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      res.end(req.url === '/_ping' ? 'OK' : JSON.stringify({ Version: '28.2.2', ApiVersion: '1.50' }))
    })
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    const url = `tcp://127.0.0.1:${(srv.address() as { port: number }).port}`
    try {
      expect((await runCli(['create', '-d', 'none', '--url', url, 'eng1'], { store })).code).toBe(0)
      const r = await runCli(['ls', '--filter', 'name=eng1'], { store, env: { DOCKER_HOST: url } })
      expect(r.stdout.split('\n')[1]).toMatch(new RegExp(`^eng1\\s+\\*\\s+none\\s+Running\\s+${url.replace(/\./g, '\\.')}\\s+v28\\.2\\.2\\s*$`))
      expect((await runCli(['active'], { store, env: { DOCKER_HOST: url } })).stdout).toBe('eng1\n')
    } finally {
      await runCli(['rm', '-y', 'eng1'], { store })
      await new Promise<void>((r) => srv.close(() => r()))
    }
  })

  it('ls -q, --filter and --format', async () => {
    await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23761', 'web2'], { store })
    expect((await runCli(['ls', '-q'], { store })).stdout).toBe('n1\nweb2\n')
    expect((await runCli(['ls', '-q', '--filter', 'name=^web'], { store })).stdout).toBe('web2\n')
    expect((await runCli(['ls', '--format', '{{.Name}} {{.DriverName}} {{.URL}}'], { store })).stdout).toBe('n1 none tcp://127.0.0.1:23760\nweb2 none tcp://127.0.0.1:23761\n')
    const active = await runCli(['ls', '--format', '{{.Name}}={{.Active}}'], { store, env: { DOCKER_HOST: 'tcp://127.0.0.1:23761' } })
    expect(active.stdout).toBe('n1=-\nweb2=*\n')
    const bad = await runCli(['ls', '--format', '{{.Nope}}'], { store })
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/^Error: Unknown --format field "Nope"/)
    await runCli(['rm', '-y', 'web2'], { store })
  })

  it('ls --json gives one envelope with the rows', async () => {
    const r = await runCli(['ls', '--json'], { store })
    const j = JSON.parse(r.stdout)
    expect(j.ok).toBe(true)
    expect(j.data.map((x: { Name: string }) => x.Name)).toEqual(['n1'])
  })

  it('inspect prints the config; --format reads a field', async () => {
    const r = await runCli(['inspect', 'n1'], { store })
    expect(JSON.parse(r.stdout).Driver.URL).toBe('tcp://127.0.0.1:23760')
    expect((await runCli(['inspect', '-f', '{{.DriverName}} {{.Driver.URL}}', 'n1'], { store })).stdout).toBe('none tcp://127.0.0.1:23760\n')
  })

  it('status, url, ip and config answer from the driver/config', async () => {
    expect((await runCli(['status', 'n1'], { store })).stdout).toBe('Running\n')
    expect((await runCli(['url', 'n1'], { store })).stdout).toBe('tcp://127.0.0.1:23760\n')
    expect((await runCli(['ip', 'n1'], { store })).stdout).toBe('127.0.0.1:23760\n')
    const c = await runCli(['config', 'n1'], { store })
    expect(c.stdout.split('\n')).toEqual([
      '--tlsverify',
      `--tlscacert="${join(store, 'machines', 'n1', 'ca.pem')}"`,
      `--tlscert="${join(store, 'machines', 'n1', 'cert.pem')}"`,
      `--tlskey="${join(store, 'machines', 'n1', 'key.pem')}"`,
      '-H=tcp://127.0.0.1:23760',
      '',
    ])
  })

  it('start/stop of a none machine say clearly they are not supported', async () => {
    const r = await runCli(['stop', 'n1'], { store })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toBe('Error: n1: the none driver cannot stop a machine\n')
  })

  it('rm -y removes the entry; rm without -y and without a terminal refuses', async () => {
    await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23762', 'gone'], { store })
    const refuse = await runCli(['rm', 'gone'], { store })
    expect(refuse.code).not.toBe(0)
    expect(refuse.stderr).toMatch(/^Error: Refusing to remove gone without confirmation: pass -y/)
    const r = await runCli(['rm', '-y', 'gone'], { store })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Successfully removed gone')
    expect((await runCli(['ls', '-q'], { store })).stdout).toBe('n1\n')
  })
})

describe('bad input: one clear line, exit ≠ 0, a --json error, and the store unchanged', () => {
  let store: string
  beforeAll(async () => {
    store = await tempStore()
    await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23770', 'ok1'], { store })
    await mkdir(join(store, 'machines', 'broken'), { recursive: true })
    await writeFile(join(store, 'machines', 'broken', 'config.json'), '{"ConfigVersion": 3, "Driver": ')
  })

  // Every case runs without $SHELL (as under cron or CI), so a shell guess never hides the real error.
  const cases: Array<[string, string[], RegExp, string]> = [
    ['invalid name', ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'bad_name'], /^Error: Invalid machine name "bad_name": use letters, digits/, 'invalid-name'],
    ['duplicate name', ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'ok1'], /^Error: Machine "ok1" already exists: choose another name/, 'machine-exists'],
    ['unknown driver', ['create', '-d', 'amazon', 'x1'], /^Error: Driver "amazon" not found: did you mean "amazonec2"\?/, 'unknown-driver'],
    ['missing required driver flag', ['create', '-d', 'none', 'x2'], /^Error: --url is required for the none driver: pass --url <value>$/, 'missing-option'],
    ['--url with another scheme', ['create', '-d', 'none', '--url', 'http://127.0.0.1', 'x3'], /^Error: Invalid --url "http:\/\/127\.0\.0\.1" \(the scheme must be tcp, not http\): write it as tcp:\/\/HOST:PORT, e\.g\. tcp:\/\/192\.168\.99\.100:2376$/, 'invalid-url'],
    ['--url unix://', ['create', '-d', 'none', '--url', 'unix:///var/run/docker.sock', 'x3'], /^Error: Invalid --url "unix:\/\/\/var\/run\/docker\.sock" \(the scheme must be tcp, not unix\)/, 'invalid-url'],
    ['--url with $(…) in the host', ['create', '-d', 'none', '--url', 'tcp://$(id):2376', 'x3'], /^Error: Invalid --url "tcp:\/\/\$\(id\):2376" \(the host "\$\(id\)" is not a host name or IP address\): write it as tcp:\/\/HOST:PORT/, 'invalid-url'],
    ['--url with backticks', ['create', '-d', 'none', '--url', 'tcp://`id`:2376', 'x3'], /^Error: Invalid --url "tcp:\/\/`id`:2376" \(the host/, 'invalid-url'],
    ['--url with user info', ['create', '-d', 'none', '--url', 'tcp://u:p@127.0.0.1:2376', 'x3'], /^Error: Invalid --url "tcp:\/\/u:p@127\.0\.0\.1:2376" \(it has user info\)/, 'invalid-url'],
    ['--url with a path', ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376/v1.40', 'x3'], /^Error: Invalid --url "tcp:\/\/127\.0\.0\.1:2376\/v1\.40" \(it has a path\)/, 'invalid-url'],
    ['--url with a query', ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376?x=$(id)', 'x3'], /^Error: Invalid --url .* \(it has a query or fragment\)/, 'invalid-url'],
    ['--url without a port', ['create', '-d', 'none', '--url', 'tcp://127.0.0.1', 'x3'], /^Error: Invalid --url "tcp:\/\/127\.0\.0\.1" \(it has no port\): write it as tcp:\/\/HOST:PORT/, 'invalid-url'],
    ['--url with port 0', ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:0', 'x3'], /^Error: Invalid --url "tcp:\/\/127\.0\.0\.1:0" \(the port "0" is not a number from 1 to 65535\)/, 'invalid-url'],
    ['--url with port 65536', ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:65536', 'x3'], /^Error: Invalid --url .* \(the port "65536" is not a number from 1 to 65535\)/, 'invalid-url'],
    ['--url with a space', ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376 ', 'x3'], /^Error: Invalid --url "tcp:\/\/127\.0\.0\.1:2376 " \(it contains whitespace or a control character\)/, 'invalid-url'],
    ['--url with a newline', ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376\ntouch /tmp/x', 'x3'], /^Error: Invalid --url "tcp:\/\/127\.0\.0\.1:2376\\ntouch \/tmp\/x" \(it contains whitespace or a control character\)/, 'invalid-url'],
    ['--url with an unbracketed IPv6 host', ['create', '-d', 'none', '--url', 'tcp://::1:2376', 'x3'], /^Error: Invalid --url "tcp:\/\/::1:2376" \(an IPv6 host must be in brackets/, 'invalid-url'],
    ['bad --engine-env', ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', '--engine-env', 'JUSTAWORD', 'x4'], /^Error: --engine-env "JUSTAWORD" is not .*: write it as .*NAME=value/, 'invalid-engine-option'],
    ['unknown machine', ['env', 'ghost'], /^Error: Machine "ghost" does not exist: run "machine ls"/, 'machine-not-found'],
    ['corrupt config.json', ['inspect', 'broken'], /^Error: Corrupt machine config .*broken\/config\.json: .*left untouched/, 'corrupt-config'],
    ['unknown shell', ['env', '--shell', 'klingon', 'ok1'], /^Error: Unknown shell "klingon": use --shell with one of/, 'unknown-shell'],
    ['empty --shell', ['env', '--shell', '', 'ok1'], /^Error: Unknown shell "": use --shell with one of/, 'unknown-shell'],
    ['unknown shell before unknown machine', ['env', '--shell', 'klingon', 'ghost'], /^Error: Unknown shell "klingon"/, 'unknown-shell'],
    ['no $SHELL and no --shell', ['env', 'ok1'], /^Error: Unknown shell: \$SHELL is not set: pass --shell bash \(or fish/, 'unknown-shell'],
    ['upgrade of a machine without SSH', ['upgrade', 'ok1'], /^Error: ok1: machines of the none driver have no SSH access, so their engine cannot be upgraded$/, 'not-supported'],
    ['unknown flag', ['ls', '--bogus'], /^Error: Nonexistent flag: --bogus/, 'usage'],
    ['unknown filter', ['ls', '--filter', 'colour=red'], /^Error: Unsupported filter key 'colour'/, 'invalid-filter'],
  ]

  for (const [what, args, line, code] of cases) {
    it(what, async () => {
      const before = await snapshot(store)
      const r = await runCli(args, { store, env: { SHELL: undefined } })
      expect(r.code).not.toBe(0)
      expect(r.stderr.trimEnd()).toMatch(line)
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(r.stdout).not.toMatch(/Error/)
      const j = await runCli([...args, '--json'], { store, env: { SHELL: undefined } })
      expect(j.code).not.toBe(0)
      const env = JSON.parse(j.stdout)
      expect(env).toMatchObject({ ok: false, error: { code } })
      expect(env.error.message.length).toBeGreaterThan(0)
      expect(await snapshot(store)).toEqual(before)
    })
  }

  it('create --url with $(touch …) fails on one line, writes no machine and runs nothing', async () => {
    const marker = join(await tempDir('url-marker-'), 'ran')
    const before = await snapshot(store)
    for (const url of [`tcp://$(touch ${marker}):2376`, `tcp://127.0.0.1:2376/$(touch ${marker})`, `tcp://\`touch ${marker}\`:2376`]) {
      const r = await runCli(['create', '-d', 'none', '--url', url, 'n1'], { store })
      expect(r.code).not.toBe(0)
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(/^Error: Invalid --url "tcp:\/\/.*" \(.*\): write it as tcp:\/\/HOST:PORT/)
      expect(await snapshot(store)).toEqual(before)
      expect((await runCli(['ls', '-q'], { store })).stdout.split('\n')).not.toContain('n1')
      expect(existsSync(marker)).toBe(false)
    }
  })

  it('create accepts tcp://HOST:PORT with a DNS name, an IPv6 address and a trailing slash', async () => {
    for (const [name, url] of [['v6', 'tcp://[::1]:2376'], ['slash', 'tcp://127.0.0.1:2376/'], ['dns', 'tcp://localhost:1']]) {
      const r = await runCli(['create', '-d', 'none', '--url', url!, name!], { store })
      expect(r.stderr, url).toBe('')
      expect(r.code).toBe(0)
      expect((await runCli(['url', name!], { store })).stdout).toBe(`${url}\n`)
      await runCli(['rm', '-y', name!], { store })
    }
  })

  it('ls still lists the good machines and shows the corrupt one with its error', async () => {
    const r = await runCli(['ls'], { store })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/\nbroken\s+not found\s+Error\s+Corrupt machine config/)
    expect(r.stdout).toMatch(/\nok1\s+-\s+none\s+Running/)
  })
})

// `eval "$(machine env NAME)"` with a store path, an imported URL and a program name full of
// shell syntax: every variable holds exactly its value and nothing runs.
describe('env output is quoted for the shell, whatever the store path, URL or program name', () => {
  let base: string
  let store: string
  const marker = (n: string) => join(base, `ran-${n}`)
  const READ = 'eval "$(cat "$1")"; printf "%s\\0" "$DOCKER_HOST" "$DOCKER_CERT_PATH" "$DOCKER_MACHINE_NAME"'
  const evalBash = async (text: string): Promise<string[]> => {
    const file = join(base, 'env.txt')
    await writeFile(file, text)
    const r = spawnSync('bash', ['-c', READ, 'bash', file], { encoding: 'utf8', cwd: base })
    expect(r.stderr).toBe('')
    return r.stdout.split('\0').slice(0, -1)
  }

  beforeAll(async () => {
    base = await tempDir('env-hostile-')
    // One path component, so the markers are relative: the eval below runs in `base`.
    store = join(base, `st $(touch ran-a) \`touch ran-b\` "q" 'a' \\ !x $HOME`)
    await mkdir(store)
    const r = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:23790', 'h1'], { store })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  it('a store path with $(…), backticks, quotes, \\ and ! comes back exactly, and the hint quotes the program', async () => {
    const program = `/opt/$(touch ${marker('c')})/machine`
    for (const extra of [{}, { MACHINE_NO_FAST_PATH: '1' }]) {
      const r = await runCli(['env', 'h1'], { store, env: { SHELL: '/bin/bash', MACHINE_PROGRAM_NAME: program, ...extra } })
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      expect(r.stdout.split('\n')[1]).toBe('export DOCKER_HOST="tcp://127.0.0.1:23790"')
      expect(r.stdout).toContain(`\n# eval "$('/opt/$(touch ${marker('c')})/machine' env h1)"\n`)
      expect(await evalBash(r.stdout)).toEqual(['tcp://127.0.0.1:23790', join(store, 'machines', 'h1'), 'h1'])
    }
    for (const m of ['a', 'b', 'c']) expect(existsSync(marker(m))).toBe(false)
  })

  it('an imported config.json whose URL holds shell syntax comes back exactly', async () => {
    const cfg = JSON.parse(await readFile(join(store, 'machines', 'h1', 'config.json'), 'utf8'))
    const url = `tcp://127.0.0.1:2376/$(touch ${marker('d')})\`touch ${marker('e')}\`'"`
    cfg.Name = 'imp'
    cfg.Driver.MachineName = 'imp'
    cfg.Driver.URL = url
    await mkdir(join(store, 'machines', 'imp'))
    await writeFile(join(store, 'machines', 'imp', 'config.json'), JSON.stringify(cfg))
    const r = await runCli(['env', 'imp'], { store, env: { SHELL: '/bin/bash' } })
    expect(r.stderr).toBe('')
    expect((await evalBash(r.stdout))[0]).toBe(url)
    for (const m of ['d', 'e']) expect(existsSync(marker(m))).toBe(false)
  })

  it('a URL with a newline, or a path cmd cannot carry, is one error line naming the variable', async () => {
    const cfg = JSON.parse(await readFile(join(store, 'machines', 'h1', 'config.json'), 'utf8'))
    cfg.Name = 'nl'
    cfg.Driver.MachineName = 'nl'
    // Parses as a URL (WHATWG drops the newline), so it reaches the env writer.
    cfg.Driver.URL = `tcp://127.0.0.1:2376/\ntouch${marker('f')}`
    await mkdir(join(store, 'machines', 'nl'))
    await writeFile(join(store, 'machines', 'nl', 'config.json'), JSON.stringify(cfg))
    const r = await runCli(['env', 'nl'], { store, env: { SHELL: '/bin/bash' } })
    expect(r.code).not.toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^Error: Cannot write DOCKER_HOST for bash: its value "tcp:\/\/127\.0\.0\.1:2376\/\\ntouch.*" contains the control character U\+000A: correct the machine's address .*\n$/)
    const j = await runCli(['env', 'nl', '--json'], { store, env: { SHELL: '/bin/bash' } })
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'unsafe-env-value' } })

    const c = await runCli(['env', '--shell', 'cmd', 'h1'], { store })
    expect(c.code).not.toBe(0)
    expect(c.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(c.stderr).toMatch(/^Error: Cannot write DOCKER_CERT_PATH for cmd: its value ".*" contains "\"", which cmd would act on: use --shell powershell, or use a store path without such characters/)
    expect(existsSync(marker('f'))).toBe(false)
  })
})
