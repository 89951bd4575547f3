import { describe, expect, it } from 'vitest'
import { detectShell, dockerEnvVars, hintCommand, noProxyVar, renderEnv, DOCKER_ENV_NAMES } from '../../src/core/env-render.js'
import { MachineError } from '../../src/core/errors.js'
import { errorLine } from '../helpers/errors.js'

const vars = dockerEnvVars({ url: 'tcp://127.0.0.1:12376', certPath: '/home/u/.docker/machine/machines/m2', name: 'm2' }, 'linux')
const cmd = ['machine', 'env', 'm2']

describe('env rendering (docker-machine byte-for-byte formats; the posix hint quotes its $(…))', () => {
  it('bash/sh/zsh', () => {
    const want =
      'export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp://127.0.0.1:12376"\nexport DOCKER_CERT_PATH="/home/u/.docker/machine/machines/m2"\nexport DOCKER_MACHINE_NAME="m2"\n# Run this command to configure your shell: \n# eval "$(machine env m2)"\n'
    for (const shell of ['bash', 'sh', 'zsh']) expect(renderEnv({ shell, vars, command: cmd })).toBe(want)
  })
  it('fish', () => {
    expect(renderEnv({ shell: 'fish', vars, command: ['machine', 'env', '--shell', 'fish', 'm2'] })).toBe(
      'set -gx DOCKER_TLS_VERIFY "1";\nset -gx DOCKER_HOST "tcp://127.0.0.1:12376";\nset -gx DOCKER_CERT_PATH "/home/u/.docker/machine/machines/m2";\nset -gx DOCKER_MACHINE_NAME "m2";\n# Run this command to configure your shell: \n# eval (machine env --shell fish m2)\n',
    )
  })
  it('powershell', () => {
    const out = renderEnv({ shell: 'powershell', vars, command: ['machine', 'env', '--shell', 'powershell', 'm2'] })
    expect(out.split('\n')[0]).toBe('$Env:DOCKER_TLS_VERIFY = "1"')
    expect(out).toContain('# & machine env --shell powershell m2 | Invoke-Expression\n')
  })
  it('cmd', () => {
    const out = renderEnv({ shell: 'cmd', vars, command: ['machine', 'env', '--shell', 'cmd', 'm2'] })
    expect(out.split('\n').slice(0, 2)).toEqual(['SET DOCKER_TLS_VERIFY=1', 'SET DOCKER_HOST=tcp://127.0.0.1:12376'])
    expect(out).toContain(`REM Run this command to configure your shell: \nREM \t@FOR /f "tokens=*" %i IN ('machine env --shell cmd m2') DO @%i\n`)
  })
  it('tcsh', () => {
    const out = renderEnv({ shell: 'tcsh', vars, command: ['machine', 'env', '--shell', 'tcsh', 'm2'] })
    expect(out.split('\n')[0]).toBe('setenv DOCKER_TLS_VERIFY "1";')
    expect(out).toContain(': Run this command to configure your shell: \n: eval `machine env --shell tcsh m2`\n')
  })
  it('emacs', () => {
    const out = renderEnv({ shell: 'emacs', vars, command: ['machine', 'env', '--shell', 'emacs', 'm2'] })
    expect(out.split('\n')[0]).toBe('(setenv "DOCKER_TLS_VERIFY" "1")')
    expect(out).toContain(';; (with-temp-buffer (shell-command "machine env --shell emacs m2" (current-buffer)) (eval-buffer))\n')
  })
  it('--unset for every shell', () => {
    const unset = DOCKER_ENV_NAMES.map((k) => [k, undefined] as const)
    const first = (shell: string) => renderEnv({ shell, vars: unset, command: ['machine', 'env', '-u'] }).split('\n')[0]
    expect(first('bash')).toBe('unset DOCKER_TLS_VERIFY')
    expect(first('fish')).toBe('set -e DOCKER_TLS_VERIFY;')
    expect(first('powershell')).toBe('Remove-Item Env:\\\\DOCKER_TLS_VERIFY')
    expect(first('cmd')).toBe('SET DOCKER_TLS_VERIFY=')
    expect(first('tcsh')).toBe('unsetenv DOCKER_TLS_VERIFY;')
    expect(first('emacs')).toBe('(setenv "DOCKER_TLS_VERIFY" nil)')
  })
  it('quotes a program path with a space in the hint, for each shell', () => {
    const hint = (shell: string) => renderEnv({ shell, vars, command: ['/opt/my tools/machine', 'env', 'a'] }).trimEnd().split('\n').pop()
    expect(hint('bash')).toBe('# eval "$("/opt/my tools/machine" env a)"')
    expect(hint('fish')).toBe('# eval ("/opt/my tools/machine" env a)')
    expect(hint('powershell')).toBe('# & "/opt/my tools/machine" env a | Invoke-Expression')
    expect(hint('cmd')).toBe(`REM \t@FOR /f "tokens=*" %i IN ('"/opt/my tools/machine" env a') DO @%i`)
    expect(hint('tcsh')).toBe(': eval `"/opt/my tools/machine" env a`')
    expect(hint('emacs')).toBe(';; (with-temp-buffer (shell-command "\\"/opt/my tools/machine\\" env a" (current-buffer)) (eval-buffer))')
    expect(hintCommand('cmd', ['C:\\Program Files\\machine.exe', 'env', 'a'])).toBe('"C:\\Program Files\\machine.exe" env a')
  })
  it('rejects an unknown shell with the fix', () => {
    expect(errorLine(() => renderEnv({ shell: 'klingon', vars, command: cmd }))).toMatch(/^Unknown shell "klingon": use --shell with one of bash/)
  })
  it('detects the shell from $SHELL and fails clearly without it', () => {
    expect(detectShell(undefined, { SHELL: '/usr/bin/fish' }, 'linux')).toBe('fish')
    expect(detectShell('zsh', { SHELL: '/bin/bash' }, 'linux')).toBe('zsh')
    expect(() => detectShell(undefined, {}, 'linux')).toThrow(MachineError)
    // An empty --shell is a mistake, not a request to guess from $SHELL.
    expect(errorLine(() => renderEnv({ shell: detectShell('', { SHELL: '/bin/bash' }, 'linux'), vars, command: cmd }))).toMatch(/^Unknown shell "": use --shell with one of/)
  })
  it('adds the host to NO_PROXY, keeping existing entries', () => {
    expect(noProxyVar({}, '127.0.0.1')).toEqual(['NO_PROXY', '127.0.0.1'])
    expect(noProxyVar({ NO_PROXY: 'example.internal' }, '127.0.0.1')).toEqual(['NO_PROXY', 'example.internal,127.0.0.1'])
    expect(noProxyVar({ no_proxy: 'a,127.0.0.1' }, '127.0.0.1')).toEqual(['no_proxy', 'a,127.0.0.1'])
    // exact entries, not docker-machine's substring test
    expect(noProxyVar({ NO_PROXY: '127.0.0.12' }, '127.0.0.1')).toEqual(['NO_PROXY', '127.0.0.12,127.0.0.1'])
  })
  it('adds COMPOSE_CONVERT_WINDOWS_PATHS on Windows only', () => {
    expect(dockerEnvVars({ url: 'u', certPath: 'c', name: 'n' }, 'win32').map(([k]) => k)).toContain('COMPOSE_CONVERT_WINDOWS_PATHS')
    expect(vars.map(([k]) => k)).not.toContain('COMPOSE_CONVERT_WINDOWS_PATHS')
  })
})
