/**
 * The hyperv driver's PowerShell quoting and invocation (drivers/hyperv/powershell.ts): a table
 * of hostile names and paths, each put into a real script template, sent the way the driver
 * sends it (-EncodedCommand) and read back by an independent reader of PowerShell's
 * single-quoted literals (the fake powershell.exe's): what arrives must be exactly what was
 * meant, and nothing in it may be expanded or end the literal early.
 */
import { describe, expect, it } from 'vitest'
import { decodeArgs, decodeClixml, MAX_SCRIPT_CHARS, psArgs, psFailure, psQuote, wrapScript } from '../../drivers/hyperv/powershell.js'
import { scripts, vmName } from '../../drivers/hyperv/scripts.js'
import { readPsLiteral, recognise, scriptBody } from '../helpers/fake-powershell.js'
import { fakeHyperV } from '../helpers/fake-hyperv.js'
import { errorLine } from '../helpers/errors.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const FIXTURES = join(import.meta.dirname, 'fixtures', 'hyperv')

/** Names and paths a user (or an attacker naming a switch or a store directory) could give. */
const HOSTILE: Array<[string, string]> = [
  ['plain', 'plain'],
  ['spaces', 'C:\\Users\\Ada Lovelace\\.docker\\machine'],
  ['an apostrophe', "O'Brien's switch"],
  ['only quotes', "'''"],
  ['typographic quotes (PowerShell ends literals at these too)', '‘left’ ‚low‛ mixed’'],
  ['a quote pair at the end', "ends with ''"],
  ['a variable', '$env:USERPROFILE'],
  ['a subexpression', '$(Remove-Item -Recurse C:\\)'],
  ['backticks', '`whoami` `n `0'],
  ['double quotes and a statement', '"; Hyper-V\\Remove-VM * -Force; "'],
  ['a literal breakout attempt', "'; Remove-VM -Name * -Force; '"],
  ['a typographic breakout attempt', '’; Remove-VM -Name * -Force; ‘'],
  ['shell metacharacters', 'a;b&c|d<e>f^g%PATH%!x!'],
  ['hash tables and comments', '@{ a = 1 } # not a comment <# nor this #>'],
  ['non-ASCII', 'Ethernet – Wi-Fi (Intel®) 日本語 Ünïcödé'],
  ['an emoji (UTF-16 surrogate pair)', 'whale 🐳 switch'],
  ['a leading dash', '-Force'],
  ['the empty string', ''],
  ['a trailing backslash', 'C:\\path\\'],
]

describe('psQuote: hostile names and paths arrive exactly', () => {
  it.each(HOSTILE)('%s', (_what, value) => {
    const lit = psQuote(value)
    expect(readPsLiteral(lit)).toBe(value)
    // Through a real template, the invocation and the fake's strict reading of the script:
    const body = scripts.addDvd('default', value)
    const parsed = scriptBody(psArgs(body))
    expect(parsed).toEqual({ body })
    expect(recognise(body)).toEqual({ cmdlet: 'Add-VMDvdDrive', args: ['default', value] })
    // And as a switch name in New-VM (the last literal of the longest template).
    expect(recognise(scripts.newVm('default', 'C:\\m', 1024, 'C:\\m\\disk.vhdx', value))?.args.at(-1)).toBe(value)
  })

  it.each([
    ['a newline', 'a\nb'],
    ['a carriage return', 'a\rb'],
    ['a tab', 'a\tb'],
    ['NUL', 'a\u0000b'],
    ['U+2028 (a line break to PowerShell)', 'a\u2028b'],
    ['NEL', 'a\u0085b'],
  ])('refuses %s with one line naming the value', (_what, value) => {
    expect(errorLine(() => psQuote(value, 'switch name'))).toBe(`switch name ${JSON.stringify(value)} contains a control character (a newline, tab…), which Hyper-V names and Windows paths cannot hold: use a switch name without one`)
  })

  it('refuses VM names the cmdlets would read as wildcards or that the store would not make', () => {
    for (const bad of ['*', 'a*', 'vm?', '[ab]', 'a b', "a'b", '', '-x', 'a\nb']) expect(() => vmName(bad)).toThrow(/cannot be a Hyper-V VM name here/)
    expect(vmName('dev-1.local')).toBe("'dev-1.local'")
  })
})

describe('invocation: -NoProfile -NonInteractive -EncodedCommand', () => {
  it('passes base64 of the UTF-16LE script only: no quoting at the Windows command line, the script arrives byte for byte', () => {
    const body = scripts.newVm('default', 'C:\\Users\\Zoë "Z" O’Neil\\machine', 2048, 'C:\\x\\disk.vhdx', 'whale 🐳 $x `y')
    const args = psArgs(body)
    expect(args.slice(0, 3)).toEqual(['-NoProfile', '-NonInteractive', '-EncodedCommand'])
    expect(args).toHaveLength(4)
    expect(args[3]).toMatch(/^[A-Za-z0-9+/]+=*$/)
    expect(decodeArgs(args)).toBe(wrapScript(body))
    expect(Buffer.from(args[3]!, 'base64').subarray(0, 2)).toEqual(Buffer.from('$\u0000', 'latin1'))
  })

  it('the script stops at the first error, draws no progress, writes UTF-8, and ends an error with its message alone and exit 1', () => {
    expect(wrapScript('X').split('\n')).toEqual([
      "$ErrorActionPreference = 'Stop'",
      "$ProgressPreference = 'SilentlyContinue'",
      '[Console]::OutputEncoding = [Text.Encoding]::UTF8',
      'try {',
      '  X',
      '} catch {',
      '  [Console]::Error.WriteLine($_.Exception.Message)',
      '  exit 1',
      '}',
    ])
  })

  it('refuses a script too long for a Windows command line', () => {
    expect(errorLine(() => psArgs(scripts.addDvd('a', 'x'.repeat(MAX_SCRIPT_CHARS))))).toMatch(/does not fit on a Windows command line/)
  })

  it('the fake powershell.exe answers the driver’s scripts and refuses anything else loudly', async () => {
    const hv = await fakeHyperV()
    const ok = await hv.run(psArgs(scripts.switches()))
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toEqual([
      { Name: 'Default Switch', SwitchType: 'Internal' },
      { Name: 'LAN (Intel® Ethernet)', SwitchType: 'External' },
    ])
    const unknown = await hv.run(psArgs('Get-Process'))
    expect(unknown).toMatchObject({ code: 99, stderr: 'fake powershell.exe: unrecognised script: Get-Process\n' })
    const byCommand = await hv.run(['-NoProfile', '-NonInteractive', '-Command', scripts.switches()])
    expect(byCommand.code).toBe(99)
    const missing = await hv.run(psArgs(scripts.start('nope')))
    expect(missing).toMatchObject({ code: 1, stderr: 'Hyper-V was unable to find a virtual machine with name "nope".\r\n' })
  })
})

describe('errors: one line naming the cmdlet and Hyper-V’s reason', () => {
  it('reads CLIXML error streams (Windows PowerShell 5.1 with a redirected stderr)', () => {
    const text = decodeClixml(readFileSync(join(FIXTURES, 'error-clixml.txt'), 'utf8'))
    expect(text).toBe('Hyper-V\\Start-VM : Hyper-V was unable to find a virtual machine with name "default".\r\nAt line:1 char:1\r\n')
    const e = psFailure(scripts.start('default'), readFileSync(join(FIXTURES, 'error-clixml.txt'), 'utf8'), 1)
    expect(e.notFound).toBe(true)
    expect(e.line).toBe('Hyper-V Start-VM failed: Hyper-V\\Start-VM : Hyper-V was unable to find a virtual machine with name "default".')
  })

  it('a permission error says how to join Hyper-V Administrators; a stopped hypervisor how to start it', () => {
    expect(psFailure(scripts.newVm('d', 'C:\\m', 1024, 'C:\\d.vhdx', 'sw'), readFileSync(join(FIXTURES, 'error-permission.txt'), 'utf8'), 1).line).toBe(
      "Hyper-V New-VM failed: You do not have the required permission to complete this task. Contact the administrator of the authorization policy for the computer 'DESKTOP-ADA'.: run as a member of the \"Hyper-V Administrators\" group (as administrator: Add-LocalGroupMember -SID S-1-5-32-578 -Member $env:USERNAME, then sign out and in) or from an elevated terminal",
    )
    expect(psFailure(scripts.start('d'), readFileSync(join(FIXTURES, 'error-start-hypervisor.txt'), 'utf8'), 1).line).toMatch(/^Hyper-V Start-VM failed: 'default' failed to start\. The virtual machine could not be started because the hypervisor is not running\.: turn on hardware virtualization/)
  })
})
