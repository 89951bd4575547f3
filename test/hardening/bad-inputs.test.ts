import { spawnSync } from 'node:child_process'
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectCleanFailure, runCli, snapshot, tempStore } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

/**
 * The hardening table: bad input of every class, through the built CLI, each plain and with
 * --json. Every case must fail with one error line naming the problem and the fix, a JSON
 * envelope with a specific code and a hint, and leave the store byte-identical.
 */

// A marker that a shell metacharacter in an input would create if anything ran it.
let marker: string
let template: string

interface Case {
  args: string[]
  /** The JSON error code; undefined: any specific code (not the catch-all "error"). */
  code?: string
  env?: NodeJS.ProcessEnv
}

const NAMED_COMMANDS: string[][] = [
  ['rm', '-y', '-f'],
  ['env'],
  ['inspect'],
  ['config'],
  ['ssh'],
  ['ip'],
  ['status'],
  ['url'],
  ['start'],
  ['stop'],
  ['restart'],
  ['kill'],
  ['regenerate-certs', '-f'],
  ['provision'],
  ['upgrade'],
  ['version'],
  ['swarm', 'init'],
  ['swarm', 'leave', '-f'],
  ['swarm', 'join', '--cluster', 'm1'],
]
const BAD_NAMES = ['..', '../certs', '../../somewhere', '.', '/etc', 'a/b', 'm1\nx', ' m1']

function cases(): Case[] {
  const out: Case[] = []
  // 1. Traversal and malformed names on every command that takes one.
  for (const cmd of NAMED_COMMANDS) for (const name of BAD_NAMES) out.push({ args: [...cmd, name], code: 'invalid-name' })
  // Traversal names as the remote side of scp and mount: refused as names, never as paths.
  for (const source of ['../x:/srv', '.:/srv', '..:/srv', ':/srv', 'root@..:/srv', 'root@../certs:/srv']) {
    out.push({ args: ['mount', source, '/tmp/nowhere'], code: 'invalid-name' })
  }
  for (const [from, to] of [
    ['root@..:/a', './b'],
    ['./b', 'root@../certs:/a'],
    ['..:/a', './b'],
    ['./b', '.:/a'],
    ['root@:/a', './b'],
    ['m1:/a', 'root@../../somewhere:/a'],
  ]) {
    out.push({ args: ['scp', from!, to!], code: 'invalid-name' })
  }
  out.push({ args: ['scp', '../x:/a', './b'], code: 'usage' }) // a local path (scp's rule): no machine named
  for (const name of ['..', 'a/b', 'a'.repeat(64), 'a_b', '.hidden']) out.push({ args: ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', name], code: 'invalid-name' })

  // 2. Engine URLs: shell metacharacters, wrong schemes, ports, user info, paths.
  const urls = [
    `tcp://$(touch ${marker}):2376`,
    `tcp://\`touch ${marker}\`:2376`,
    'tcp://a"b:2376',
    'tcp://a\\b:2376',
    'http://127.0.0.1:2376',
    'tcp://127.0.0.1:0',
    'tcp://127.0.0.1:70000',
    'tcp://user:pw@127.0.0.1:2376',
    'tcp://127.0.0.1:2376/path',
    'tcp://127.0.0.1:2376?q=1',
    'tcp://127.0.0.1:2376\nexport X=1',
    'tcp://',
    '',
  ]
  for (const url of urls) out.push({ args: ['create', '-d', 'none', '--url', url, 'n1'], code: 'invalid-url' })

  // 5. Newline (and other control character) injection in every engine flag.
  // (NUL cannot be passed in an argument at all; the config.json route is covered in test/unit/engine-config.test.ts.)
  const inject = (v: string) => [`${v}\nExecStartPre=/bin/touch ${marker}`, `${v}\r\nx`, `${v}\u001bx`]
  const engineFlags: Array<[string, string]> = [
    ['--engine-label', 'a=b'],
    ['--engine-env', 'A=b'],
    ['--engine-opt', 'dns=127.0.0.1'],
    ['--engine-insecure-registry', 'registry.local:5000'],
    ['--engine-registry-mirror', 'https://mirror.local'],
    ['--engine-storage-driver', 'overlay2'],
    ['--tls-san', 'dev.local'],
  ]
  for (const [flag, v] of engineFlags) for (const bad of inject(v)) out.push({ args: ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', flag, bad, 'n1'], code: 'invalid-engine-option' })
  // Syntax, not only control characters.
  for (const [flag, bad] of [
    ['--engine-env', '1BAD=x'],
    ['--engine-opt', '--rm -rf'],
    ['--engine-storage-driver', 'a b'],
    ['--tls-san', 'a b'],
  ] as const) {
    out.push({ args: ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', flag, bad, 'n1'], code: 'invalid-engine-option' })
  }

  // 4. TLS path flags that must not create or overwrite key material.
  out.push({ args: ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', '--tls-ca-cert', '/nonexistent/dir/ca.pem', 'n1'] })
  out.push({ args: ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', '--tls-client-key', '/nonexistent/dir/key.pem', 'n1'] })

  // Robustness: flag ranges and filters.
  for (const cmd of ['ls', 'active']) {
    for (const t of ['-1', '0', '99999999999', '1.5', 'abc']) out.push({ args: [cmd, '--timeout', t], code: 'invalid-timeout', env: { DOCKER_HOST: 'tcp://127.0.0.1:2376' } })
  }
  out.push({ args: ['ls', '--filter', 'state=bogus'] })
  out.push({ args: ['ls', '--filter', 'nokey=1'] })
  out.push({ args: ['env', '--shell', '', 'm1'] })
  out.push({ args: ['env', '--shell', 'bogus', 'm1'] })
  out.push({ args: ['create', '-d', 'qemu', '--qemu-memory', '99999999999999', 'n2'] })
  // vmware: a login name goes into cloud-init and shells; boot2docker is gone.
  out.push({ args: ['create', '-d', 'vmware', '--vmware-ssh-user', `$(touch ${marker})`, 'n2'], code: 'invalid-option' })
  out.push({ args: ['create', '-d', 'vmware', '--vmware-ssh-user', 'ada\nroot', 'n2'], code: 'invalid-option' })
  out.push({ args: ['create', '-d', 'vmware', '--vmware-boot2docker-url', 'https://example.invalid/b2d.iso', 'n2'], code: 'invalid-option' })
  for (const r of ['99999999', '-1']) out.push({ args: ['create', '-d', 'amazonec2', '--amazonec2-retries', r, 'n2'], code: 'invalid-option' })
  // virtualbox: refused when the flags are read, before VBoxManage is ever run (none is on PATH here).
  for (const [flag, bad] of [
    ['--virtualbox-hostonly-cidr', '192.168.56.0/24'],
    ['--virtualbox-hostonly-cidr', '$(touch x)'],
    ['--virtualbox-share-folder', '/srv:../../etc'],
    ['--virtualbox-share-folder', "/srv:a'b"],
    ['--virtualbox-boot2docker-url', 'https://example.invalid/boot2docker.iso'],
    ['--virtualbox-cpu-count', '0'],
  ] as const) {
    out.push({ args: ['create', '-d', 'virtualbox', flag, bad, 'n2'], code: 'invalid-option' })
  }
  out.push({ args: ['create', '-d', 'nosuchdriver', 'n2'], code: 'unknown-driver' })
  out.push({ args: ['mount', 'm1', '/tmp/nowhere'], code: 'usage' })
  // Docker contexts (the flows: test/commands/docker-context.test.ts).
  out.push({ args: ['use'], code: 'usage' })
  out.push({ args: ['use', '--unset', 'm1'], code: 'usage' })
  out.push({ args: ['use', '--shell', 'bogus', 'm1'], code: 'unknown-shell' })
  out.push({ args: ['env', '--context', '--swarm', 'm1'], code: 'usage' })

  // Swarm mode (the flows with engines: test/commands/swarm.test.ts).
  const none = ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376']
  out.push({ args: [...none, '--swarm', '--swarm-discovery', 'token://0123456789abcdef', 'n2'], code: 'swarm-discovery' })
  out.push({ args: [...none, '--swarm-master', '--swarm-discovery', 'consul://10.0.0.1:8500', 'n2'], code: 'swarm-discovery' })
  out.push({ args: [...none, '--swarm', 'n2'], code: 'no-such-cluster' }) // no master in the store
  out.push({ args: [...none, '--swarm-cluster', 'nosuch', 'n2'], code: 'no-such-cluster' })
  out.push({ args: [...none, '--swarm-cluster', 'm1', 'n2'], code: 'no-such-cluster' }) // m1 is in no swarm
  out.push({ args: [...none, '--swarm-master', '--swarm-opt', 'replication', 'n2'], code: 'swarm-option' })
  out.push({ args: [...none, '--swarm', '--swarm-join-opt', 'ttl=30s', 'n2'], code: 'swarm-option' })
  out.push({ args: [...none, '--swarm-addr', '192.0.2.1', 'n2'], code: 'swarm-option' }) // joins nothing
  out.push({ args: [...none, '--swarm-master', '--swarm-addr', '$(touch x)', 'n2'], code: 'swarm-option' })
  out.push({ args: [...none, '--swarm-image', 'swarm:latest', 'n2'], code: 'swarm-option' }) // joins nothing
  // A qemu swarm machine joins a host-local network (default "default"); a network name is a
  // store path like a machine name, so one that climbs out of networks/ is refused before anything.
  out.push({ args: ['create', '-d', 'qemu', '--qemu-network', '../certs', '--swarm-master', 'q1'], code: 'invalid-option' })
  // A hardware accelerator that cannot run the guest here: another OS's, or the other architecture's.
  const foreignArch = process.arch === 'arm64' ? 'x86_64' : 'aarch64'
  out.push({ args: ['create', '-d', 'qemu', '--qemu-arch', foreignArch, '--qemu-accel', 'kvm', 'q2'], code: 'invalid-option' })
  out.push({ args: ['create', '-d', 'qemu', '--qemu-accel', process.platform === 'darwin' ? 'whpx' : 'hvf', 'q2'], code: 'invalid-option' })
  out.push({ args: ['swarm', 'init', 'm1', '--advertise-addr', '$(touch x)'], code: 'swarm-option' })
  out.push({ args: ['swarm', 'join', 'm1', '--cluster', 'nosuch', '--advertise-addr', 'a b'], code: 'swarm-option' })
  out.push({ args: ['swarm', 'join', 'm1', '--cluster', 'nosuch'], code: 'no-such-cluster' })
  out.push({ args: ['swarm', 'join', 'm1', '--cluster', 'm1'], code: 'usage' })
  out.push({ args: ['swarm', 'leave', 'm1'], code: 'not-in-swarm' })
  out.push({ args: ['swarm', 'ls', '--cluster', 'm1'], code: 'not-in-swarm' })
  out.push({ args: ['swarm', 'ls', '--cluster', 'nosuch'], code: 'no-such-cluster' })
  out.push({ args: ['env', '--swarm', 'm1'], code: 'not-swarm-master' })
  return out
}

const label = (c: Case) => JSON.stringify(c.args).slice(0, 110)

// Registered at collection time, so the marker path is fixed before the table is built.
marker = join('/tmp', `machine-hardening-pwned-${process.pid}`)
const TABLE = cases()

describe('hardening: every bad input fails cleanly and changes nothing', () => {
  beforeAll(async () => {
    template = await tempStore()
    const r = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', 'm1'], { store: template })
    expect(r.code, r.stderr).toBe(0)
    // Something outside machines/ that a traversal would reach.
    await mkdir(join(template, 'somewhere'), { recursive: true })
    await writeFile(join(template, 'somewhere', 'keep.txt'), 'keep')
  })

  afterAll(() => {
    expect(existsSync(marker), `a shell metacharacter ran: ${marker} exists`).toBe(false)
  })

  it(`the table holds at least 100 cases (${TABLE.length})`, () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(100)
  })

  describe.concurrent('each case', () => {
    for (const c of TABLE) {
      it(label(c), async () => {
        // scope 'file': a concurrent test's own clean-up would otherwise remove it mid-run.
        const store = join(await tempDir('machine-hard-', { scope: 'file' }), 'store')
        await cp(template, store, { recursive: true })
        const parent = await snapshot(join(store, '..'))
        const r = await expectCleanFailure(c.args, store, { env: c.env })
        if (c.code) expect(r.code, r.line).toBe(c.code)
        else expect(r.code, r.line).not.toBe('error')
        // One line naming the problem and the fix: "Error: <problem>: <fix>".
        expect(r.line, r.line).toMatch(/^Error: .+: .+/)
        expect(await snapshot(join(store, '..'))).toEqual(parent)
        expect(existsSync(marker)).toBe(false)
      })
    }
  })
})

describe('a store path full of shell metacharacters survives eval in the real bash', () => {
  it('DOCKER_CERT_PATH holds exactly the path and nothing runs', async () => {
    const base = await tempDir('machine-hard-')
    const store = join(base, `st $(touch ${marker}) \`touch ${marker}\` "q" 'a' \\b !x *`)
    const r = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', 'm1'], { store })
    expect(r.code, r.stderr).toBe(0)
    const env = await runCli(['env', '--shell', 'bash', 'm1'], { store })
    expect(env.code, env.stderr).toBe(0)
    const file = join(base, 'env.sh')
    await writeFile(file, env.stdout)
    const b = spawnSync('bash', ['-c', 'eval "$(cat "$1")"; printf %s "$DOCKER_CERT_PATH"', 'bash', file], { encoding: 'utf8', cwd: base })
    expect(b.status, b.stderr).toBe(0)
    expect(b.stdout).toBe(join(store, 'machines', 'm1'))
    expect(existsSync(marker)).toBe(false)
    expect(await readdir(base)).not.toContain('touch')
  })
})
