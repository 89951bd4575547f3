import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Output } from '../../src/cli/output.js'
import { Progress, TerminalReporter } from '../../src/cli/progress.js'

let written: string[] = []
let wasTty: boolean | undefined

beforeEach(() => {
  written = []
  wasTty = process.stdout.isTTY
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (written.push(String(s)), true))
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (written.push(`<stderr>${String(s)}`), true))
})
afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
  process.stdout.isTTY = wasTty as boolean
})

const never = new AbortController().signal

describe('progress without a terminal (CI, set-up logs)', () => {
  it('prints the title, each new detail, a line every 30 s, and the duration at the end', async () => {
    process.stdout.isTTY = false
    vi.useFakeTimers()
    const out = new Output({ json: false, debug: false })
    const p = new Progress(out, never)
    const done = p.step('Waiting for SSH to be available', 300_000, async (_signal, report) => {
      await vi.advanceTimersByTimeAsync(5_000)
      report('guest: kernel booting')
      report('guest: kernel booting') // unchanged: not repeated
      await vi.advanceTimersByTimeAsync(31_000)
      report('guest: starting services')
      await vi.advanceTimersByTimeAsync(2_500)
      return 'ok'
    })
    expect(await done).toBe('ok')
    expect(written.join('')).toBe(
      [
        'Waiting for SSH to be available...',
        '  guest: kernel booting (5s)',
        '  Waiting for SSH to be available: 35s, guest: kernel booting',
        '  guest: starting services (36s)',
        '✔ Waiting for SSH to be available (38.5s)',
        '',
      ].join('\n'),
    )
  })

  it('a failed step ends with ✖ and its duration; a timeout names the last detail', async () => {
    process.stdout.isTTY = false
    vi.useFakeTimers()
    const p = new Progress(new Output({ json: false, debug: false }), never)
    const done = p.step('Waiting for SSH to be available', 10_000, (_s, report) => {
      report('guest: firmware')
      return new Promise<never>(() => undefined)
    })
    const caught = done.catch((e: Error) => e)
    await vi.advanceTimersByTimeAsync(10_000)
    expect((await caught).message).toBe('"Waiting for SSH to be available" did not finish within 10 s (last: guest: firmware)')
    expect(written.at(-1)).toBe('✖ Waiting for SSH to be available (10.0s)\n')
  })
})

describe('progress on a terminal', () => {
  it('lines printed while the spinner runs go above it, never onto its line', async () => {
    process.stdout.isTTY = true
    const out = new Output({ json: false, debug: false })
    const p = new Progress(out, never)
    await p.step('Creating machine', 60_000, async (_s, report) => {
      report('guest: firmware')
      out.info('QEMU acceleration: tcg')
      out.note('a note')
    })
    const text = written.join('')
    // Each line starts on a cleared line and the spinner is drawn again after it.
    expect(text).toMatch(/\r\x1b\[KQEMU acceleration: tcg\n⠋|\r\x1b\[KQEMU acceleration: tcg\n[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Creating machine/)
    expect(text).toContain('\r\x1b[K<stderr>a note\n')
    expect(text).not.toMatch(/\(\d+s[^)]*\)QEMU/)
    expect(text.endsWith('\r\x1b[K✔ Creating machine (0.0s)\n')).toBe(true)
  })
})

describe('the transcript a failed create keeps', () => {
  it('has every line, debug ones too, until stopped', () => {
    process.stdout.isTTY = false
    const out = new Output({ json: false, debug: false })
    const t = out.record()
    out.info('Creating machine...')
    out.debug('qemu -kernel x')
    t.stop()
    out.info('after')
    expect(t.lines.map((l) => l.replace(/^\S+ /, ''))).toEqual(['Creating machine...', '[debug] qemu -kernel x'])
    // --debug was not given: the debug line was recorded, not printed.
    expect(written.join('')).toBe('Creating machine...\nafter\n')
  })
})

describe('several machines at once (TerminalReporter.scoped)', () => {
  it('on a terminal each running step has its own live line; other lines go above all of them', async () => {
    process.stdout.isTTY = true
    const out = new Output({ json: false, debug: false })
    const r = new TerminalReporter(out)
    const [a, b] = [r.scoped('web1'), r.scoped('web2')]
    let release!: () => void
    const gate = new Promise<void>((res) => (release = res))
    const sa = a.step('Waiting for SSH', { timeoutMs: 60_000 }, async (_s, report) => {
      report('guest: kernel booting')
      await gate
    })
    const sb = b.step('Creating machine', { timeoutMs: 60_000 }, async () => {
      b.info('QEMU acceleration: tcg')
      await gate
    })
    const during = written.join('')
    // Both spinners are drawn, one line each, in the order they started.
    expect(during).toMatch(/web1: [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for SSH \(0s\)\nweb2: [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Creating machine \(0s\)/)
    // A line told meanwhile: the two live lines are erased (up one, clear to the end), the line
    // written with its machine's name, and the two drawn again below it.
    expect(during).toMatch(/\x1b\[1A\r\x1b\[Jweb2: QEMU acceleration: tcg\nweb1: [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for SSH \(0s\)\nweb2: /)
    release()
    await Promise.all([sa, sb])
    const text = written.join('')
    expect(text).toMatch(/web1: ✔ Waiting for SSH \(0\.\ds\)\n/)
    expect(text).toMatch(/web2: ✔ Creating machine \(0\.\ds\)\n/)
    // Nothing is left drawn at the end: the last write ends a finished line.
    expect(text.endsWith('\n')).toBe(true)
  })

  it('without a terminal: plain lines named by their machine; each machine’s transcript has only its own lines', async () => {
    process.stdout.isTTY = false
    const out = new Output({ json: false, debug: false })
    const r = new TerminalReporter(out)
    const [a, b] = [r.scoped('a'), r.scoped('b')]
    const ta = a.record()
    a.info('one')
    b.info('two')
    a.debug('detail')
    await b.step('Creating machine', { timeoutMs: 1000 }, async () => undefined)
    ta.stop()
    expect(written.join('')).toMatch(/^a: one\nb: two\nb: Creating machine\.\.\.\nb: ✔ Creating machine \(0\.\ds\)\n$/)
    expect(ta.lines.map((l) => l.replace(/^\S+ /, ''))).toEqual(['one', '[debug] detail'])
  })
})
