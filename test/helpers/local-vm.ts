/**
 * What the end-to-end tests of the local drivers on their fakes (test/commands/virtualbox,
 * vmware, hyperv) check a machine with: a throwaway "cloud image", whether a forwarded port
 * answers, and the engine reached as a docker client would, through `machine env`'s TLS files.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { connect } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect } from 'vitest'
import { runCli } from './cli.js'
import { tempDir } from './tmp.js'

const exec = promisify(execFile)

/** A small raw "cloud image" (the guest is the fake's chroot; only its bytes are converted). */
export async function rawImage(prefix = 'machine-vm-image-'): Promise<string> {
  const dir = await tempDir(prefix, { scope: 'file' })
  const p = join(dir, 'debian.raw')
  await writeFile(p, Buffer.alloc(4 * 2 ** 20))
  return p
}

/** Does anything accept connections on 127.0.0.1:`port`? (A guest's SSH or engine port.) */
export const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port })
    sock.on('connect', () => {
      sock.destroy()
      resolve(true)
    })
    sock.on('error', () => resolve(false))
  })

/** `machine env` output as variables. */
export const envVars = (out: string): Record<string, string> => Object.fromEntries([...out.matchAll(/^export (\w+)="(.*)"$/gm)].map((m) => [m[1]!, m[2]!]))

/** The engine's version through the env's TLS files: with the docker client when there is one, else the Engine API. */
export async function serverVersion(vars: Record<string, string>): Promise<string> {
  const docker = await exec('sh', ['-c', 'command -v docker']).then((r) => r.stdout.trim()).catch(() => '')
  if (docker) {
    const r = await exec(docker, ['version', '--format', '{{.Server.Version}}'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...vars }, timeout: 30_000 })
    return r.stdout.trim()
  }
  const url = new URL(vars.DOCKER_HOST!.replace(/^tcp:/, 'https:'))
  const [ca, cert, key] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(join(vars.DOCKER_CERT_PATH!, f))))
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ host: url.hostname, port: Number(url.port), path: '/version', ca, cert, key }, (res) => {
      let b = ''
      res.on('data', (d) => (b += d))
      res.on('end', () => resolve(b))
    })
    req.on('error', reject)
    req.end()
  })
  return (JSON.parse(body) as { Version: string }).Version
}

/**
 * A started machine serves as a user expects: status Running, ip 127.0.0.1 (the fakes' guest
 * address), `env`'s engine answering through its TLS files (the stand-in's 28.2.2) and `ssh`
 * running in the guest. Returns env's variables.
 */
export async function expectServing(name: string, o: { store: string; env: NodeJS.ProcessEnv }): Promise<Record<string, string>> {
  const { store, env } = o
  expect((await runCli(['status', name], { store, env })).stdout.trim()).toBe('Running')
  expect((await runCli(['ip', name], { store, env })).stdout.trim()).toBe('127.0.0.1')
  const vars = envVars((await runCli(['env', name], { store, env: { ...env, SHELL: '/bin/bash' } })).stdout)
  expect(await serverVersion(vars)).toBe('28.2.2')
  expect((await runCli(['ssh', name, 'cat /etc/hostname'], { store, env })).stdout.trim()).toBe(name)
  return vars
}

/** After `rm`: no machine directory, no guest left in the fake hypervisor, nothing listening on the guest's ports. */
export async function expectGone(name: string, o: { store: string; guests: Map<string, unknown>; ports: number[] }): Promise<void> {
  expect(existsSync(join(o.store, 'machines', name))).toBe(false)
  expect(o.guests.size).toBe(0)
  for (const port of o.ports) expect(await portOpen(port), `port ${port}`).toBe(false)
}
