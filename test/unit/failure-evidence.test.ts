import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MachineError } from '../../src/core/errors.js'
import { keepFailureEvidence, withEvidence } from '../../src/services/failure-evidence.js'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

describe('evidence of a failed create', () => {
  it('keeps the machine logs and the transcript (owner-only), and the 10 newest failures', async () => {
    const store = await mkdtemp(join(tmpdir(), 'machine-evidence-'))
    dirs.push(store)
    const machine = join(store, 'machines', 'dev')
    await mkdir(machine, { recursive: true })
    await writeFile(join(machine, 'console.log'), 'Kernel panic - not syncing\n', { mode: 0o644 })
    await writeFile(join(machine, 'id_rsa'), 'PRIVATE KEY', { mode: 0o600 })
    const err = new MachineError('boot-failed', '"dev" did not boot', { hint: `see ${join(machine, 'console.log')}` })
    const kept = await keepFailureEvidence(store, 'dev', machine, ['t0 Creating machine...', 't1 [debug] qemu -kernel x'], err)
    expect(kept).toMatch(new RegExp(`^${join(store, 'failed', 'dev-')}\\d{4}-\\d\\d-\\d\\dT[\\d-]+Z$`))
    // Logs only: never the machine's keys.
    expect((await readdir(kept!)).sort()).toEqual(['console.log', 'create.log'])
    expect((await stat(join(kept!, 'console.log'))).mode & 0o077).toBe(0)
    expect(await readFile(join(kept!, 'create.log'), 'utf8')).toBe('t0 Creating machine...\nt1 [debug] qemu -kernel x\nError: "dev" did not boot: see ' + join(machine, 'console.log') + '\n')

    // The hint pointed into the directory the rollback removes: it now names the copy.
    const e = withEvidence(err, kept!, machine)
    expect(e.line).toBe(`"dev" did not boot: what the machine and the create logged (--debug lines included) is kept in ${kept}`)
    expect(e.code).toBe('boot-failed')
    expect(withEvidence(new MachineError('x', 'm', { hint: 'fix it' }), kept!, machine).line).toBe(`m: fix it; what the machine and the create logged (--debug lines included) is kept in ${kept}`)

    // A machine that logged nothing leaves nothing: its error line is the whole story.
    const quiet = join(store, 'machines', 'quiet')
    await mkdir(quiet, { recursive: true })
    expect(await keepFailureEvidence(store, 'quiet', quiet, ['t0 x'], err)).toBeUndefined()

    for (let i = 0; i < 12; i++) await keepFailureEvidence(store, `m${i}`, machine, [], err)
    const left = await readdir(join(store, 'failed'))
    expect(left).toHaveLength(10)
    expect(left).not.toContain(kept!.split('/').pop())
  })
})
