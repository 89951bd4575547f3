import { Config } from '@oclif/core'
import { describe, expect, it } from 'vitest'
import { defineDriver } from '../../src/driver-kit/contract.js'
import { BUILTIN_DRIVERS } from '../../src/registry/builtin.js'
import { ROOT, runCli } from '../helpers/cli.js'

const groups = (help: string) => [...help.matchAll(/^([A-Z0-9]+ DRIVER) FLAGS$/gm)].map((m) => m[1])

describe('create --help shows the common flags and one driver\'s, not every driver\'s', () => {
  it('with -d qemu: the qemu flags only, a short usage line, qemu\'s example', async () => {
    for (const args of [['create', '-d', 'qemu', '--help'], ['create', '--driver=qemu', '--help'], ['create', '--help', '-dqemu']]) {
      const r = await runCli(args)
      expect(r.code, args.join(' ')).toBe(0)
      expect(groups(r.stdout)).toEqual(['QEMU DRIVER'])
      expect(r.stdout).toContain('--qemu-accel')
      expect(r.stdout).toContain('--engine-opt')
      expect(r.stdout).toContain('--storage-path')
      expect(r.stdout).not.toMatch(/--amazonec2-|--azure-|--google-|--generic-/)
      expect(r.stdout).toContain('$ machine create -d qemu [FLAGS] NAME')
      expect(r.stdout).toContain('$ machine create -d qemu dev')
      // The old help was ~460 lines; this one fits a couple of screens.
      expect(r.stdout.split('\n').length).toBeLessThan(175)
    }
  })

  it('with each built-in driver: exactly that driver\'s group', async () => {
    for (const name of Object.keys(BUILTIN_DRIVERS)) {
      const r = await runCli(['create', '-d', name, '--help'])
      expect(r.code, name).toBe(0)
      expect(groups(r.stdout), name).toEqual([`${name.toUpperCase()} DRIVER`])
    }
  })

  it('without a driver: no driver flags, the list of drivers and how to see one\'s flags', async () => {
    const r = await runCli(['create', '--help'])
    expect(r.code).toBe(0)
    expect(groups(r.stdout)).toEqual([])
    expect(r.stdout).not.toContain('--qemu-accel')
    const drivers = r.stdout.slice(r.stdout.indexOf('\nDRIVERS\n'))
    for (const name of Object.keys(BUILTIN_DRIVERS)) expect(drivers).toMatch(new RegExp(`^  ${name} +\\S`, 'm'))
    expect(drivers).toContain("See a driver's flags: machine create -d DRIVER --help")
  })

  it('an unknown driver: one line with the nearest name, non-zero exit, no help page', async () => {
    const r = await runCli(['create', '-d', 'qemo', '--help'])
    expect(r.code).not.toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('Error: Driver "qemo" not found: did you mean "qemu"? (see "machine drivers")\n')
  })

  it('a plugin driver\'s flags come from its option list (they are not in the manifest)', async () => {
    const plugin = defineDriver({
      name: 'mycloud',
      description: 'a plugin driver',
      options: [{ name: 'region', type: 'string', description: 'where the machine runs', default: 'north' }],
      load: async () => {
        throw new Error('help must not load the lifecycle code')
      },
    })
    const config = await Config.load(ROOT)
    config.runHook = (async () => ({ successes: [{ result: [plugin], plugin: {} }], failures: [] })) as unknown as Config['runHook']
    const { default: MachineHelp } = await import('../../src/cli/help.js')
    const lines: string[] = []
    // Capture what the help prints through its own output method.
    class CapturedHelp extends MachineHelp {
      protected override log(...args: string[]): void {
        lines.push(`${args.join(' ')}\n`)
      }
    }
    await new CapturedHelp(config).showHelp(['create', '-d', 'mycloud'])
    const help = lines.join('')
    expect(groups(help)).toEqual(['MYCLOUD DRIVER'])
    expect(help).toMatch(/--mycloud-region=<value>\s+where the machine runs/)
    expect(help).toContain('$ machine create -d mycloud [FLAGS] NAME')
  })
})
