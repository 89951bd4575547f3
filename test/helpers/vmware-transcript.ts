/**
 * A recorded VMware for the vmware driver's golden transcripts: an injected runner
 * (drivers/vmware/client.ts `ToolRunner`) that answers each vmrun / vmware-vdiskmanager call with
 * the output the real tool gives (test/drivers/fixtures/vmware/) and records every call as
 * `[tool, ...argv]`, so a test asserts the exact sequence a lifecycle operation runs. Failures
 * go through the driver's own toolFailure, as the real runner's do.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { toolFailure, VmwareToolError, type Tool, type ToolRunner } from '../../drivers/vmware/client.js'

export const VMWARE_FIXTURES = join(import.meta.dirname, '../drivers/fixtures/vmware')
/** The machine directory the fixtures were recorded with (swapped for the test's own). */
export const RECORDED_DIR = '/Users/ada/.docker/machine/machines/default'

export function vmwareFixture(name: string, machineDir?: string): string {
  const text = readFileSync(join(VMWARE_FIXTURES, name), 'utf8')
  return machineDir ? text.split(RECORDED_DIR).join(machineDir) : text
}

export interface ToolAnswer {
  stdout?: string
  /** The call fails printing this (exit 255), as vmrun does. */
  fail?: string
  /** The call hangs until its bound: a VmwareToolError with timedOut. */
  hang?: boolean
}

/** The call without the host type: "start", "list", "-r" (vdiskmanager's first argument). */
export const verbOf = (call: readonly string[]): string => (call[0] === 'vmrun' ? (call[1] === '-T' ? call[3] : call[1]) : call[1]) ?? ''

export function recordedTools(answer: (call: readonly string[]) => ToolAnswer | undefined): { tools: ToolRunner; calls: string[][] } {
  const calls: string[][] = []
  const tools: ToolRunner = async (tool: Tool, args) => {
    const call = [tool, ...args]
    calls.push(call)
    const a = answer(call) ?? {}
    if (a.hang) throw new VmwareToolError(tool, args, '', `${tool} did not finish`, { timedOut: true })
    if (a.fail !== undefined) throw toolFailure(tool, args, a.fail, 255)
    return { stdout: a.stdout ?? '', stderr: '' }
  }
  return { tools, calls }
}
