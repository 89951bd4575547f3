/**
 * The host's real docker client for the VM tests: `machine env`'s variables, the client run with
 * them, and the tiny image the tests load instead of pulling one (no registry is reachable).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFile, mkdir, rm, symlink } from 'node:fs/promises'
import { join } from 'node:path'

const MIN = 60_000

/** `machine env` (bash) output → the variables it exports. */
export const parseEnv = (text: string): NodeJS.ProcessEnv => Object.fromEntries([...text.matchAll(/^export ([A-Z_]+)="(.*)"$/gm)].map((m) => [m[1]!, m[2]!]))

export interface DockerResult {
  code: number
  out: string
  err: string
}

/** Run `docker` with these extra variables (a machine's env). */
export function dockerWith(env: NodeJS.ProcessEnv, args: string[], input?: string | Buffer): DockerResult {
  const r = spawnSync('docker', args, { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 5 * MIN })
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
}

/**
 * A tar of a root file system holding only a static busybox (/bin/busybox, /bin/sh), for
 * `docker import`. `busybox` must match the engine's architecture.
 */
export async function busyboxRootfsTar(busybox: string, work: string): Promise<Buffer> {
  const rootfs = join(work, 'busybox-rootfs')
  await rm(rootfs, { recursive: true, force: true })
  await mkdir(join(rootfs, 'bin'), { recursive: true })
  await copyFile(busybox, join(rootfs, 'bin/busybox'))
  await symlink('busybox', join(rootfs, 'bin/sh'))
  return execFileSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 64 << 20 })
}
