import { createHash } from 'node:crypto'
import { lstat, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { contextNameProblem, contextPaths, currentContextOf, dockerConfigDir, setCurrentContext } from '../../src/store/docker-contexts.js'
import { readSettings } from '../../src/store/settings.js'
import { tempDir } from '../helpers/tmp.js'

describe("the docker CLI's store (store/docker-contexts.ts)", () => {
  it('finds $DOCKER_CONFIG, else ~/.docker; a context lives under the sha256 of its name', () => {
    expect(dockerConfigDir({ DOCKER_CONFIG: '/x/y' })).toBe('/x/y')
    expect(dockerConfigDir({})).toMatch(/\/\.docker$/)
    const hex = createHash('sha256').update('dev').digest('hex')
    expect(contextPaths('/c', 'dev')).toEqual({ metaDir: `/c/contexts/meta/${hex}`, metaFile: `/c/contexts/meta/${hex}/meta.json`, tlsDir: `/c/contexts/tls/${hex}`, tlsDockerDir: `/c/contexts/tls/${hex}/docker` })
    // A hostile name is only ever hashed: it never becomes a path of its own.
    expect(contextPaths('/c', '../../etc').metaDir).toMatch(/^\/c\/contexts\/meta\/[0-9a-f]{64}$/)
  })

  it('knows the names docker refuses', () => {
    expect(contextNameProblem('dev')).toBeUndefined()
    expect(contextNameProblem('a.b-c')).toBeUndefined()
    expect(contextNameProblem('default')).toMatch(/reserves the name "default"/)
    expect(contextNameProblem('x')).toMatch(/at least 2 characters/)
  })

  it('setCurrentContext keeps every other key, the mode, and a symlinked config.json a link', async () => {
    const dir = await tempDir('docker-config-')
    const real = join(await tempDir('dotfiles-'), 'docker.json')
    await writeFile(real, JSON.stringify({ auths: { r: { auth: 'x' } }, credsStore: 'pass', currentContext: 'old' }), { mode: 0o640 })
    await symlink(real, join(dir, 'config.json'))
    await setCurrentContext(dir, 'dev')
    expect((await lstat(join(dir, 'config.json'))).isSymbolicLink()).toBe(true)
    expect(await readlink(join(dir, 'config.json'))).toBe(real)
    expect(JSON.parse(await readFile(real, 'utf8'))).toEqual({ auths: { r: { auth: 'x' } }, credsStore: 'pass', currentContext: 'dev' })
    expect((await stat(real)).mode & 0o777).toBe(0o640)
    expect(currentContextOf(dir)).toBe('dev')
    await setCurrentContext(dir, undefined)
    expect(JSON.parse(await readFile(real, 'utf8'))).toEqual({ auths: { r: { auth: 'x' } }, credsStore: 'pass' })
    expect(currentContextOf(dir)).toBeUndefined()
  })

  it('a new config.json is 0600; one that is not a JSON object is refused and left as it is', async () => {
    const dir = await tempDir('docker-config-')
    await setCurrentContext(dir, 'dev')
    expect((await stat(join(dir, 'config.json'))).mode & 0o777).toBe(0o600)
    for (const bad of ['{"auths":', '[1,2]', 'null']) {
      await writeFile(join(dir, 'config.json'), bad)
      await expect(setCurrentContext(dir, 'other')).rejects.toThrow(/is not valid JSON .*; it was left untouched/)
      expect(await readFile(join(dir, 'config.json'), 'utf8')).toBe(bad)
    }
  })
})

describe('store settings (<store>/settings.json)', () => {
  it('defaults when absent; reads DockerContexts; refuses bad JSON, unknown keys and wrong types with the path', async () => {
    const store = await tempDir('store-')
    expect(readSettings(store)).toEqual({ DockerContexts: true })
    const path = join(store, 'settings.json')
    await writeFile(path, '{"DockerContexts": false}')
    expect(readSettings(store)).toEqual({ DockerContexts: false })
    for (const [text, line] of [
      ['{"DockerContexts": fals', `The settings file ${path} is not valid JSON`],
      ['{"DockerContext": false}', `Unknown setting "DockerContext" in ${path}`],
      ['{"DockerContexts": "no"}', `DockerContexts in ${path} must be true or false`],
      ['[]', `The settings file ${path} is not a JSON object`],
    ] as const) {
      await writeFile(path, text)
      expect(() => readSettings(store)).toThrow(line)
    }
  })
})
