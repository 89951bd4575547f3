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

/**
 * The certificate the engine at DOCKER_HOST presents, read over a TLS handshake made with the
 * machine's client certificate (DOCKER_CERT_PATH): its DER, to compare with the store's server.pem.
 */
export async function servedCertificate(env: NodeJS.ProcessEnv): Promise<Buffer> {
  const { connect } = await import('node:tls')
  const { readFile } = await import('node:fs/promises')
  const url = new URL(env.DOCKER_HOST!.replace(/^tcp:/, 'https:'))
  const dir = env.DOCKER_CERT_PATH!
  const [ca, cert, key] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(join(dir, f))))
  return new Promise((resolve, reject) => {
    // Verified against the machine's CA; the name check is the engine's business, not this one's.
    const s = connect({ host: url.hostname, port: Number(url.port), ca, cert, key, checkServerIdentity: () => undefined, timeout: MIN }, () => {
      resolve(s.getPeerCertificate().raw)
      s.end()
    })
    s.on('error', reject)
    s.on('timeout', () => s.destroy(new Error(`no TLS answer from ${env.DOCKER_HOST}`)))
  })
}

/** A PEM certificate's DER. */
export const pemDer = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
