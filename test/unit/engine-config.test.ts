import { execFileSync, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultEngineOptions, type EngineOptions } from '../../src/core/host-config.js'
import { dockerdArgs, quoteEnvironment, quoteExecArg, renderDropIn, renderTemplate } from '../../src/provision/engine-config.js'
import { tempDir } from '../helpers/tmp.js'

const base = { machineName: 'web1', driverName: 'generic', dockerd: '/usr/sbin/dockerd', port: 2376 }

/**
 * A reference reading of one unit-file value, following systemd.syntax(7) and systemd.service(5):
 * specifiers first (only %% is expected here: anything else would be expanded by systemd), then
 * words split on whitespace with "…"/'…' quoting and C escapes inside and outside quotes, an
 * unquoted ";" being a command separator.
 */
function splitUnitWords(value: string): string[] {
  const v = value.replace(/%(.?)/g, (_, c: string) => {
    if (c !== '%') throw new Error(`systemd would expand the specifier %${c}`)
    return '%'
  })
  const escapes: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', s: ' ', '\\': '\\', '"': '"', "'": "'" }
  const words: string[] = []
  let i = 0
  while (i < v.length) {
    while (v[i] === ' ' || v[i] === '\t') i++
    if (i >= v.length) break
    let word = ''
    let quotedAny = false
    let quote: string | undefined
    for (; i < v.length; i++) {
      const c = v[i]!
      if (c === '\\') {
        const e = escapes[v[i + 1] ?? '']
        if (e === undefined) throw new Error(`systemd would reject or reinterpret the escape \\${v[i + 1] ?? ''}`)
        word += e
        i++
      } else if (quote) {
        if (c === quote) quote = undefined
        else word += c
      } else if (c === '"' || c === "'") {
        quote = c
        quotedAny = true
      } else if (c === ' ' || c === '\t') break
      else word += c
    }
    if (quote) throw new Error('unterminated quote')
    if (word === ';' && !quotedAny) throw new Error('an unquoted ; separates commands')
    words.push(word)
  }
  return words
}

/** ExecStart='s variable substitution when the command runs: $$ is a $, $NAME / ${NAME} would expand. */
function execExpand(word: string): string {
  return word.replace(/\$(\$|\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|)/g, (m, rest: string) => {
    if (rest === '$') return '$'
    throw new Error(`systemd would substitute ${m} in ${JSON.stringify(word)}`)
  })
}

function parseDropIn(text: string): { argv: string[]; env: string[] } {
  const execs = text.split('\n').filter((l) => l.startsWith('ExecStart='))
  expect(execs[0]).toBe('ExecStart=')
  expect(execs).toHaveLength(2)
  const argv = splitUnitWords(execs[1]!.slice('ExecStart='.length)).map(execExpand)
  const env = text
    .split('\n')
    .filter((l) => l.startsWith('Environment='))
    .flatMap((l) => splitUnitWords(l.slice('Environment='.length)))
  return { argv, env }
}

/** Undo systemd's quote_command_line (as systemd-analyze dumps "Command Line:"). */
function unshell(line: string): string[] {
  const out: string[] = []
  let i = 0
  while (i < line.length) {
    while (line[i] === ' ') i++
    if (i >= line.length) break
    let w = ''
    if (line[i] === '"') {
      for (i++; line[i] !== '"'; i++) {
        if (i >= line.length) throw new Error(`unterminated quote in ${line}`)
        if (line[i] === '\\') i++
        w += line[i]
      }
      i++
    } else {
      while (i < line.length && line[i] !== ' ') w += line[i++]
    }
    out.push(w)
  }
  return out
}

const hasSystemdAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).status === 0

/** What systemd itself makes of the drop-in: its parsed argv (before run-time $ expansion) and environment. */
async function systemdParse(dropIn: string): Promise<{ argv: string[]; env: string[]; warnings: string[] }> {
  const dir = await tempDir('machine-unit-')
  const file = join(dir, 'machine-quote-test.service')
  writeFileSync(file, dropIn)
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug' } })
  const lines = r.stdout.split('\n').map((l) => l.trim())
  const cmd = lines.filter((l) => l.startsWith('Command Line: '))
  expect(cmd, r.stdout + r.stderr).toHaveLength(1)
  return {
    argv: unshell(cmd[0]!.slice('Command Line: '.length)),
    env: lines.filter((l) => l.startsWith('Environment: ')).map((l) => l.slice('Environment: '.length)),
    warnings: r.stderr.split('\n').filter((l) => l.includes(`${file}:`)),
  }
}

describe('engine configuration (systemd drop-in)', () => {
  it('renders the TLS ExecStart with docker-machine flags in order', () => {
    const text = renderDropIn({ ...base, engine: defaultEngineOptions() })
    const lines = text.split('\n')
    expect(lines).toContain('[Service]')
    expect(lines).toContain('ExecStart=')
    expect(lines).toContain(
      'ExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label provider=generic',
    )
    expect(text).not.toContain('{{')
  })
  it("gives dockerd containerd's socket only for a host where containerd is a service of its own, before the user's flags", () => {
    const e = { ...defaultEngineOptions(), ArbitraryFlags: ['containerd=/other.sock'] }
    const args = dockerdArgs({ ...base, engine: e, containerd: true })
    expect(args.slice(0, 6)).toEqual(['/usr/sbin/dockerd', '-H', 'tcp://0.0.0.0:2376', '-H', 'unix:///var/run/docker.sock', '--containerd=/run/containerd/containerd.sock'])
    // A user's --engine-opt containerd=… comes later, so it wins (dockerd takes the last one).
    expect(args.at(-1)).toBe('--containerd=/other.sock')
    expect(dockerdArgs({ ...base, engine: e, containerd: false }).filter((a) => a.startsWith('--containerd='))).toEqual(['--containerd=/other.sock'])
  })
  it('renders a typical configuration byte for byte (pinned)', () => {
    const e = {
      ...defaultEngineOptions(),
      Labels: ['env=prod', 'com.example.tier=web'],
      Env: ['HTTP_PROXY=http://proxy.local:3128', 'NO_PROXY=localhost,127.0.0.1', 'GREETING=hello "big" world'],
      InsecureRegistry: ['registry.local:5000', '10.0.0.0/8'],
      RegistryMirror: ['https://mirror.local'],
      StorageDriver: 'overlay2',
      ArbitraryFlags: ['log-driver=journald', 'experimental', 'dns=8.8.8.8'],
      Dns: ['1.1.1.1'],
      GraphDir: '/var/lib/docker',
      LogLevel: 'info',
      Ipv6: true,
    }
    // Byte-identical to the rendering before values were validated and $ escaped, except that an
    // --engine-opt is one argument, --name=value, as docker-machine passed it.
    expect(renderDropIn({ ...base, dockerd: '/usr/bin/dockerd', engine: e })).toBe(
      [
        '# Written by machine (web1). Edit with "machine provision" flags, not by hand:',
        '# the next "machine provision" or "regenerate-certs" rewrites this file.',
        '[Service]',
        'ExecStart=',
        'ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --storage-driver overlay2 --data-root /var/lib/docker --log-level info --ipv6 --dns 1.1.1.1 --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label env=prod --label com.example.tier=web --label provider=generic --insecure-registry registry.local:5000 --insecure-registry 10.0.0.0/8 --registry-mirror https://mirror.local --log-driver=journald --experimental --dns=8.8.8.8',
        'Environment=HTTP_PROXY=http://proxy.local:3128',
        'Environment=NO_PROXY=localhost,127.0.0.1',
        'Environment="GREETING=hello \\"big\\" world"',
        '',
      ].join('\n'),
    )
  })
  it('adds labels, registries, mirrors, storage driver and engine opts', () => {
    const e = {
      ...defaultEngineOptions(),
      Labels: ['env=prod'],
      InsecureRegistry: ['registry.local:5000'],
      RegistryMirror: ['https://mirror.local'],
      StorageDriver: 'overlay2',
      ArbitraryFlags: ['log-driver=journald', 'experimental=false'],
    }
    const args = dockerdArgs({ ...base, engine: e })
    expect(args.join(' ')).toContain('--storage-driver overlay2')
    // experimental=false stays one argument: "--experimental false" would make dockerd refuse to start.
    expect(args.join(' ')).toContain('--label env=prod --label provider=generic --insecure-registry registry.local:5000 --registry-mirror https://mirror.local --log-driver=journald --experimental=false')
  })
  it('quotes --engine-env values correctly (spaces and quotes survive)', () => {
    const text = renderDropIn({ ...base, engine: { ...defaultEngineOptions(), Env: ['HTTP_PROXY=http://p:3128', 'GREETING=hello "big" world'] } })
    expect(text).toContain('Environment=HTTP_PROXY=http://p:3128\n')
    expect(text).toContain('Environment="GREETING=hello \\"big\\" world"\n')
  })
  it('escapes systemd specifiers, variables, quotes and backslashes', () => {
    expect(quoteExecArg('100%')).toBe('100%%')
    expect(quoteExecArg('a\\b c')).toBe('"a\\\\b c"')
    expect(quoteExecArg('$HOME')).toBe('"$$HOME"')
    expect(quoteExecArg('')).toBe('""')
    expect(quoteExecArg(';')).toBe('";"')
    // Environment= does no $ expansion: a $ stays single there.
    expect(quoteEnvironment('A=$HOME 100%')).toBe('"A=$HOME 100%%"')
  })
  it('every argument, however odd, reads back as itself under systemd.syntax rules', () => {
    const odd = ['', ';', '\\;', '\\', 'a\\', '"', "'", "it's", '$', '$$', '${X}', '$X', 'a$X', '%', '%%', '%n', '100%', 'a b', ' lead', 'trail ', '=', '-x', '@', 'é ü', '{{.Name}}', '`id`', '$(id)', 'a"b\'c\\d$e%f g']
    for (const a of odd) expect(splitUnitWords(quoteExecArg(a)).map(execExpand)).toEqual([a])
    for (const a of odd) expect(splitUnitWords(quoteEnvironment(`V=${a}`))).toEqual([`V=${a}`])
  })
  it('refuses control characters in any value, even when validation is bypassed', () => {
    for (const c of ['\n', '\r', '\0', '\t', '\x1b', '\x7f', '\x85']) {
      expect(() => quoteExecArg(`a${c}ExecStartPre=/bin/touch /tmp/pwned`)).toThrow(/control character/)
      expect(() => quoteEnvironment(`A=b${c}ExecStartPre=/bin/touch /tmp/pwned`)).toThrow(/control character/)
    }
    expect(() => renderDropIn({ ...base, driverName: 'x\nExecStartPre=/bin/true', engine: defaultEngineOptions() })).toThrow(/control character/)
    expect(() => renderDropIn({ ...base, machineName: 'web1\nExecStartPre=/bin/true', engine: defaultEngineOptions() })).toThrow(/control character/)
  })
  it('checks a stored (possibly hand-edited) config before rendering, naming the key and machine', () => {
    const bad: Array<[keyof EngineOptions, unknown]> = [
      ['Labels', ['a=b\nExecStartPre=/bin/touch /tmp/pwned']],
      ['Env', ['A=b\nExecStartPre=/bin/touch /tmp/pwned']],
      ['ArbitraryFlags', ['dns=1.1.1.1\rExecStartPre=/bin/touch /tmp/pwned']],
      ['InsecureRegistry', ['r.local:5000\0']],
      ['RegistryMirror', ['https://m.local\nExecStartPre=/bin/true']],
      ['StorageDriver', 'overlay2\nExecStartPre=/bin/true'],
      ['GraphDir', '/var/lib/docker\nExecStartPre=/bin/true'],
      ['LogLevel', 'info\nx'],
      ['Dns', ['8.8.8.8\nx']],
    ]
    for (const [key, value] of bad) {
      const engine = { ...defaultEngineOptions(), [key]: value } as EngineOptions
      let err: { code?: string; message?: string; hint?: string } = {}
      try {
        renderDropIn({ ...base, engine })
      } catch (e) {
        err = e as typeof err
      }
      expect(err.code, key).toBe('invalid-engine-option')
      expect(err.message).toContain(`EngineOptions.${key}`)
      expect(err.message).toContain('"web1"')
      expect(err.message).not.toMatch(/[\n\r\0]/)
      expect(err.hint).toMatch(/config\.json/)
    }
  })
  it('fails loudly on an unknown placeholder', () => {
    expect(() => renderTemplate('{{nope}}', {})).toThrow(/nope/)
  })
})

describe('the drop-in as systemd reads it', () => {
  const tricky: EngineOptions = {
    ...defaultEngineOptions(),
    Labels: ['com.example.note=it\'s "quoted" \\ $HOME ${HOME} $$ 100% %n ; done', 'x=;'],
    Env: ['GREETING=hello "big" world', 'COST=$5 100% \\o/', 'SPEC=%n %i', 'HTTP_PROXY=http://proxy.local:3128', 'EMPTY='],
    ArbitraryFlags: ['log-opt=tag={{.Name}} $x %i', 'experimental'],
    InsecureRegistry: ['registry.local:5000', '[fd00::1]:5000'],
    RegistryMirror: ["https://mirror.local/p%41$x'y"],
    StorageDriver: 'overlay2',
    GraphDir: '/var/lib/my docker/$x%',
  }
  const input = { ...base, dockerd: '/bin/true', engine: tricky }
  const wantArgv = dockerdArgs(input)

  it('yields exactly the intended argv and environment (reference splitter)', () => {
    expect(wantArgv).toContain('com.example.note=it\'s "quoted" \\ $HOME ${HOME} $$ 100% %n ; done')
    const got = parseDropIn(renderDropIn(input))
    expect(got.argv).toEqual(wantArgv)
    expect(got.env).toEqual(tricky.Env)
  })

  it.runIf(hasSystemdAnalyze)('yields exactly the intended argv and environment (systemd-analyze verify)', async () => {
    const got = await systemdParse(renderDropIn(input))
    expect(got.warnings).toEqual([])
    // systemd keeps $$ in the stored argv and turns it into $ when it runs the command.
    expect(got.argv.map(execExpand)).toEqual(wantArgv)
    expect(got.env).toEqual(tricky.Env)
  })

  it.runIf(hasSystemdAnalyze)('proves the reference splitter on an unquoted injection it must catch', async () => {
    // What the old renderer would have produced for a label with a newline: systemd sees a new directive.
    const injected = '[Service]\nExecStart=\nExecStart=/bin/true --label a=b\nExecStartPre=/bin/touch /tmp/pwned\n'
    const dir = await tempDir('machine-unit-')
    const file = join(dir, 'machine-inject-test.service')
    writeFileSync(file, injected)
    const out = execFileSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'ignore'] })
    expect(out).toContain('/bin/touch /tmp/pwned')
  })
})
