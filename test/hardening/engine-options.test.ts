import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { validateEngineOptions } from '../../src/core/engine-options.js'
import { MachineError } from '../../src/core/errors.js'
import type { EngineOptions } from '../../src/core/host-config.js'
import { expectCleanFailure, runCli, snapshot, tempStore } from '../helpers/cli.js'

// Issue 11, item 5: a newline in an engine option used to become a line of its own in the
// engine's systemd drop-in (an ExecStartPre= running as root on the host). Every value is now
// checked for its form at create, before the store is touched.

type Field = keyof EngineOptions | 'tlsSans'
interface FlagCase {
  flag: string
  field: Field
  /** A valid value; the injections are appended to it. */
  valid: string
  /** More valid values of this flag: all must be accepted. */
  good: string[]
  /** Values of the wrong form (no control characters): all must be refused. */
  bad: string[]
}

const FLAGS: FlagCase[] = [
  {
    flag: '--engine-label',
    field: 'Labels',
    valid: 'a=b',
    good: ['env=prod', 'com.example.tier=web', 'com.example.some-label=x y "z" $HOME 100%', 'k=', 'a1.b-2=ü'],
    bad: ['novalue', '=x', 'Env=prod', 'a_b=c', 'a..b=c', '-a=b', 'a.=b', 'a b=c'],
  },
  {
    flag: '--engine-env',
    field: 'Env',
    valid: 'A=b',
    good: ['HTTP_PROXY=http://proxy.local:3128', '_x=1', 'NO_PROXY=localhost,127.0.0.1', 'GREETING=hello "big" $world 100%', 'EMPTY='],
    bad: ['A', '=b', '1A=b', 'A-B=c', 'A B=c', 'Ä=b'],
  },
  {
    flag: '--engine-opt',
    field: 'ArbitraryFlags',
    valid: 'dns=8.8.8.8',
    good: ['dns=8.8.8.8', 'experimental', 'experimental=false', 'log-opt=tag={{.Name}}', 'default-ulimit=nofile=1024:2048', 'max-concurrent-downloads=3'],
    bad: ['--dns=8.8.8.8', '-D', 'Dns=1.1.1.1', '=x', '', '1dns=x', 'dns 8.8.8.8', 'dns;rm=x'],
  },
  {
    flag: '--engine-insecure-registry',
    field: 'InsecureRegistry',
    valid: 'registry.local:5000',
    good: ['registry.local', 'registry.local:5000', 'REG.example.com:443', '10.0.0.1:5000', '[fd00::1]:5000', '[::1]', '10.0.0.0/8', 'fd00::/8', 'http://registry.local:5000'],
    bad: ['registry.local:0', 'registry.local:65536', 'registry.local:', 'fd00::1:5000', 'user@registry.local', 'reg istry', 'registry.local/path', '-registry.local', '999.1.1.1', '10.0.0.0/33', 'ftp://registry.local'],
  },
  {
    flag: '--engine-registry-mirror',
    field: 'RegistryMirror',
    valid: 'https://mirror.local',
    good: ['https://mirror.local', 'http://mirror.local:5000', 'https://[fd00::1]:5000/v2/', 'mirror.local', 'https://mirror.local/a/b%20c'],
    bad: ['https://user:pw@mirror.local', 'https://mirror.local/?q=1', 'https://mirror.local/#f', 'ftp://mirror.local', 'https://', 'https://mirror.local:99999', 'https://mirror local'],
  },
  {
    flag: '--engine-storage-driver',
    field: 'StorageDriver',
    valid: 'overlay2',
    good: ['overlay2', 'fuse-overlayfs', 'devicemapper', 'vfs', 'zfs'],
    bad: ['Overlay2', 'overlay 2', '../x', 'overlay2;x', 'a/b'],
  },
  {
    flag: '--tls-san',
    field: 'tlsSans',
    valid: 'docker.local',
    good: ['docker.example.com', 'localhost', '203.0.113.7', '::1', 'fd00::1', '*.example.com', 'Docker-1.Example.COM'],
    bad: ['a b', '-bad.example', 'exa_mple.com', '1.2.3.999', 'docker.local:2376', 'https://docker.local', '[::1]', 'a..b'],
  },
]

// Each control character with the escape the user sees in the error line.
const CONTROLS: Array<[string, string]> = [['\n', '\\n'], ['\r', '\\r'], ['\0', '\\u0000'], ['\r\n', '\\r\\n'], ['\t', '\\t'], ['\x1b', '\\u001b'], ['\x7f', '\\u007f'], ['\x85', '\\u0085']]
const PAYLOAD = 'ExecStartPre=/bin/touch /tmp/pwned'

function validate(c: FlagCase, value: string): void {
  if (c.field === 'tlsSans') validateEngineOptions({}, [value])
  else if (c.field === 'StorageDriver') validateEngineOptions({ StorageDriver: value })
  else validateEngineOptions({ [c.field]: [value] } as Partial<EngineOptions>)
}

function refusal(c: FlagCase, value: string): MachineError {
  try {
    validate(c, value)
  } catch (e) {
    expect(e).toBeInstanceOf(MachineError)
    return e as MachineError
  }
  throw new Error(`${c.flag} ${JSON.stringify(value)} was accepted`)
}

describe('engine option values are checked for their form (validateEngineOptions)', () => {
  for (const c of FLAGS) {
    describe(c.flag, () => {
      it('refuses newline, CR, NUL and other control characters, naming the flag and the escaped value', () => {
        for (const [ctl, shown] of CONTROLS) {
          const value = `${c.valid}${ctl}${PAYLOAD}`
          const e = refusal(c, value)
          expect(e.code).toBe('invalid-engine-option')
          expect(e.message).toContain(c.flag)
          expect(e.message).toContain('control character')
          // The value is shown escaped: the user sees where the newline is, on one line.
          expect(e.message).toContain(`${c.flag} "${c.valid}${shown}${PAYLOAD}" `)
          expect(e.line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/)
          expect(e.hint).toMatch(/^write it as /)
        }
      })
      it('accepts the ordinary forms', () => {
        for (const v of [c.valid, ...c.good]) expect(() => validate(c, v), v).not.toThrow()
      })
      it('refuses values of the wrong form, saying which form is expected', () => {
        for (const v of c.bad) {
          const e = refusal(c, v)
          expect(e.code).toBe('invalid-engine-option')
          expect(e.message).toBe(`${c.flag} ${JSON.stringify(v)} is not ${e.message.split(' is not ')[1]}`)
          expect(e.hint).toMatch(/^write it as .*e\.g\. /)
        }
      })
    })
  }

  it('names the first bad value among many, and takes an all-default configuration', () => {
    expect(() => validateEngineOptions({ Labels: ['ok=1'], Env: [], ArbitraryFlags: [], InsecureRegistry: [], RegistryMirror: [], StorageDriver: '', InstallURL: 'https://get.docker.com', Dns: null, GraphDir: '', LogLevel: '' }, [])).not.toThrow()
    expect(() => validateEngineOptions({ Labels: ['ok=1', 'bad\n=2'] })).toThrow(/--engine-label "bad\\n=2"/)
  })

  it('refuses a non-string entry of a hand-edited config instead of rendering it', () => {
    expect(() => validateEngineOptions({ Labels: [42 as unknown as string] }, [], { machine: 'web1' })).toThrow(/EngineOptions\.Labels 42.*not a string/)
  })
})

describe('machine create refuses injected engine options before touching the store (built CLI)', () => {
  const base = ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376']
  for (const c of FLAGS) {
    it(`${c.flag} with a newline: one error line, nothing stored for n1`, async () => {
      const store = await tempStore()
      const value = `${c.valid}\nExecStartPre=/bin/touch /tmp/pwned`
      const before = await snapshot(store)
      const r = await expectCleanFailure([...base, c.flag, value, 'n1'], store)
      expect(r.code).toBe('invalid-engine-option')
      expect(r.line).toBe(`Error: ${c.flag} ${JSON.stringify(value)} contains a control character: ${refusal(c, value).hint}`)
      expect(existsSync(join(store, 'machines', 'n1'))).toBe(false)
      expect(await snapshot(store)).toEqual(before)
    })
  }

  it('the exact case of the issue: --engine-label $\'a=b\\nx\'', async () => {
    const store = await tempStore()
    const r = await runCli([...base, '--engine-label', 'a=b\nx', 'n1'], { store })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toBe('Error: --engine-label "a=b\\nx" contains a control character: write it as key=value, the key of lowercase letters, digits, "." and "-" (e.g. com.example.tier=web)\n')
    expect(existsSync(join(store, 'machines', 'n1'))).toBe(false)
    expect(await snapshot(store)).toEqual({})
  })

  it('stores ordinary but quote-heavy values exactly as given', async () => {
    const store = await tempStore()
    const label = 'com.example.note=it\'s "quoted" $HOME 100%'
    const envv = 'GREETING=hello "big" world'
    const r = await runCli([...base, '--engine-label', label, '--engine-env', envv, '--engine-opt', 'dns=8.8.8.8', '--tls-san', 'docker.local', 'n2'], { store })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const cfg = JSON.parse(await readFile(join(store, 'machines', 'n2', 'config.json'), 'utf8'))
    expect(cfg.HostOptions.EngineOptions).toMatchObject({ Labels: [label], Env: [envv], ArbitraryFlags: ['dns=8.8.8.8'] })
    expect(cfg.HostOptions.AuthOptions.ServerCertSANs).toEqual(['docker.local'])
  })
})
