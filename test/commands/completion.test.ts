import { execFileSync } from 'node:child_process'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { BIN, runCli, tempStore } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

// Shell completion through the built binary and the real shells (bash, zsh, fish: .ci/run
// installs them). The store holds two machines made by `create`; completion reads its listing.
let store: string
let pathDir: string

beforeAll(async () => {
  store = await tempStore()
  for (const [name, port] of [['web1', 23761], ['db', 23762]] as const) {
    const r = await runCli(['create', '-d', 'none', '--url', `tcp://127.0.0.1:${port}`, name], { store })
    expect(r.code, r.stderr).toBe(0)
  }
  // `machine` on PATH, as an installed one is: the scripts call it by name.
  pathDir = await tempDir('machine-bin-')
  await writeFile(join(pathDir, 'machine'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`)
  await chmod(join(pathDir, 'machine'), 0o755)
})

const shellEnv = (): NodeJS.ProcessEnv => ({ ...process.env, MACHINE_STORAGE_PATH: store, PATH: `${pathDir}:${process.env.PATH}`, HOME: pathDir })

/** What `machine __complete` answers for the word under the cursor after `before`. */
async function ask(cur: string, ...before: string[]): Promise<string[]> {
  const r = await runCli(['__complete', `--cur=${cur}`, ...before], { store })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return r.stdout.split('\n').filter(Boolean)
}

describe('machine __complete (what the scripts ask on each Tab)', () => {
  it('completes commands, then a topic’s commands', async () => {
    const all = await ask('')
    expect(all).toEqual(expect.arrayContaining(['create', 'env', 'ls', 'rm', 'swarm', 'completion']))
    expect(all).not.toContain('swarm:init')
    expect(await ask('s')).toEqual(['scp', 'ssh', 'start', 'status', 'stop', 'swarm'])
    expect(await ask('j', 'swarm')).toEqual(['join'])
  })

  it('completes machine names from the store, not offering one already given', async () => {
    expect(await ask('', 'rm')).toEqual(['db', 'web1'])
    expect(await ask('', 'rm', 'web1')).toEqual(['db'])
    expect(await ask('w', 'env')).toEqual(['web1'])
    // env takes one name: nothing after it.
    expect(await ask('', 'env', 'web1')).toEqual([])
    // create names a new machine.
    expect(await ask('', 'create')).toEqual([])
    // The store given on the line (global flag before the command) is the one listed.
    const other = await tempStore()
    expect(await ask('', '-s', other, 'rm')).toEqual([])
  })

  it('completes flags and their values: drivers, driver option choices, shells, --filter', async () => {
    expect(await ask('--sw', 'env')).toEqual(['--swarm'])
    expect(await ask('', 'create', '-d')).toEqual(expect.arrayContaining(['amazonec2', 'azure', 'generic', 'google', 'none', 'qemu']))
    expect(await ask('--driver=q', 'create')).toEqual(['--driver=qemu'])
    expect(await ask('--qemu-arch=a', 'create', '-d', 'qemu')).toEqual(['--qemu-arch=aarch64'])
    expect(await ask('fi', 'env', '--shell')).toEqual(['fish'])
    expect(await ask('st', 'ls', '--filter')).toEqual(['state=', ':nospace'])
    expect(await ask('state=r', 'ls', '--filter')).toEqual(['state=Running'])
    expect(await ask('', 'swarm', 'join', 'db', '--cluster')).toEqual(['db', 'web1'])
    // A flag already given is not offered again; a path-valued one leaves it to the shell's files.
    expect(await ask('--', 'env', '--swarm')).not.toContain('--swarm')
    expect(await ask('', 'ls', '-s')).toEqual([':files'])
  })

  it('completes scp/mount machines as NAME: (no space after), keeping a user@ part', async () => {
    expect(await ask('w', 'scp')).toEqual(['web1:', ':nospace'])
    expect(await ask('root@d', 'scp')).toEqual(['root@db:', ':nospace'])
    expect(await ask('web1:/e', 'scp')).toEqual([])
  })

  it('prints nothing (never an error in the user’s line) for an unknown command or a broken store', async () => {
    expect(await ask('', 'nosuch')).toEqual([])
    const r = await runCli(['__complete', '--cur=', 'rm'], { store: '/dev/null/nope' })
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' })
  })
})

describe('machine completion SHELL', () => {
  it('refuses an unknown shell with one line naming the ones it knows', async () => {
    const r = await runCli(['completion', 'tcsh'], { store })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/bash, zsh, fish, powershell/)
  })

  it('bash: the script completes names, --flag=value and NAME: through bash’s own word splitting', async () => {
    const script = (await runCli(['completion', 'bash'], { store })).stdout
    expect(script).toContain('complete -F _machine_complete machine')
    // COMP_WORDS as bash makes them: '=' and ':' are word breaks of their own.
    const comp = (line: string): string[] => {
      const words = line.split(' ').flatMap((w) => w.split(/([=:])/).filter((p, i, a) => p !== '' || a.length === 1))
      if (line.endsWith(' ')) words.push('')
      const prog = `${script}
COMP_LINE=${shq(line)}; COMP_POINT=\${#COMP_LINE}
COMP_WORDS=(${words.map(shq).join(' ')}); COMP_CWORD=${words.length - 1}
_machine_complete; printf '%s\\n' "\${COMPREPLY[@]}"`
      return execFileSync('bash', ['--norc', '-c', prog], { env: shellEnv(), encoding: 'utf8' }).split('\n').filter(Boolean)
    }
    expect(comp('machine rm ')).toEqual(['db', 'web1'])
    expect(comp('machine sw')).toEqual(['swarm'])
    expect(comp('machine swarm j')).toEqual(['join'])
    // Bash keeps '--driver=' and replaces only what follows the last break.
    expect(comp('machine create --driver=q')).toEqual(['qemu'])
    expect(comp('machine scp w')).toEqual(['web1:'])
    expect(comp('machine ls --filter driver=n')).toEqual(['none'])
  })

  it('zsh: the script’s function offers the candidates through compadd', async () => {
    const script = (await runCli(['completion', 'zsh'], { store })).stdout
    expect(script.split('\n')[0]).toBe('#compdef machine')
    const comp = (...words: string[]): string => {
      // compadd and _files are zsh's completion builtins: recorded here, the rest is real zsh.
      const prog = `compdef() { :; }; compadd() { print -r -- "compadd $*" }; _files() { print -r -- _files }
${script}
words=(${words.map(shq).join(' ')}); CURRENT=${words.length}
_machine`
      return execFileSync('zsh', ['-f', '-c', prog], { env: shellEnv(), encoding: 'utf8' }).trim()
    }
    expect(comp('machine', 'rm', '')).toBe('compadd -- db web1')
    expect(comp('machine', 'scp', 'd')).toBe('compadd -S  -- db:')
    expect(comp('machine', 'ls', '--storage-path', '')).toBe('_files')
  })

  it('fish: `complete -C` in a real fish gives the candidates', async () => {
    const script = (await runCli(['completion', 'fish'], { store })).stdout
    const comp = (line: string): string[] =>
      execFileSync('fish', ['--no-config', '-c', `${script}\ncomplete -C ${shq(line)}`], { env: shellEnv(), encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]!)
    expect(comp('machine rm ')).toEqual(['db', 'web1'])
    expect(comp('machine create --qemu-arch ')).toEqual(['aarch64', 'x86_64'])
    expect(comp('machine env --shell p')).toEqual(['powershell', 'pwsh'])
  })

  it('powershell: a native argument completer for the program (no pwsh here: checked by content)', async () => {
    const script = (await runCli(['completion', 'powershell'], { store })).stdout
    expect(script).toContain("Register-ArgumentCompleter -Native -CommandName 'machine'")
    expect(script).toContain(`& 'machine' __complete "--cur=$wordToComplete" @before`)
  })
})

/** A POSIX shell single-quoted word (bash, zsh and fish read it the same for these inputs). */
const shq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`
