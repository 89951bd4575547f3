/**
 * Store-wide settings: `<store>/settings.json`, written by the user (no command writes it), e.g.
 *   {"DockerContexts": false}    create makes no docker context (as --no-docker-context does)
 * Absent means every default. Unknown keys and wrong types are refused with the path, so a typo
 * is not silently a default.
 */
import { existsSync } from 'node:fs'
import { MachineError } from '../core/errors.js'
import { settingsPath } from './paths.js'
import { readStoreFileSync } from './safe-read.js'

export interface StoreSettings {
  /** Whether create writes a docker context for each machine (default true). */
  DockerContexts: boolean
}

const DEFAULTS: StoreSettings = { DockerContexts: true }

export function readSettings(store: string): StoreSettings {
  const path = settingsPath(store)
  const fix = `write it as JSON, e.g. {"DockerContexts": false}, or remove it`
  // Absent (or a store path that is no directory, which the command reports itself): defaults.
  if (!existsSync(path)) return { ...DEFAULTS }
  const text = readStoreFileSync(path, 'The settings file', 'remove it')
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw new MachineError('invalid-settings', `The settings file ${path} is not valid JSON`, { hint: fix })
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new MachineError('invalid-settings', `The settings file ${path} is not a JSON object`, { hint: fix })
  const settings = { ...DEFAULTS }
  for (const [k, v] of Object.entries(raw)) {
    if (!(k in DEFAULTS)) throw new MachineError('invalid-settings', `Unknown setting ${JSON.stringify(k)} in ${path}`, { hint: `the settings are ${Object.keys(DEFAULTS).join(', ')}` })
    if (typeof v !== typeof DEFAULTS[k as keyof StoreSettings]) throw new MachineError('invalid-settings', `${k} in ${path} must be true or false`, { hint: fix })
    settings[k as keyof StoreSettings] = v as boolean
  }
  return settings
}
