import { spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { hintCommand, renderEnv, shellStyle } from '../../src/core/env-render.js'
import { MachineError } from '../../src/core/errors.js'
import { tempDir } from '../helpers/tmp.js'

// `eval "$(machine env NAME)"` must set each variable to exactly its value, whatever the value
// holds (a --url, an imported config.json, a store path): never run a command, never break the
// eval. Posix output is checked with the real bash and dash; fish, tcsh and PowerShell with the
// real shell when installed and always with a reference unquoter below, written from each
// shell's documented quoting rules; cmd and emacs with the reference unquoter only.

const has = (cmd: string): boolean => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd]).status === 0

let dir = ''
let marker = ''
beforeAll(async () => {
  dir = await tempDir('env-quoting-')
  marker = join(dir, 'ran')
})

/** Values that would run a command, expand something or break the line if written unquoted. */
const hostile = (m: string): string[] => [
  `$(touch ${m})`,
  `\`touch ${m}\``,
  `tcp://127.0.0.1:2376/$(touch ${m})`,
  `"; touch ${m}; echo "`,
  `'; touch ${m}; echo '`,
  `\\"; touch ${m}; echo \\"`,
  `a; touch ${m}`,
  `x && touch ${m}`,
  `x | touch ${m}`,
  `"$(touch ${m})"`,
  `'$(touch ${m})'`,
  `\\$(touch ${m})`,
  '"',
  '\\',
  "'",
  '\\\\',
  "\\'",
  '\\"',
  "''",
  '$HOME',
  '${HOME}',
  '$env:PATH',
  '$Env:PATH',
  '`$x`',
  '!',
  '!!',
  'a!b',
  '!-1',
  '*',
  '/tmp/*',
  '?',
  '[a]',
  '{a,b}',
  '~',
  '~/x',
  '#x',
  'a #b',
  'a  b',
  ' lead',
  'trail ',
  ';',
  '&&',
  '(x)',
  '%PATH%',
  '^&|<>',
  'a=b',
  'ünïcödé ☃ 😀',
  '“smart” ‘quotes’',
  '’; touch M',
  'C:\\Users\\x y\\.docker\\machine',
  '',
]

/** Ordinary values: docker-machine's double-quoted form, byte for byte, in every shell. */
const ordinary = ['1', 'tcp://192.168.99.100:2376', '/home/u/.docker/machine/machines/dev', 'my-machine_2', 'a, b', '/Users/Jane Doe/.docker/machine/machines/d 1']

const VARS = ['DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_MACHINE_NAME', 'NO_PROXY'] as const
const render = (shell: string, value: string) =>
  renderEnv({ shell, vars: VARS.map((k) => [k, value] as const), command: ['machine', 'env', 'm'] })

/** Runs `program args…` on the rendered env in `file`; the variables come back NUL-separated. */
function evalIn(program: string, args: string[], text: string, input?: string): { vars: string[]; status: number | null; stderr: string } {
  const file = join(dir, 'env.txt')
  writeFileSync(file, text)
  const r = spawnSync(program, [...args, file], { encoding: 'utf8', cwd: dir, input, env: { PATH: process.env.PATH, HOME: '/nonexistent-home', HISTFILE: '/dev/null' } })
  return { vars: r.stdout.split('\0').slice(0, -1), status: r.status, stderr: r.stderr }
}
const POSIX_READ = 'eval "$(cat "$1")"; printf "%s\\0" "$DOCKER_HOST" "$DOCKER_CERT_PATH" "$DOCKER_MACHINE_NAME" "$NO_PROXY"'

describe('posix output through the real shells', () => {
  const shells = [['bash', 'bash'], ['sh', 'dash'], ['zsh', 'zsh'], ['ksh', 'ksh']].filter(([, p]) => has(p!))
  it('bash and dash are here to run this', () => {
    expect(shells.map(([, p]) => p)).toEqual(expect.arrayContaining(['bash', 'dash']))
  })

  for (const [shell, program] of shells) {
    it(`${program}: eval "$(…)" sets each variable to exactly the value and runs nothing`, () => {
      for (const v of [...hostile(marker), ...ordinary]) {
        const r = evalIn(program!, ['-c', POSIX_READ, program!], render(shell!, v))
        expect({ v, stderr: r.stderr, status: r.status }).toEqual({ v, stderr: '', status: 0 })
        expect(r.vars, `value ${JSON.stringify(v)}`).toEqual([v, v, v, v])
        expect(existsSync(marker), `value ${JSON.stringify(v)} ran a command`).toBe(false)
      }
    })
  }

  it('bash, interactive with history expansion on: pasting the lines gives exactly the value', () => {
    for (const v of hostile(marker)) {
      const out = join(dir, 'interactive.out')
      const file = join(dir, 'env.txt')
      writeFileSync(file, '')
      const input = `${render('bash', v)}printf "%s\\0" "$DOCKER_HOST" > ${out}\nexit\n`
      spawnSync('bash', ['--norc', '--noprofile', '-i'], { input, cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent-home', HISTFILE: '/dev/null' } })
      const got = spawnSync('cat', [out], { encoding: 'utf8' }).stdout
      expect(got, `value ${JSON.stringify(v)}`).toBe(`${v}\0`)
      expect(existsSync(marker)).toBe(false)
    }
  })

  it('the hint line is one comment line whose command bash parses back into the same words', () => {
    const words = [`/opt/$(touch ${marker})/mach ine`, '-s', `/st \`touch ${marker}\` "q" 'a' \\ !x $HOME`, 'env', 'm']
    const full = renderEnv({ shell: 'bash', vars: [['DOCKER_HOST', 'v']], command: words })
    const lines = full.trimEnd().split('\n')
    expect(lines).toHaveLength(3)
    const hint = lines[2]!
    expect(hint.startsWith('# eval "$(') && hint.endsWith(')"'), hint).toBe(true)
    // The command inside $(…) is parsed in a fresh quoting context, so parsing it alone is exact.
    const inner = hint.slice('# eval "$('.length, -')"'.length)
    writeFileSync(join(dir, 'words.sh'), `printf "%s\\0" ${inner}\n`)
    const r = spawnSync('bash', [join(dir, 'words.sh')], { encoding: 'utf8', cwd: dir })
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(words)
    expect(evalIn('bash', ['-c', POSIX_READ, 'bash'], full).vars[0]).toBe('v')
    expect(existsSync(marker)).toBe(false)
  })
})

// ---- Reference unquoters: each reads one word the way its shell's manual says, and throws on
// anything the shell would expand or act on, so a test passes only if the value comes back
// literally.

type WordReader = (s: string, i: number) => { value: string; end: number }
const live = (shell: string, s: string, i: number): never => {
  throw new Error(`${shell} would act on ${JSON.stringify(s[i])} at ${i} in ${s}`)
}

/** posix (bash/dash/zsh, POSIX.1 2.2): '…' literal; "…" with \ before $ ` " \ only; ! history. */
const posixWord: WordReader = (s, i) => {
  let out = ''
  while (i < s.length && s[i] !== ' ' && s[i] !== ';') {
    const c = s[i]!
    if (c === "'") {
      const close = s.indexOf("'", i + 1)
      if (close < 0) live('sh', s, i)
      out += s.slice(i + 1, close)
      i = close + 1
    } else if (c === '"') {
      i++
      while (s[i] !== '"') {
        if (i >= s.length) live('sh', s, i)
        if (s[i] === '$' || s[i] === '`' || s[i] === '!') live('sh', s, i)
        if (s[i] === '\\' && '$`"\\'.includes(s[i + 1]!)) i++
        out += s[i++]
      }
      i++
    } else if (c === '\\') {
      out += s[i + 1]
      i += 2
    } else if (/[A-Za-z0-9_./:=+,@%-]/.test(c)) out += s[i++]
    else live('sh', s, i)
  }
  return { value: out, end: i }
}

/** fish (Quotes, fish-doc): '…' with \\ and \' the only escapes; "…" with \" \$ \\; $ expands in "…". */
const fishWord: WordReader = (s, i) => {
  let out = ''
  while (i < s.length && s[i] !== ' ' && s[i] !== ';') {
    const c = s[i]!
    if (c === "'") {
      i++
      while (s[i] !== "'") {
        if (i >= s.length) live('fish', s, i)
        if (s[i] === '\\' && (s[i + 1] === '\\' || s[i + 1] === "'")) i++
        out += s[i++]
      }
      i++
    } else if (c === '"') {
      i++
      while (s[i] !== '"') {
        if (i >= s.length || s[i] === '$') live('fish', s, i)
        if (s[i] === '\\' && '"$\\'.includes(s[i + 1]!)) i++
        out += s[i++]
      }
      i++
    } else if (/[A-Za-z0-9_./:=+,@-]/.test(c)) out += s[i++]
    else live('fish', s, i)
  }
  return { value: out, end: i }
}

/** PowerShell (about_Quoting_Rules): '…' literal, a doubled quote is one ('‘’‚‛ all count); "…" expands $ and `. */
const SQ = "'\u2018\u2019\u201a\u201b"
const DQ = '"\u201c\u201d\u201e'
const pwshWord: WordReader = (s, i) => {
  let out = ''
  while (i < s.length && s[i] !== ' ') {
    const c = s[i]!
    if (SQ.includes(c)) {
      i++
      for (;;) {
        if (i >= s.length) live('powershell', s, i)
        if (SQ.includes(s[i]!)) {
          const next = s[i + 1]
          if (next === undefined || !SQ.includes(next)) break
          i++ // the tokenizer keeps the second quote of a pair
        }
        out += s[i++]
      }
      i++
    } else if (DQ.includes(c)) {
      i++
      while (!DQ.includes(s[i]!)) {
        if (i >= s.length || s[i] === '$' || s[i] === '`') live('powershell', s, i)
        out += s[i++]
      }
      i++
    } else if (/[A-Za-z0-9_./:=+\\-]/.test(c)) out += s[i++]
    else live('powershell', s, i)
  }
  return { value: out, end: i }
}

/**
 * tcsh (tcsh(1), Lexical structure): \ quotes any character outside quotes; in '…' a ! is still a
 * history reference and, with backslash_quote set, \ quotes; "…" expands $ ` and !.
 */
const tcshWord: WordReader = (s, i) => {
  let out = ''
  while (i < s.length && s[i] !== ' ' && s[i] !== ';') {
    const c = s[i]!
    if (c === "'") {
      i++
      while (s[i] !== "'") {
        if (i >= s.length || s[i] === '!' || s[i] === '\\') live('tcsh', s, i)
        out += s[i++]
      }
      i++
    } else if (c === '"') {
      i++
      while (s[i] !== '"') {
        if (i >= s.length || '$`!\\'.includes(s[i]!)) live('tcsh', s, i)
        out += s[i++]
      }
      i++
    } else if (c === '\\') {
      out += s[i + 1]
      i += 2
    } else if (/[A-Za-z0-9_./:=+,@%-]/.test(c)) out += s[i++]
    else live('tcsh', s, i)
  }
  return { value: out, end: i }
}

/** Emacs Lisp string syntax: "…" with \\ and \" (other escapes are not produced, so refused). */
const elispString: WordReader = (s, i) => {
  if (s[i] !== '"') live('emacs', s, i)
  let out = ''
  i++
  while (s[i] !== '"') {
    if (i >= s.length) live('emacs', s, i)
    if (s[i] === '\\') {
      if (s[i + 1] !== '\\' && s[i + 1] !== '"') live('emacs', s, i)
      i++
    }
    out += s[i++]
  }
  return { value: out, end: i + 1 }
}

/** The value one `set` line gives its variable, per the shell's rules; throws if anything is live. */
function unquoteLine(shell: string, line: string, name: string): string {
  const read = (prefix: string, word: WordReader, suffix: string): string => {
    expect(line.startsWith(prefix), line).toBe(true)
    const { value, end } = word(line, prefix.length)
    expect(line.slice(end), line).toBe(suffix)
    return value
  }
  switch (shellStyle(shell)) {
    case 'posix':
      return read(`export ${name}=`, posixWord, '')
    case 'fish':
      return read(`set -gx ${name} `, fishWord, ';')
    case 'powershell':
      return read(`$Env:${name} = `, pwshWord, '')
    case 'tcsh':
      return read(`setenv ${name} `, tcshWord, ';')
    case 'emacs':
      return read(`(setenv "${name}" `, elispString, ')')
    case 'cmd': {
      // SET NAME=value takes the rest of the line; cmd acts on % ! ^ & | < > " even there.
      const v = read(`SET ${name}=`, (s, i) => ({ value: s.slice(i), end: s.length }), '')
      const bad = /[%!^&|<>"]/.exec(v)
      if (bad) live('cmd', v, bad.index)
      return v
    }
  }
}

const SHELLS = ['bash', 'fish', 'powershell', 'cmd', 'tcsh', 'emacs'] as const
const CMD_REFUSES = /[%!^&|<>"]/

describe('every shell, read back by the reference unquoter', () => {
  for (const shell of SHELLS) {
    it(`${shell}: every hostile value comes back exactly${shell === 'cmd' ? ', or is refused with unsafe-env-value' : ''}`, () => {
      for (const v of hostile('/tmp/m')) {
        if (shell === 'cmd' && CMD_REFUSES.test(v)) {
          expect(() => render(shell, v)).toThrow(expect.objectContaining({ code: 'unsafe-env-value' }))
          continue
        }
        const lines = render(shell, v).split('\n')
        VARS.forEach((k, n) => expect(unquoteLine(shell, lines[n]!, k), `${shell} ${JSON.stringify(v)}`).toBe(v))
      }
    })
  }

  it('ordinary values keep docker-machine’s form in every shell', () => {
    for (const v of ordinary) {
      const first = (shell: string) => render(shell, v).split('\n')[0]
      expect(first('bash')).toBe(`export DOCKER_HOST="${v}"`)
      expect(first('fish')).toBe(`set -gx DOCKER_HOST "${v}";`)
      expect(first('powershell')).toBe(`$Env:DOCKER_HOST = "${v}"`)
      expect(first('cmd')).toBe(`SET DOCKER_HOST=${v}`)
      expect(first('tcsh')).toBe(`setenv DOCKER_HOST "${v}";`)
      expect(first('emacs')).toBe(`(setenv "DOCKER_HOST" "${v}")`)
    }
  })

  it('the exact literal forms', () => {
    const first = (shell: string, v: string) => render(shell, v).split('\n')[0]
    expect(first('bash', `it's $(x)`)).toBe(`export DOCKER_HOST='it'\\''s $(x)'`)
    expect(first('fish', `it's \\ $x`)).toBe(`set -gx DOCKER_HOST 'it\\'s \\\\ $x';`)
    expect(first('powershell', `it's ’ $x`)).toBe(`$Env:DOCKER_HOST = 'it''s ’’ $x'`)
    expect(first('tcsh', `it's !x \\`)).toBe(`setenv DOCKER_HOST 'it'\\''s '\\!'x '\\\\'';`)
    expect(first('emacs', `a"b\\c`)).toBe(`(setenv "DOCKER_HOST" "a\\"b\\\\c")`)
    expect(first('bash', 'it’s')).toBe('export DOCKER_HOST="it’s"')
  })

  it('cmd refuses what it would act on, naming the variable, the character and the way out', () => {
    let err: unknown
    try {
      renderEnv({ shell: 'cmd', vars: [['DOCKER_CERT_PATH', 'C:\\a%PATH%b']], command: ['machine'] })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MachineError)
    expect((err as MachineError).code).toBe('unsafe-env-value')
    expect((err as MachineError).line).toBe(
      'Cannot write DOCKER_CERT_PATH for cmd: its value "C:\\\\a%PATH%b" contains "%", which cmd would act on: use --shell powershell, or use a store path without such characters (-s or MACHINE_STORAGE_PATH)',
    )
  })
})

describe('control characters are refused for every shell', () => {
  const bad: Array<[string, string]> = [
    ['tcp://127.0.0.1:2376\ntouch /tmp/m', 'U+000A'],
    ['a\rb', 'U+000D'],
    ['a\0b', 'U+0000'],
    ['a\tb', 'U+0009'],
    ['a\u001b[2Jb', 'U+001B'],
    ['a\u007fb', 'U+007F'],
    ['a\u0085b', 'U+0085'],
  ]
  for (const shell of SHELLS) {
    it(shell, () => {
      for (const [v, cp] of bad) {
        let err: unknown
        try {
          render(shell, v)
        } catch (e) {
          err = e
        }
        expect(err, JSON.stringify(v)).toBeInstanceOf(MachineError)
        const e = err as MachineError
        expect(e.code).toBe('unsafe-env-value')
        expect(e.line).toMatch(new RegExp(`^Cannot write DOCKER_HOST for ${shell}: its value ".*" contains the control character ${cp.replace("+", "\\+")}: correct the machine's address`))
        expect(e.line.split('\n')).toHaveLength(1)
      }
      expect(() => render(shell, 'a\ud800b')).toThrow(/unpaired UTF-16 surrogate/)
      expect(() => render(shell, 'ok 😀')).not.toThrow()
    })
  }

  it('NO_PROXY from the environment names the variable to fix', () => {
    expect(() => renderEnv({ shell: 'bash', vars: [['no_proxy', 'a\nb']], command: ['machine'] })).toThrow(/^Cannot write no_proxy for bash: .*$/)
    try {
      renderEnv({ shell: 'bash', vars: [['no_proxy', 'a\nb']], command: ['machine'] })
    } catch (e) {
      expect((e as MachineError).hint).toBe('remove them from $no_proxy, or leave out --no-proxy')
    }
  })
})

describe('the hint line is safe to copy in every shell', () => {
  const words = (m: string) => [`/opt/$(touch ${m})/mach ine`, '-s', `/st \`touch ${m}\` "q" 'a' \\ !x $HOME ’`, 'env', 'm']
  const inner: Record<string, [string, string]> = {
    bash: ['# eval "$(', ')"'],
    fish: ['# eval (', ')'],
    powershell: ['# & ', ' | Invoke-Expression'],
    tcsh: [': eval `', '`'],
  }
  const readers: Record<string, WordReader> = { bash: posixWord, fish: fishWord, powershell: pwshWord, tcsh: tcshWord }

  for (const shell of ['bash', 'fish', 'powershell', 'tcsh'] as const) {
    it(`${shell}: the command's words read back as given`, () => {
      const w = shell === 'tcsh' ? words('/tmp/m').map((x) => x.replaceAll('`', '')) : words('/tmp/m')
      const hint = renderEnv({ shell, vars: [], command: w }).trimEnd().split('\n').pop()!
      const [pre, post] = inner[shell]!
      expect(hint.startsWith(pre) && hint.endsWith(post), hint).toBe(true)
      const cmdline = hint.slice(pre.length, -post.length)
      const got: string[] = []
      for (let i = 0; i < cmdline.length; ) {
        const r = readers[shell]!(cmdline, i)
        got.push(r.value)
        i = r.end + 1
      }
      expect(got).toEqual(w)
    })
  }

  it('emacs: the elisp string holds the posix-quoted command', () => {
    const w = words('/tmp/m')
    const hint = renderEnv({ shell: 'emacs', vars: [], command: w }).trimEnd().split('\n').pop()!
    const pre = ';; (with-temp-buffer (shell-command '
    expect(hint.startsWith(pre)).toBe(true)
    const { value, end } = elispString(hint, pre.length)
    expect(hint.slice(end)).toBe(' (current-buffer)) (eval-buffer))')
    expect(value).toBe(hintCommand('bash', w))
  })

  it('cmd: words it can quote are double-quoted; anything it cannot carry leaves the command out', () => {
    expect(hintCommand('cmd', ['C:\\my tools\\machine.exe', '-s', 'C:\\a&b (x)', 'env', 'm'])).toBe('"C:\\my tools\\machine.exe" -s "C:\\a&b (x)" env m')
    for (const w of ['C:\\100%', 'a"b', 'a^b', 'a!b', "a'b", 'a\nb']) expect(hintCommand('cmd', ['machine', '-s', w, 'env', 'm']), w).toBeUndefined()
    const out = renderEnv({ shell: 'cmd', vars: [], command: ['machine', '-s', 'C:\\100%', 'env', 'm'] })
    expect(out).toBe('REM Run this command to configure your shell: \nREM the command line is not shown as it has characters cmd cannot quote\n')
  })

  it('a newline in the command line never reaches the output (it would end the comment)', () => {
    for (const shell of SHELLS) {
      const out = renderEnv({ shell, vars: [['DOCKER_HOST', 'v']], command: ['machine', '-s', `/x\ntouch /tmp/m`, 'env', 'm'] })
      expect(out.split('\n'), shell).toHaveLength(4)
      expect(out).not.toContain('touch')
    }
  })

  it('tcsh: a backtick cannot be shown inside `…`, so the command is left out', () => {
    expect(hintCommand('tcsh', ['machine', '-s', '/a`b', 'env', 'm'])).toBeUndefined()
  })
})

// Real fish, tcsh and PowerShell where installed. None may be: the reference unquoter above
// covers them either way, and a missing shell adds no test rather than a skipped one.
const REAL: Array<[shell: string, program: string, args: string[]]> = [
  ['fish', 'fish', ['-c', 'eval (cat $argv[1]); printf "%s\\0" "$DOCKER_HOST" "$DOCKER_CERT_PATH" "$DOCKER_MACHINE_NAME" "$NO_PROXY"']],
  // "`…`", not the hint's bare `…`, which splits on blanks and globs (as docker-machine's did).
  ['tcsh', 'tcsh', ['-f', '-c', 'eval "`cat $1`"; printf "%s\\0" "$DOCKER_HOST" "$DOCKER_CERT_PATH" "$DOCKER_MACHINE_NAME" "$NO_PROXY"']],
  ['powershell', 'pwsh', ['-NoProfile', '-Command', '& { param($f) Get-Content $f | Invoke-Expression; [Console]::Out.Write("$Env:DOCKER_HOST`0$Env:DOCKER_CERT_PATH`0$Env:DOCKER_MACHINE_NAME`0$Env:NO_PROXY`0") }']],
]
const installed = REAL.filter(([, p]) => has(p))
if (installed.length) {
  describe('real fish, tcsh and PowerShell', () => {
    for (const [shell, program, args] of installed) {
      it(`${program}: every hostile value comes back exactly and runs nothing`, () => {
        for (const v of [...hostile(marker), ...ordinary]) {
          const r = evalIn(program, args, render(shell, v))
          expect(r.vars, `value ${JSON.stringify(v)} (${r.stderr})`).toEqual([v, v, v, v])
          expect(existsSync(marker)).toBe(false)
        }
      })
    }
  })
}
