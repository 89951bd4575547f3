/**
 * A recorded VBoxManage for the virtualbox driver's golden transcripts: an injected runner
 * (drivers/virtualbox/client.ts `VBoxManage`) that answers each call with the output the real
 * tool gives (test/drivers/fixtures/virtualbox/) and records the argv of every call, so a test
 * asserts the exact sequence a lifecycle operation runs.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { vboxFailure, type VBoxManage } from '../../drivers/virtualbox/client.js'

export const FIXTURES = join(import.meta.dirname, '../drivers/fixtures/virtualbox')

/** The machine directory the fixtures were recorded with (swapped for the test's own). */
export const RECORDED_DIR = '/Users/ada/.docker/machine/machines/default'

/** A fixture's text, with the recorded machine directory replaced by `machineDir` when given. */
export function fixture(name: string, machineDir?: string): string {
  const text = readFileSync(join(FIXTURES, name), 'utf8')
  return machineDir ? text.split(RECORDED_DIR).join(machineDir) : text
}

export interface Answer {
  stdout?: string
  /** The call fails with this stderr (exit 1), as VBoxManage does. */
  fail?: string
}

/** How to answer one call: by its argv (the first matching rule wins, `times` limits how often it applies). */
export interface Rule {
  when: (args: readonly string[]) => boolean
  answer: Answer | ((args: readonly string[]) => Answer)
  times?: number
}

export const argsStart =
  (...prefix: string[]) =>
  (args: readonly string[]): boolean =>
    prefix.every((p, i) => args[i] === p)

/** A runner answering by rules, recording every argv in `calls`; a call no rule answers fails the test at the end (`unanswered`). */
export function recordedVBoxManage(rules: Rule[]): { vbm: VBoxManage; calls: string[][]; unanswered: string[][] } {
  const calls: string[][] = []
  const unanswered: string[][] = []
  const left = rules.map((r) => ({ ...r, left: r.times ?? Infinity }))
  const vbm: VBoxManage = async (args) => {
    calls.push([...args])
    const rule = left.find((r) => r.left > 0 && r.when(args))
    if (!rule) {
      unanswered.push([...args])
      throw vboxFailure(args, `VBoxManage: error: no recorded answer for this call in the test\n`, 1)
    }
    rule.left--
    const a = typeof rule.answer === 'function' ? rule.answer(args) : rule.answer
    if (a.fail !== undefined) throw vboxFailure(args, a.fail, 1)
    return { stdout: a.stdout ?? '', stderr: '' }
  }
  return { vbm, calls, unanswered }
}

/** One-line form of a transcript, for readable failure diffs. */
export const lines = (calls: readonly (readonly string[])[]): string[] => calls.map((c) => c.join(' '))
