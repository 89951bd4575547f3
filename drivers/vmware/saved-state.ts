/**
 * A suspended VMware VM's saved state (`machine stop --save`): VMware writes the VM's devices to
 * `<name>.vmss` beside the .vmx (its memory to `<name>.vmem`, Workstation's default) and names
 * the state in the .vmx as `checkpoint.vmState = "<name>.vmss"`; `vmrun start` then resumes it.
 * `vmrun list` does not list a suspended VM, so this file is how state() tells Saved from Stopped.
 *
 * The .vmx's value is read as hostile (the file can be edited by hand, or by VMware on another
 * host): only a plain file name in the VM's own directory counts, never a path out of it, and
 * only a regular file (a symbolic link is not followed). Discarding the state (a stop without
 * --save, kill, rm) removes those files and clears the .vmx's entry, as VMware's own "discard
 * suspended state" does, so the next start boots afresh.
 */
import { lstatSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { writeFileAtomic } from '../../src/driver-kit/fs.js'
import { parseVmx } from './vmx.js'

const KEY = 'checkpoint.vmstate'

/** A plain file name: no directory part (either separator), not `.`/`..`, no control character. */
export const isPlainFileName = (name: string): boolean => name !== '' && name !== '.' && name !== '..' && !/[/\\\x00-\x1f\x7f]/.test(name) && !/^[A-Za-z]:/.test(name)

const isRegularFile = (p: string): boolean => {
  try {
    return lstatSync(p).isFile()
  } catch {
    return false
  }
}

/**
 * The state files the .vmx names, when they are a saved state this driver may read or delete:
 * `vmss` exists (a regular file in the .vmx's directory); `vmem` is its memory beside it, which
 * may or may not exist (Fusion keeps memory in the .vmss).
 */
export function savedStateFiles(vmxPath: string): { vmss: string; vmem: string } | undefined {
  const text = readVmx(vmxPath)
  return text === undefined ? undefined : stateFilesNamed(vmxPath, text)
}

/** The .vmx's text, or undefined when it cannot be read. */
function readVmx(vmxPath: string): string | undefined {
  try {
    return readFileSync(vmxPath, 'utf8')
  } catch {
    return undefined
  }
}

/** savedStateFiles for a .vmx already read. */
function stateFilesNamed(vmxPath: string, text: string): { vmss: string; vmem: string } | undefined {
  const name = parseVmx(text).get(KEY) ?? ''
  if (!isPlainFileName(name) || !/\.vmss$/i.test(name)) return undefined
  const dir = dirname(vmxPath)
  const vmss = join(dir, name)
  if (!isRegularFile(vmss)) return undefined
  return { vmss, vmem: join(dir, `${basename(name, name.slice(-5))}.vmem`) }
}

/** Whether the VM has a saved state to resume (with vmrun list not listing it: see state()). */
export const hasSavedState = (vmxPath: string): boolean => savedStateFiles(vmxPath) !== undefined

/**
 * Delete the saved state and clear `checkpoint.vmState` in the .vmx (rewritten atomically, every
 * other line as it was). Returns whether there was one. The files go first: a .vmx still naming a
 * state that is gone reads Stopped (savedStateFiles), and VMware then boots.
 */
export async function discardSavedState(vmxPath: string): Promise<boolean> {
  const text = readVmx(vmxPath)
  if (text === undefined) return false
  const files = stateFilesNamed(vmxPath, text)
  if (files) await Promise.all([rm(files.vmss, { force: true }), rm(files.vmem, { force: true })])
  if (parseVmx(text).get(KEY)) {
    const cleared = text.replace(/^(\s*checkpoint\.vmState\s*=\s*)"[^"]*"/gim, '$1""')
    await writeFileAtomic(vmxPath, cleared, 0o600)
  }
  return files !== undefined
}
