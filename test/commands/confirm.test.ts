import { describe, expect, it } from 'vitest'
import { expectCleanFailure, runCli, tempStore } from '../helpers/cli.js'

describe('commands that ask first refuse without a terminal, naming the flag that confirms', () => {
  it('rm without -y and regenerate-certs without -f: one line, code confirmation-needed, nothing changed', async () => {
    const store = await tempStore()
    const made = await runCli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2376', 'c1'], { store })
    expect(made.code, made.stderr).toBe(0)
    const rm = await expectCleanFailure(['rm', 'c1'], store, { stdoutEmpty: true })
    expect(rm).toMatchObject({ code: 'confirmation-needed', line: 'Error: Refusing to remove c1 without confirmation: pass -y to confirm' })
    const regen = await expectCleanFailure(['regenerate-certs', 'c1'], store, { stdoutEmpty: true })
    expect(regen).toMatchObject({ code: 'confirmation-needed', line: 'Error: Refusing to regenerate certificates without confirmation: pass -f to confirm' })
  })
})
