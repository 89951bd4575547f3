/**
 * The package's templates/ directory (engine unit drop-in, a VMware .vmx…) and the one renderer
 * of its {{key}} placeholders: data files, not strings in code. Values are escaped by the caller
 * for the file's own format before they are put in.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The machine package's own directory, from wherever this code runs: src/ (tests), dist/src/
 * (tsc's output) or dist/bundle/chunks/ (the bundle). Found by its templates/, which ships with it.
 */
export function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'templates', '10-machine.conf'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('templates/ directory not found next to the machine package')
    dir = up
  }
  return dir
}

/** The package's templates/ directory. */
export function templatesDir(): string {
  return join(packageDir(), 'templates')
}

/** Replace {{key}} placeholders; an unknown placeholder is a bug, so it throws. */
export function renderTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    const v = values[k]
    if (v === undefined) throw new Error(`template placeholder {{${k}}} has no value`)
    return v
  })
}
