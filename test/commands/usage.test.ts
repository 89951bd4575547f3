import { describe, expect, it } from 'vitest'
import { runCli, tempStore } from '../helpers/cli.js'

describe('a missing argument or name is one line saying how to give it', () => {
  it('create without a name: the usage, not oclif\'s paragraph about multi-value flags', async () => {
    const store = await tempStore()
    const r = await runCli(['create'], { store, env: { MACHINE_PROGRAM_NAME: 'machine' } })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('Error: Missing the machine name: run "machine create -d DRIVER NAME" ("machine create -d DRIVER --help" shows the driver\'s flags)\n')
    const j = await runCli(['create', '--json'], { store, env: { MACHINE_PROGRAM_NAME: 'machine' } })
    expect(JSON.parse(j.stdout)).toEqual({ ok: false, command: 'create', error: { code: 'usage', message: 'Missing the machine name', hint: expect.stringContaining('machine create -d DRIVER NAME') } })
  })

  it('status/url/inspect/config without a name and no "default" suggest themselves, not env', async () => {
    const store = await tempStore()
    for (const cmd of ['status', 'url', 'inspect', 'config']) {
      const r = await runCli([cmd], { store, env: { MACHINE_PROGRAM_NAME: 'machine' } })
      expect(r.code).not.toBe(0)
      expect(r.stderr).toBe(`Error: No machine name given and no "default" machine exists: pass the machine name, e.g. "machine ${cmd} NAME"\n`)
    }
  })
})
